"""Grade integrity with real notebooks: no attempt to game the grader earns a point.

A baseline submission answers every question with functions that run but return wrong values.
Each attack is that baseline plus one attempt from the threat model, in the cells a student
can edit. None may score more than the baseline, and the detectable ones are flagged.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, cell, released_notebook, submit

from grader.course import Course
from grader.grade.record import FAILED
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "cross_entropy"

WRONG = {
    "sigmoid": "def sigmoid(z):\n    return np.zeros_like(np.asarray(z, dtype=float))",
    "softmax": "def softmax(S):\n    return np.zeros_like(np.asarray(S, dtype=float))",
    "binary_cross_entropy":
        "def binary_cross_entropy(z, t):\n    return 0.0, np.zeros_like(np.asarray(z, float))",
    "softmax_cross_entropy":
        "def softmax_cross_entropy(S, y):\n    return 0.0, np.zeros_like(np.asarray(S, float))",
    "two_class_logit": "def two_class_logit(S):\n    return np.zeros(np.shape(S)[0])",
    "affine_map": "a = np.zeros(2)\nb = np.zeros(2)",
    "logit_gradients":
        "def logit_gradients(x, y):\n    return 0.0 * np.asarray(x), 0.0 * np.asarray(x)",
    "saturation": "saturation_ratio = 1.0\nx_star = 0.0",
}

# Appended to the first answer cell (after the baseline's own code) unless said otherwise.
ATTACKS = {
    "numpy_comparisons": """
import math
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
""",
    "grader_helpers": """
import sys, types
fake = types.ModuleType("grader.checks")
fake.assert_close = fake.assert_gradient = fake.assert_finite = lambda *a, **k: None
sys.modules["grader.checks"] = fake
try:
    import grader.checks as real
    real.assert_close = real.assert_gradient = lambda *a, **k: None
except Exception:
    pass
""",
    "ipython_hooks": """
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *a, **k: None)
ip.showtraceback = lambda *a, **k: None
ip.input_transformers_cleanup.append(
    lambda lines: lines if "BEGIN" in "".join(lines) else ["pass\\n"])
""",
    "output_capture": """
import sys, io
sys.stderr = io.StringIO()
sys.displayhook = lambda value: None
sys.excepthook = lambda *a: None
""",
    "stack_walking": """
import sys, inspect, gc
def _steal(shape):
    for info in inspect.stack():
        for name, value in info.frame.f_locals.items():
            if name in ("expected", "ref", "want", "reference") and np.shape(value) == shape:
                return value
    for obj in gc.get_objects():
        if getattr(obj, "__name__", "") == "reference":
            return obj
    return np.zeros(shape)
def sigmoid(z):
    return _steal(np.shape(z))
""",
    "import_reference": """
