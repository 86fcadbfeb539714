"""A kernel owns every process it starts, and nothing it does reaches beyond them.

Real notebooks in real kernels, graded by the real command line: processes a notebook starts
however they detach (a new session, a double fork, another process group) end with its kernel,
a fork loop is stopped at the process limit, busy processes get one core between them, and
after ``grader grade`` exits nothing it started is alive. A kernel that signals its parent,
its process group or every process it can reach (``SIGKILL``, ``SIGSTOP``) stops nothing but
itself: those runs happen inside a PID namespace made for the test, so that the machine's
other processes are safe even if containment failed.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, cell, full_marks, item_scores, source_notebook, submit

from grader.course import Course
from grader.grade.execute import Budget, NotebookRun
from grader.grade.kernel import Limits
from grader.grade.run import Settings, grade_assignment
from grader.grade.sanitize import parse_notebook
from grader.grade.supervisor import become_subreaper, children
from grader.grade.worker import Kernels, kernel_arguments
from grader.grade.zygote import KernelFactory

pytestmark = pytest.mark.notebook
A = "cross_entropy"
GRADER = str(Path(sys.executable).parent / "grader")
# Marks the processes the notebooks start (their command lines), so the test can find them.
TOKEN = f"grader-test-detached-{os.getpid()}"


def detach(token: str, busy: int = 1) -> str:
    """Code that starts ``busy`` processes each in three detached ways, running at full CPU."""
    spin = f"[sys.executable, '-c', 'while True: pass', {token!r}]"
    return f"""
import os, subprocess, sys
for _ in range({busy}):
    subprocess.Popen({spin}, start_new_session=True)        # a new session
    if os.fork() == 0:                                         # a double fork
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, {spin})
        os._exit(0)
    if os.fork() == 0:                                         # another process group
        os.setpgid(0, 0)
        os.execv(sys.executable, {spin})
"""


FORK_LOOP = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


def with_code(grade_id: str, code: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, grade_id).source += "\n" + code
    return nb


def marked(token: str) -> list[int]:
    """Processes whose command line holds ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if token.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@contextmanager
def subreaper() -> Iterator[None]:
    """This process adopts whatever its children leave behind, for the test's length."""
    become_subreaper()
    try:
        yield
    finally:
        become_subreaper(False)


def left_behind(before: set[int], wait: float = 10.0) -> list[int]:
    """Children of this process (a subreaper) that are not ``before`` and still alive after
    ``wait`` seconds (exited ones are reaped)."""
    end = time.monotonic() + wait
    while True:
        alive = []
        for pid in set(children()) - before:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    alive.append(pid)
            except ChildProcessError:
                pass
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.1)


@pytest.fixture
def no_stray_marked() -> Iterator[None]:
    """Whatever the outcome, no marked process outlives the test (they spin)."""
    yield
    for pid in marked(TOKEN):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def record(course: Course, student: str) -> dict:
    return json.loads((course.autograded / student / A / ".grading.json").read_text())


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "no-sandbox"])
def test_nothing_a_notebook_starts_outlives_grader_grade(course: Course, sandbox: bool,
                                                         no_stray_marked: None) -> None:
    submit(course, "honest", A, source_notebook(A))
    submit(course, "detacher", A, with_code("sigmoid", detach(TOKEN)))
    submit(course, "fork_loop", A, with_code("softmax", FORK_LOOP))
    command = [GRADER, "grade", A, "--course", str(course.root), "--workers", "2"]
    if not sandbox:
        command.append("--no-sandbox")
    seen: set[int] = set()
    with subreaper():
        before = set(children())
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        while run.poll() is None:  # the detached processes do run while it grades
            seen.update(marked(TOKEN))
            time.sleep(0.05)
        output = run.stdout.read()
        assert run.returncode == 0, output
        assert left_behind(before) == [], "a process of the run outlived it"
    assert len(seen) >= 3, "the notebook's detached processes never ran"
    assert marked(TOKEN) == []

    for student in ("honest", "detacher", "fork_loop"):  # the fatal cell is an answer cell
        assert item_scores(course, A, student) == full_marks(course, A), student
        assert record(course, student)["containment"].startswith(
            "own PID namespace; control group: at most 64 processes"), record(course, student)
    events = record(course, "fork_loop")["events"]
    assert any("the kernel was stopped: its processes reached the limit of 64 processes" in e
               for e in events), events


def test_busy_processes_share_one_core_and_the_class_grades_in_normal_time(
        course: Course, no_stray_marked: None) -> None:
    submit(course, "honest", A, source_notebook(A))
    [alone] = grade_assignment(course, A, settings=Settings(workers=2, force=True))
    solo = alone.timing[A]["execute"]

    # 16 busy processes in each of three ways, then 8 s more of the notebook: they all run
    # while the others are graded beside it, two at a time on this machine's cores
    nb = with_code("sigmoid", detach(TOKEN, busy=16))
    cell(nb, "saturation").source += "\nimport time\ntime.sleep(8)"
    submit(course, "a_busy", A, nb)
    submit(course, "b_fork_loop", A, with_code("softmax", FORK_LOOP))
    for student in ("c_honest", "d_honest", "e_honest"):
        submit(course, student, A, source_notebook(A))
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, force=True))}
    assert marked(TOKEN) == []
    busy = outcomes["a_busy"].timing[A]
    # everything the busy notebook's kernel started, together, had at most one core
    assert busy["kernel_cpu"] <= 1.15 * busy["execute"] + 0.5, busy
    for student in ("c_honest", "d_honest", "e_honest"):
        assert item_scores(course, A, student) == full_marks(course, A)
        spent = outcomes[student].timing[A]["execute"]
        # a generous bound: without containment, 48 busy processes would share two cores
        # with this kernel, slowing it more than tenfold
        assert spent < 3 * solo + 3, (student, spent, solo)
    assert item_scores(course, A, "a_busy") == full_marks(course, A)


