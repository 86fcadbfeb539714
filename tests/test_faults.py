"""Fault isolation with real notebooks and real kernels: a broken function costs its own items.

A function that kills its kernel, never returns, floods its output or fills the disk loses
the items that call it, in bounded time and space; everything else in the notebook is graded
as if that function were merely wrong.
"""

from __future__ import annotations

import ast
import copy
import json

import nbformat
import pytest
from conftest import (
    cell,
    full_marks,
    item_scores,
    make_course,
    released_notebook,
    source_notebook,
    submit,
)

from grader.course import Course
from grader.grade.kernel import Limits
from grader.grade.record import FAILED, GRADED
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook

DEATHS = {
    "exit": "import os\n    os._exit(3)",
    "segfault": "import ctypes\n    ctypes.string_at(0)",
    "killed": "import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)",
}


def record(course: Course, assignment: str, student: str) -> dict:
    return json.loads((course.autograded / student / assignment / ".grading.json").read_text())


def replaced(assignment: str, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source_notebook(assignment))
    cell(nb, grade_id).source = source
    return nb


def zero(items: list[str]) -> dict[str, float]:
    return {item: 0.0 for item in items}


@pytest.fixture(scope="module")
def svm(tmp_path_factory: pytest.TempPathFactory):
    A = "svm_hinge"
    course = make_course(tmp_path_factory.mktemp("faults-svm") / "course", (A,))
    submit(course, "honest", A, source_notebook(A))
    for way, body in DEATHS.items():
        submit(course, way, A, replaced(
            A, "svm_loss_naive", f"def svm_loss_naive(W, X, y, reg):\n    {body}"))
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, cell_timeout=20))}
    return course, outcomes


NAIVE = ["test_svm_naive_loss", "test_svm_naive_gradient", "test_svm_naive_shapes",
         "test_svm_naive_untouched"]


@pytest.mark.parametrize("way", sorted(DEATHS))
def test_a_function_that_kills_its_kernel_loses_only_its_own_items(svm, way: str) -> None:
    course, outcomes = svm
    A = "svm_hinge"
    assert outcomes["honest"].status == GRADED
    assert item_scores(course, A, "honest") == full_marks(course, A)
    assert outcomes[way].status == GRADED, outcomes[way].reasons
    assert item_scores(course, A, way) == full_marks(course, A) | zero(NAIVE)
    events = record(course, A, way)["events"]
    assert any("svm_loss_naive ended the kernel" in e for e in events), events
    assert any("fresh kernel was started" in e for e in events), events


@pytest.fixture(scope="module")
def crashes(tmp_path_factory: pytest.TempPathFactory):
    A = "cross_entropy"
    course = make_course(tmp_path_factory.mktemp("faults-ce") / "course", (A,))
    # the crash happens inside the test cell, when it calls the function
    submit(course, "segfault", A, replaced(
        A, "two_class_logit", "def two_class_logit(S):\n    import ctypes\n"
                              "    return ctypes.string_at(0)"))
    # every function ends the kernel: dying cell after cell must not collect any point
    nb = copy.deepcopy(source_notebook(A))
    for c in nb.cells:
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"):
            names = [n.name for n in ast.parse(c.source).body if isinstance(n, ast.FunctionDef)]
            c.source = "\n".join(f"def {name}(*args, **kwargs):\n    import os\n    os._exit(0)"
                                 for name in names)  # and the constants are not answered
    submit(course, "dies_everywhere", A, nb)
    # every answer cell ends the kernel after its correct definitions
    nb = copy.deepcopy(source_notebook(A))
    for c in nb.cells:
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"):
            c.source += "\nimport os\nos._exit(0)"
    submit(course, "exits_after_every_answer", A, nb)
    # a hook that ends the kernel before every later cell, the hook's own cell included
    submit(course, "dying_hook", A, replaced(A, "sigmoid", cell(source_notebook(A), "sigmoid")
                                             .source + "\nimport os\nget_ipython().events."
                                             "register('pre_run_cell', lambda *a: os._exit(0))"))
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, cell_timeout=20))}
    return course, outcomes


