"""A measurement is never separable from a verdict, with real notebooks in real kernels.

Loop-freeness and speed are measured in a clean process; correctness is judged in the
notebook's kernel. A looping function that can tell the two apart could run a fast, wrong body
where it is measured and its correct loop everywhere else. Here every counted or timed call is
also judged for its values against the reference on that same input, and compared with what
the function returns in the notebook's kernel on it: a function that detects the measuring
process, by whatever signal, earns no more than the same loop written honestly, and one that
answers differently there is flagged and loses the items that use it.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import cell, full_marks, item_scores, make_course, source_notebook, submit

from grader.course import Course
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "svm_hinge"

LOOP = '''
    N = X.shape[0]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(N):
        s = X[i] @ W
        m = np.maximum(0.0, s - s[y[i]] + 1.0)
        m[y[i]] = 0.0
        loss += m.sum()
        mask = (m > 0).astype(float)
        mask[y[i]] = -mask.sum()
        dW += np.outer(X[i], mask)
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W
'''
HONEST_LOOP = "def svm_loss_vectorized(W, X, y, reg):" + LOOP

# Where it is measured: the loss, vectorized and right; the gradient left at zero. Right
# enough to look like vectorized work, and fast.
FAST_HALF_RIGHT = '''
        N = X.shape[0]
        S = X @ W
        M = np.maximum(0.0, S - S[np.arange(N), y][:, None] + 1.0)
        M[np.arange(N), y] = 0.0
        return M.sum() / N + reg * np.sum(W * W), np.zeros_like(W)
'''
# Where it is measured: nothing right at all, as fast as can be.
FAST_WRONG = '''
        return 0.0, np.zeros_like(W)
'''

#: How a function can tell where it runs: (code the notebook runs after the definition,
#: statements of the function that set ``measured``).
SIGNALS = {
    # a name only the notebook's other top-level code defines
    "name": ("", "try:\n        W_check\n        measured = False\n"
                 "    except NameError:\n        measured = True"),
    # the process: its id, noted by the notebook's own code (the clean process keeps this
    # constant, computed there: it sees its own id, and the function is one-faced)
    "pid": ("KERNEL_PID = os.getpid()\n",
            "try:\n        measured = KERNEL_PID != os.getpid()\n"
            "    except NameError:\n        measured = True"),
    # the environment, set by the notebook's code
    "environment": ("os.environ['MY_NOTEBOOK_RAN'] = '1'\n",
                    "measured = os.environ.get('MY_NOTEBOOK_RAN') != '1'"),
    # a file the notebook's code wrote in the working directory
    "file": ("open('ran.txt', 'w').write('yes')\n", "measured = not os.path.exists('ran.txt')"),
    # the working directory the notebook's code moved to
    "working_directory": ("os.makedirs('elsewhere', exist_ok=True)\nos.chdir('elsewhere')\n",
                          "measured = os.path.basename(os.getcwd()) != 'elsewhere'"),
    # how often it has been called: the notebook calls it many times before it is measured
    "call_count": ("", "measured = CALLS[0] < 25"),
    # the arguments it is given: their flags and layout
    "argument_flags": ("", "measured = X.flags.writeable and X.flags.c_contiguous"),
    # how much CPU time its process has used (a fresh process has used little)
    "timing": ("", "measured = time.process_time() < 1.0"),
}
#: Two-faced functions whose faces differ on the calls that are measured, every time, so the
#: difference must be caught. (The others may never show their other face: the fast, wrong
#: body counted by calls fails the notebook's first calls, which then are too few to switch.)
DETERMINISTIC = [(s, k) for s in ("name", "environment", "file", "working_directory")
                 for k in ("half", "wrong")] + [("call_count", "half")]


def two_faced(signal: str, fast: str) -> str:
    setup, probe = SIGNALS[signal]
    return ("import os, time\nCALLS = [0]\n\n"
            "def svm_loss_vectorized(W, X, y, reg):\n"
            "    CALLS[0] += 1\n"
            f"    {probe}\n"
            f"    if measured:{fast}" + LOOP + "\n" + setup)


def honest(fast: str) -> str:
    """The fast body alone, written as a student would: what it earns on its own."""
    return "def svm_loss_vectorized(W, X, y, reg):\n    if True:" + fast


def scores(course: Course, student: str) -> dict[str, float | None]:
    return item_scores(course, A, student)


def with_answer(source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, "svm_loss_vectorized").source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    course = make_course(tmp_path_factory.mktemp("measured") / "course", (A,))
    submit(course, "honest_loop", A, with_answer(HONEST_LOOP))
    submit(course, "solution", A, source_notebook(A))
    submit(course, "honest-half", A, with_answer(honest(FAST_HALF_RIGHT)))
    submit(course, "honest-wrong", A, with_answer(honest(FAST_WRONG)))
    for signal in SIGNALS:
        submit(course, f"{signal}-half", A, with_answer(two_faced(signal, FAST_HALF_RIGHT)))
        submit(course, f"{signal}-wrong", A, with_answer(two_faced(signal, FAST_WRONG)))
    outcomes = {o.student: o for o in grade_assignment(course, A,
                                                       settings=Settings(workers=2))}
    return course, outcomes


def test_the_honest_loop_loses_exactly_loop_free_and_speed(graded) -> None:
    course, outcomes = graded
    assert scores(course, "honest_loop") == full_marks(course, A) | {
        "test_svm_vec_loop_free": 0.0, "test_svm_vec_speed": 0.0}
    assert outcomes["honest_loop"].suspicious == []
    assert scores(course, "solution") == full_marks(course, A)
    assert outcomes["solution"].suspicious == []


@pytest.mark.parametrize(("signal", "kind"), [(s, k) for s in SIGNALS for k in ("half", "wrong")])
def test_a_function_that_knows_where_it_is_measured_earns_no_more(graded, signal, kind) -> None:
    """No more than the better of its two faces written honestly: the loop, or the fast body
    alone (a vectorized loss with a wrong gradient keeps its loop-free and speed points)."""
    course, _ = graded
    got = scores(course, f"{signal}-{kind}")
    faces = [scores(course, "honest_loop"), scores(course, f"honest-{kind}")]
    for item, points in got.items():
        best = max(face[item] or 0.0 for face in faces)
        assert (points or 0.0) <= best, (item, points, best)
    assert sum(p or 0.0 for p in got.values()) <= max(
        sum(p or 0.0 for p in face.values()) for face in faces)


@pytest.mark.parametrize(("signal", "kind"), DETERMINISTIC)
def test_answering_differently_where_measured_is_flagged_and_costs_its_items(graded, signal,
                                                                            kind) -> None:
    """Fast where measured (right enough to pass as vectorized work, or not at all), the loop
    everywhere else: the two answers differ on the same input, so the function loses every
    item that uses it and the submission is flagged."""
    course, outcomes = graded
    student = f"{signal}-{kind}"
    flags = outcomes[student].suspicious
    assert any("behaves differently when it is measured" in f for f in flags), flags
    got = scores(course, student)
    for item in ("test_svm_vec_loss", "test_svm_vec_gradient", "test_svm_vec_shapes",
                 "test_svm_vec_untouched", "test_svm_vec_loop_free", "test_svm_vec_speed"):
        assert got[item] == 0.0, (item, got[item])
    full = full_marks(course, A)
    for item in ("test_svm_naive_loss", "test_softmax_loss", "test_softmax_speed"):
        assert got[item] == full[item], item  # the other functions keep their points
    record = course.autograded / student / A / ".grading.json"
    assert "behaves differently" in record.read_text()


@pytest.mark.parametrize("signal", sorted({s for s, _ in DETERMINISTIC}))
def test_fast_but_wrong_where_measured_earns_no_evidence(graded, signal) -> None:
    course, outcomes = graded
    got = scores(course, f"{signal}-wrong")
    assert got["test_svm_vec_loop_free"] == 0.0 and got["test_svm_vec_speed"] == 0.0
    assert outcomes[f"{signal}-wrong"].held == {}  # decided, not left to a person
