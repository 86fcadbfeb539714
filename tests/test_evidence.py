"""Loop-freeness, speed and untouched inputs with real notebooks: evidence nothing can buy.

These items are measured by running the student's function again and watching it, in a clean
process that holds only the notebook's definitions. A function that loops earns the same
whatever the notebook around it does to the kernel it was defined in; code that reaches for
the interpreter's internals has these items held for review; honest vectorized answers,
however written, keep every point, and honest words in comments and strings raise no flag.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import (
    cell,
    full_marks,
    item_scores,
    make_course,
    source_notebook,
    submit,
)

from grader.course import Course
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "svm_hinge"

LOOPING = '''def svm_loss_vectorized(W, X, y, reg):
    """Right values, but a Python loop over the samples."""
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

# The kernel's side of the grader, rewritten by the notebook's own top-level code: the
# looping function would report a constant number of steps, and every timed call return
# at once.
REWRAP = '''
import gc, time
def _constant_trace(func, args):
    return {"events": 7, "tampered": False}
for _obj in gc.get_objects():
    if callable(_obj) and getattr(_obj, "__name__", "") in ("_trace", "_call"):
        try:
            _obj.__globals__["_trace"] = _constant_trace
        except Exception:
            pass
get_ipython().events.register("pre_execute", lambda: time.sleep(0))
'''

# The same, from inside the function's own body: it runs wherever the function runs.
IN_BODY = LOOPING.replace('    """Right values, but a Python loop over the samples."""\n',
                          "    import sys\n    sys.settrace(None)\n")

# The looping function answers the grader's requests itself where it is measured (where the
# notebook's other variables are missing), with a frame of its own on the channel to the
# worker: the count of steps a loop-free function would take.
FORGED = LOOPING.replace('    """Right values, but a Python loop over the samples."""\n',
                         "    try:\n"
                         "        W_check\n"
                         "    except NameError:\n"
                         '        get_ipython().send({"op": "done", "events": 3,\n'
                         '                            "tampered": False, "changed": {}})\n')

# A loop-free stub defined, then the looping function bound to its name by code the clean
# process does not run.
REBOUND = LOOPING.replace("def svm_loss_vectorized", "def _looping") + '''
def svm_loss_vectorized(W, X, y, reg):
    return 0.0, np.zeros_like(W)

if True:
    svm_loss_vectorized = _looping
'''

# Code of the notebook's, run where the clean process defines the functions: a library call
# given one of the notebook's functions calls it (here, to blind the step counter).
AT_DEFINITION = LOOPING + '''
import sys

def _blind(*shape):
    kept = [None]
    sys.settrace = lambda f: kept.__setitem__(0, f)
    sys.gettrace = lambda: kept[0]
    return 0

_ = np.fromfunction(_blind, (1,))
'''

HONEST_SVM = {
    "einsum": '''def svm_loss_vectorized(W, X, y, reg):
    # the grader compares this with np.allclose; see source/ -- signals and sockets unused
    N = X.shape[0]
    S = np.einsum("nd,dc->nc", X, W)
    correct = np.take_along_axis(S, y[:, None], axis=1)
    margins = np.maximum(0, S - correct + 1)
    margins[np.arange(N), y] = 0
    loss = float(margins.sum() / N + reg * np.einsum("dc,dc->", W, W))
    mask = (margins > 0) * 1.0
    np.add.at(mask, (np.arange(N), y), -mask.sum(axis=1))
    dW = np.einsum("nd,nc->dc", X, mask) / N + 2 * reg * W
    print("grader, socket, signal.SIGINT, source/ are only words here")
    return loss, np.asfortranarray(dW)
''',
    # a constant computed from a name only the notebook's other code defines, above the
    # function: it fails where the function is measured, and the function is still there
    "after_a_failing_constant": '''CHECKED_SHAPE = W_check.shape

def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X @ W
    margins = np.maximum(0, S - S[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    return margins.sum() / N + reg * np.sum(W * W), X.T @ mask / N + 2 * reg * W
''',
    "masks": '''def svm_loss_vectorized(W, X, y, reg):
    """Masks instead of index arrays; the loss as a 0-d array."""
    N, C = X.shape[0], W.shape[1]
    S = X @ W
    is_label = np.arange(C)[None, :] == y[:, None]
    correct = (S * is_label).sum(axis=1, keepdims=True)
    active = (S - correct + 1 > 0) & ~is_label
    loss = np.asarray(((S - correct + 1) * active).sum() / N + reg * (W ** 2).sum())
    M = active - is_label * active.sum(axis=1, keepdims=True)
    return loss, X.T.dot(M) / N + 2 * reg * W
''',
}

HONEST_SOFTMAX = '''def softmax_loss_vectorized(W, X, y, reg):
    """A log-sum-exp written with np.logaddexp.reduce, the gradient with take_along_axis."""
    N = X.shape[0]
    S = X @ W
    lse = np.logaddexp.reduce(S, axis=1)
    loss = np.mean(lse - np.take_along_axis(S, y[:, None], axis=1)[:, 0])
    P = np.exp(S - lse[:, None])
    np.put_along_axis(P, y[:, None], np.take_along_axis(P, y[:, None], axis=1) - 1, axis=1)
    return loss + reg * np.sum(W * W), X.T @ P / N + 2 * reg * W
'''


def scores(course: Course, student: str) -> dict[str, float | None]:
    return item_scores(course, A, student)


def marks(course: Course) -> dict[str, float | None]:
    return full_marks(course, A)


def with_answer(grade_id: str, source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, grade_id).source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    course = make_course(tmp_path_factory.mktemp("evidence") / "course", (A,))
    submit(course, "looping", A, with_answer("svm_loss_vectorized", LOOPING))
    submit(course, "rewrap", A, with_answer("svm_loss_vectorized", LOOPING + REWRAP))
    submit(course, "in_body", A, with_answer("svm_loss_vectorized", IN_BODY))
    for student, source in (("forged", FORGED), ("rebound", REBOUND),
                            ("at_definition", AT_DEFINITION)):
        submit(course, student, A, with_answer("svm_loss_vectorized", source))
    for style, source in HONEST_SVM.items():
        nb = with_answer("svm_loss_vectorized", source)
        cell(nb, "softmax_loss_vectorized").source = HONEST_SOFTMAX
        submit(course, style, A, nb)
    outcomes = {o.student: o for o in grade_assignment(course, A,
                                                       settings=Settings(workers=2))}
    return course, outcomes


def test_a_loop_loses_loop_free_and_speed_only(graded) -> None:
    course, _ = graded
    assert scores(course, "looping") == marks(course) | {"test_svm_vec_loop_free": 0.0,
                                                               "test_svm_vec_speed": 0.0}


def test_rewriting_the_kernel_side_of_the_grader_buys_nothing(graded) -> None:
    course, outcomes = graded
    assert scores(course, "rewrap") == scores(course, "looping")
    assert outcomes["rewrap"].suspicious, "the attempt is flagged for the instructor"
    assert not outcomes["looping"].suspicious


def test_tampering_inside_the_function_is_held_not_awarded(graded) -> None:
    course, outcomes = graded
    got = scores(course, "in_body")
    for item in ("test_svm_vec_loop_free", "test_svm_vec_speed", "test_svm_vec_untouched"):
        assert got[item] is None, (item, got[item])  # pending: a person decides
        assert f"{A}:{item}" in outcomes["in_body"].held
    assert any("tracer" in why for why in outcomes["in_body"].held.values())
    full = marks(course)
    # only the function whose code does it: the rest of the notebook is measured as usual
    for item in ("test_svm_vec_loss", "test_softmax_loop_free", "test_softmax_speed",
                 "test_softmax_untouched", "test_svm_naive_untouched"):
        assert got[item] == full[item], item


@pytest.mark.parametrize("style", sorted(HONEST_SVM))
def test_honest_vectorized_answers_keep_every_point_and_raise_no_flag(graded, style) -> None:
    course, outcomes = graded
    assert scores(course, style) == marks(course)
    assert outcomes[style].suspicious == []
    assert outcomes[style].held == {}


@pytest.mark.parametrize("student", ["forged", "rebound", "at_definition"])
def test_what_the_clean_process_does_not_run_buys_nothing(graded, student) -> None:
    """Forged answers, a name bound again by code left out, code run at definition: the
    looping function earns no point the plain loop does not."""
    course, _ = graded
    looping, got = scores(course, "looping"), scores(course, student)
    for item in ("test_svm_vec_loop_free", "test_svm_vec_speed"):
        assert not got[item], (item, got[item])  # 0, or held for a person: never awarded
    for item, points in got.items():
        assert (points or 0.0) <= (looping[item] or 0.0), (item, points, looping[item])