def test_a_cell_during_which_the_kernel_dies_earns_nothing(crashes) -> None:
    course, outcomes = crashes
    A = "cross_entropy"
    assert item_scores(course, A, "segfault") == full_marks(course, A) | zero(
        ["test_two_class_logit", "test_reduction"])
    nb = nbformat.read(course.autograded / "segfault" / A / f"{A}.ipynb", 4)
    died = cell(nb, "test_two_class_logit").outputs
    assert any(o.get("ename") == "KernelDied" and "SIGSEGV" in o.get("evalue", "")
               for o in died), died


@pytest.mark.parametrize("student", ["dies_everywhere", "dying_hook"])
def test_dying_again_and_again_earns_no_point(crashes, student: str) -> None:
    course, outcomes = crashes
    A = "cross_entropy"
    outcome = outcomes[student]
    autograded = {k: v for k, v in item_scores(course, A, student).items() if v is not None}
    assert sum(autograded.values()) == 0, autograded
    assert outcome.status != FAILED
    restarts = [e for e in outcome.events if "fresh kernel was started" in e]
    assert 1 <= len(restarts) <= 3, outcome.events


def test_a_kernel_ended_after_every_answer_gets_three_fresh_kernels_then_stops(crashes) -> None:
    # Each answer keeps its functions (the statement after them is at fault), but each death
    # costs a fresh kernel: past the third, the cells that had not run score 0.
    course, outcomes = crashes
    A = "cross_entropy"
    outcome = outcomes["exits_after_every_answer"]
    restarts = [e for e in outcome.events if "fresh kernel was started" in e]
    assert len(restarts) == 3, outcome.events
    assert any("the kernel died 4 times" in r for r in outcome.reasons), outcome.reasons
    scores = item_scores(course, A, "exits_after_every_answer")
    kept = {i: v for i, v in full_marks(course, A).items()
            if i.startswith(("test_sigmoid", "test_softmax_", "test_bce"))}
    assert kept and {i: scores[i] for i in kept} == kept
    assert all(v == 0 for i, v in scores.items() if v is not None and i not in kept), scores


def test_an_endless_function_costs_one_timeout_not_one_per_call(course: Course) -> None:
    A, timeout = "cross_entropy", 4
    submit(course, "honest", A, source_notebook(A))
    submit(course, "endless", A, replaced(A, "softmax", "def softmax(S):\n    while True:\n"
                                                        "        pass"))
    # an endless loop that swallows the interrupt: the kernel is stopped instead
    submit(course, "stubborn", A, replaced(
        A, "softmax", "def softmax(S):\n    while True:\n        try:\n            "
                      "while True:\n                pass\n        except KeyboardInterrupt:\n"
                      "            pass"))
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, cell_timeout=timeout))}
    softmax_items = ["test_softmax_values", "test_softmax_stable", "test_softmax_shapes",
                     "test_softmax_untouched"]
    honest = outcomes["honest"].timing[A]["execute"]
    for student in ("endless", "stubborn"):
        assert item_scores(course, A, student) == full_marks(course, A) | zero(softmax_items)
        spent = outcomes[student].timing[A]["execute"]
        assert spent < honest + 2 * timeout + 2, (student, spent, honest)
        assert any("softmax did not return" in e or "softmax ended the kernel" in e
                   for e in outcomes[student].events), outcomes[student].events


def test_a_huge_print_is_cut_and_costs_nothing(course: Course) -> None:
    from grader.feedback import generate_feedback

    A = "cross_entropy"
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, "softmax").source += "\nprint('x' * 100_000_000)"
    cell(nb, "sigmoid").source += ("\nfrom IPython.display import display\n"
                                   "display({'text/plain': 'y' * 50_000_000}, raw=True)")
    submit(course, "flood", A, nb)
    [outcome] = grade_assignment(course, A, settings=Settings(workers=1))
    assert item_scores(course, A, "flood") == full_marks(course, A)
    path = course.autograded / "flood" / A / f"{A}.ipynb"
    assert path.stat().st_size < 3 * 2**20
    text = cell(nbformat.read(path, 4), "softmax").outputs
    assert any("output truncated" in o.get("text", "") for o in text), text
    [page] = generate_feedback(course, A, ["flood"])
    assert page.stat().st_size < 3 * 2**20