@pytest.fixture(scope="module")
def kernels() -> Iterator[Kernels]:
    with subreaper():
        factory = KernelFactory(kernel_arguments(Course(REPO).config()))
        try:
            yield Kernels(factory, Limits(), sandbox=os.geteuid() == 0)
        finally:
            factory.close()


def test_a_replaced_kernel_leaves_no_process_behind(kernels: Kernels,
                                                    no_stray_marked: None) -> None:
    # The answer starts detached processes; a later answer ends the kernel: by the time the
    # fresh kernel is asked for, nothing of the first one runs any more.
    nb = with_code("sigmoid", detach(TOKEN))
    cell(nb, "softmax").source += "\nimport os\nos._exit(0)"
    nb = parse_notebook(nbformat.writes(nb).encode(), "submission.ipynb")
    at_replacement: list[list[int]] = []

    def new_kernel():
        if run.kernels and run.kernels[-1].exit is not None:  # the notebook's kernel died
            at_replacement.append(marked(TOKEN))
        return kernels.new()

    run = NotebookRun(nb, new_kernel, Budget(cell_timeout=20, notebook_timeout=300))
    try:
        reason = run.run()
    finally:
        kernels.clean()
    assert reason is None
    assert len(run.kernels) == 2, run.events
    assert at_replacement == [[]], at_replacement
    assert marked(TOKEN) == []


# ---- the grader survives its kernel ---------------------------------------------------------

ATTACKS = {
    "parent_kill": "os.kill(os.getppid(), signal.SIGKILL)",
    "parent_stop": "os.kill(os.getppid(), signal.SIGSTOP)",
    "group_kill": "os.killpg(0, signal.SIGKILL)",
    "group_stop": "os.killpg(0, signal.SIGSTOP)",
    "everyone_kill": "os.kill(-1, signal.SIGKILL)",
    "everyone_stop": "os.kill(-1, signal.SIGSTOP)",
}
WRONG_SOFTMAX = "def softmax(S):\n    return np.zeros_like(np.asarray(S, dtype=float))"


def in_throwaway_namespace(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``command`` in a PID namespace of its own, beside a sentinel process; its output
    ends with ``SENTINEL ALIVE`` if the sentinel survived it."""
    script = ("sleep 900 & sentinel=$!\n"
              f"{shlex.join(command)}\nstatus=$?\n"
              "kill -0 $sentinel && echo SENTINEL ALIVE\nkill $sentinel\nexit $status")
    return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "no-sandbox"])
def test_a_kernel_that_signals_what_it_can_reach_stops_only_itself(course: Course,
                                                                    sandbox: bool) -> None:
    assert os.geteuid() == 0, "the throwaway PID namespace that makes this test safe needs root"
    submit(course, "honest", A, source_notebook(A))
    reference = copy.deepcopy(source_notebook(A))
    cell(reference, "softmax").source = WRONG_SOFTMAX
    submit(course, "reference", A, reference)
    for name, attack in ATTACKS.items():
        nb = copy.deepcopy(reference)
        cell(nb, "sigmoid").source += f"\nimport os, signal\n{attack}"
        submit(course, name, A, nb)
    command = [GRADER, "grade", A, "--course", str(course.root), "--workers", "2",
               "--cell-timeout", "20"]
    if not sandbox:
        command.append("--no-sandbox")
    done = in_throwaway_namespace(command, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("SENTINEL ALIVE"), done.stdout + done.stderr

    assert item_scores(course, A, "honest") == full_marks(course, A)
    ceiling = record(course, "reference")["score"]
    assert ceiling < sum(v for v in full_marks(course, A).values() if v)
    for name in ATTACKS:
        outcome = record(course, name)
        assert outcome["status"] == "graded", (name, outcome["reasons"])
        assert outcome["score"] <= ceiling, (name, outcome["score"], ceiling)
        assert not any("worker" in r for r in outcome["reasons"]), outcome["reasons"]
        assert any("signals" in flag for flag in outcome["suspicious"]), outcome["suspicious"]
    # what happened is on record: a kernel that killed or stopped itself (its process group)
    # is said to have; its parent is its supervisor, process 1 of its namespace, which
    # ignores the signals of its namespace, and -1 reaches nothing but the namespace
    for name, how in (("group_kill", "killed by SIGKILL"), ("group_stop", "stopped by SIGSTOP")):
        events = record(course, name)["events"]
        assert any("sigmoid: the kernel" in e and how in e for e in events), (name, events)
    for name in ("parent_kill", "parent_stop", "everyone_kill", "everyone_stop"):
        assert record(course, name)["events"] == [], name
        assert record(course, name)["score"] == ceiling, name