def sigmoid(z):
    import sys
    for name, module in list(sys.modules.items()):  # the hidden tests, loaded by a worker
        if name.startswith("_hidden") and hasattr(module, "sigmoid"):
            return module.sigmoid(z)
    try:
        import importlib.util, glob
        candidates = ["{root}/source/*/hidden/reference.py",
                      "/work/*/source/*/hidden/reference.py",
                      "/tmp/*/*/source/*/hidden/reference.py",
                      "/root/*/source/*/hidden/reference.py"]
        for path in [p for pattern in candidates for p in glob.glob(pattern)][:5]:
            spec = importlib.util.spec_from_file_location("stolen", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.sigmoid(z)
    except Exception:
        pass
    return np.zeros_like(np.asarray(z, dtype=float))
""",
    "read_instructor_files": """
import glob, os
STOLEN = []
for pattern in ("{root}/source/*/*.ipynb", "{root}/gradebook.db", "{root}/*/*.ipynb",
                "{repo}/grader/*.py", "{repo}/source/*/*.ipynb", "/root/*", "/home/*"):
    for path in glob.glob(pattern):
        try:
            STOLEN.append(open(path, "rb").read(100))
        except Exception:
            pass
print("stolen files:", len(STOLEN))
""",
    "write_outside": """
for target in ("{root}/PWNED", "{root}/source/PWNED", "/tmp/PWNED-grader-test"):
    try:
        open(target, "w").write("x")
    except Exception as error:
        print("blocked", target, type(error).__name__)
""",
    "kill_kernel": """
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
""",
    "processes": """
import os, time
children = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    children += 1
print("forked", children)
""",
    "memory": """
blocks = []
try:
    for _ in range(64):
        blocks.append(np.ones(2**27))
except MemoryError:
    print("memory limit reached after", len(blocks), "blocks")
blocks = None
""",
    "inherited_descriptors": """
import io, os, pickle, socket, stat
class _Forge:
    def __reduce__(self):
        return (io.open, ("{root}/FORGED", "w"))
payload = pickle.dumps({"notebook": None, "reason": "FORGED", "proof": _Forge()})
def unnamed(fd):  # pipes and socket pairs: not the kernel's own connections to its worker
    if stat.S_ISFIFO(os.fstat(fd).st_mode):
        return True
    try:
        with socket.socket(fileno=os.dup(fd)) as s:
            return s.family == socket.AF_UNIX and not s.getsockname() and not s.getpeername()
    except OSError:
        return False
for fd in range(3, 1024):
    try:
        if unnamed(fd):
            os.write(fd, len(payload).to_bytes(4, "big") + payload)
    except OSError:
        pass
""",
    "network": """
import socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("network open")
except OSError as error:
    print("no network:", error)
""",
}

DETECTABLE = {"numpy_comparisons", "grader_helpers", "ipython_hooks", "output_capture",
              "stack_walking", "import_reference", "read_instructor_files", "kill_kernel",
              "processes", "network"}


def baseline(course: Course) -> nbformat.NotebookNode:
    nb = released_notebook(course, A)
    for grade_id, source in WRONG.items():
        target = cell(nb, grade_id)
        target.source = source
    return nb


def with_attack(course: Course, code: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(baseline(course))
    target = cell(nb, "sigmoid")
    target.source += "\n" + code.replace("{root}", str(course.root)).replace("{repo}", str(REPO))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    from conftest import make_course

    course = make_course(tmp_path_factory.mktemp("integrity") / "course", (A,))
    submit(course, "baseline", A, baseline(course))
    for name, code in ATTACKS.items():
        submit(course, name, A, with_attack(course, code))
    tampered = baseline(course)
    for c in tampered.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 1000
        if meta.get("grade") and c.cell_type == "code":
            c.source = "pass"
    submit(course, "notebook_metadata", A, tampered)
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, cell_timeout=8))}
    return course, outcomes


def test_baseline_is_graded_and_earns_little(graded) -> None:
    course, outcomes = graded
    base = outcomes["baseline"]
    assert base.status != FAILED
    assert base.score < base.max_score / 2
    assert base.sandbox == "isolated", "these tests are about the sandboxed grader"


@pytest.mark.parametrize("attack", [*ATTACKS, "notebook_metadata"])
def test_attack_earns_nothing(graded, attack: str) -> None:
    course, outcomes = graded
    outcome, base = outcomes[attack], outcomes["baseline"]
    assert outcome.score <= base.score, (attack, outcome.score, base.score, outcome.reasons)
    assert outcome.max_score == base.max_score


@pytest.mark.parametrize("attack", sorted(DETECTABLE | {"notebook_metadata"}))
def test_detectable_attempts_are_flagged(graded, attack: str) -> None:
    course, outcomes = graded
    assert outcomes[attack].suspicious, attack
    record = json.loads((course.autograded / attack / A / ".grading.json").read_text())
    assert record["suspicious"] == outcomes[attack].suspicious
    assert not outcomes["baseline"].suspicious


def test_student_code_saw_nothing_and_wrote_nothing(graded) -> None:
    course, outcomes = graded
    printed = _printed(course, "read_instructor_files")
    assert "stolen files: 0" in printed, printed
    assert not (course.root / "PWNED").exists()
    assert not (course.root / "source" / "PWNED").exists()
    assert not Path("/tmp/PWNED-grader-test").exists()
    assert "no network" in _printed(course, "network")
    assert "memory limit reached" in _printed(course, "memory")


def test_a_kernel_cannot_answer_for_its_worker(graded) -> None:
    # A kernel holding its worker's descriptors could send the grader a forged answer, and
    # the grader unpickles answers: that would run the student's code in the grader. (The
    # attack also garbles the kernel's own pipes, so it cannot print what it did.)
    course, outcomes = graded
    assert not (course.root / "FORGED").exists()
    assert not any("FORGED" in r for r in outcomes["inherited_descriptors"].reasons)


def test_a_killed_kernel_is_on_record_and_grading_goes_on(graded) -> None:
    course, outcomes = graded
    assert any("kernel died" in e for e in outcomes["kill_kernel"].events)
    assert outcomes["kill_kernel"].status != FAILED


def _printed(course: Course, student: str) -> str:
    nb = nbformat.read(course.autograded / student / A / f"{A}.ipynb", 4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_kernels_do_not_hold_the_course_configuration(course: Course) -> None:
    """Kernels are forked from the workers: the course's settings (the gradebook's URL, with a
    password on a database server) must not be in their memory for a student to print."""
    secret = "zz-course-setting-zz"
    with (course.root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.CourseDirectory.ignore = ['.ipynb_checkpoints', {secret!r}]\n")
    nb = released_notebook(course, "cross_entropy")
    cell(nb, "sigmoid").source += (
        "\nimport gc\ngc.unfreeze()\n"
        "print([repr(o)[:5000] for o in gc.get_objects() if isinstance(o, dict)\n"
        "       and any('zz-course' in repr(v) for v in list(o.values())[:50])][:20])\n")
    submit(course, "peeker", "cross_entropy", nb)
    grade_assignment(course, "cross_entropy", settings=Settings(workers=1))
    graded = course.autograded / "peeker" / "cross_entropy" / "cross_entropy.ipynb"
    text = graded.read_text()
    assert "gc.get_objects" in text, "the cell ran"
    assert secret not in text