def test_a_disk_filling_cell_is_stopped_at_the_bound(course: Course) -> None:
    A = "cross_entropy"
    fill = ("\nwritten = 0\nblock = b'x' * 2**20\ntry:\n"
            "    for n in range(400):\n"
            "        with open(f'{\"/tmp\" if n % 2 else \".\"}/fill{n}.bin', 'wb') as f:\n"
            "            for _ in range(4):\n"
            "                f.write(block)\n                written += 1\n"
            "except OSError as error:\n    print('stopped:', error.strerror)\n"
            "print('written MB:', written)")
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, "sigmoid").source += fill
    submit(course, "filler", A, nb)
    limits = Limits(disk_mb=32)
    [outcome] = grade_assignment(course, A, settings=Settings(workers=1, limits=limits))
    assert outcome.sandbox == "isolated"
    assert item_scores(course, A, "filler") == full_marks(course, A)
    printed = "".join(o.get("text", "") for o in cell(nbformat.read(
        course.autograded / "filler" / A / f"{A}.ipynb", 4), "sigmoid").outputs)
    assert "stopped: No space left on device" in printed, printed
    assert int(printed.split("written MB:")[1].split()[0]) <= 32
    assert any("filled its 32 MB of disk" in e for e in outcome.events), outcome.events


def test_only_real_repairs_are_on_record(course: Course) -> None:
    A = "cross_entropy"
    submit(course, "blank", A, released_notebook(course, A))
    submit(course, "solution", A, source_notebook(A))
    edited = released_notebook(course, A)
    cell(edited, "test_softmax_values").source = "assert True"
    submit(course, "edited", A, edited)
    outcomes = {o.student: o for o in grade_assignment(course, A,
                                                       settings=Settings(workers=2))}
    assert outcomes["blank"].messages == []
    assert outcomes["solution"].messages == []
    [message] = outcomes["edited"].messages
    assert "checksum" in message and "test_softmax_values" in message


# Top-level statements that end the kernel, placed after the correct definitions of an answer
FATAL = {
    "exit": "import os\nos._exit(3)",
    "garbage_everywhere": "import os\nfor fd in range(256):\n    try:\n"
                          "        os.write(fd, bytes(range(256)) * 64)\n"
                          "    except OSError:\n        pass",
    "killed_itself": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "endless_allocation": "import ctypes\nlibc = ctypes.CDLL(None)\n"
                          "libc.malloc.restype = ctypes.c_void_p\nwhile True:\n"
                          "    block = libc.malloc(2**24)\n"
                          "    ctypes.memset(block, 1, 2**24)  # no memory left: NULL, a crash",
}


@pytest.fixture(scope="module")
def fatal(tmp_path_factory: pytest.TempPathFactory):
    A = "cross_entropy"
    course = make_course(tmp_path_factory.mktemp("faults-fatal") / "course", (A,))
    for way, statement in FATAL.items():
        submit(course, way, A, replaced(A, "sigmoid", cell(source_notebook(A), "sigmoid").source
                                        + "\n" + statement))
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, cell_timeout=20))}
    return course, outcomes


@pytest.mark.parametrize("way", sorted(FATAL))
def test_a_fatal_statement_costs_its_own_effects_not_the_functions_beside_it(fatal, way):
    course, outcomes = fatal
    A = "cross_entropy"
    # sigmoid, defined in the fatal cell, and every function that calls it keep their points
    assert item_scores(course, A, way) == full_marks(course, A)
    events = record(course, A, way)["events"]
    first_line = FATAL[way].splitlines()[1]
    dropped = [e for e in events if "ipynb: sigmoid: the kernel" in e]
    assert len(dropped) == 1, events
    assert "ran again as its definitions alone" in dropped[0]
    assert first_line.split("#")[0].strip() in dropped[0], dropped
    assert any("fresh kernel was started" in e for e in events), events
    nb = nbformat.read(course.autograded / way / A / f"{A}.ipynb", 4)
    died = cell(nb, "sigmoid").outputs  # the fatal cell itself says so (and earns nothing)
    assert any(o.get("ename") == "KernelDied" for o in died), died
