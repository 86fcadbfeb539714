"""``grader new ASSIGNMENT``: a new assignment that already works, for the instructor to change.

It writes what an assignment needs and nothing it does not:

* ``source/<name>/<name>.ipynb``: an nbgrader notebook with a setup cell, one function to
  write (``squared_error``: a loss and its gradient), a test cell per standard item (public
  asserts, then a hidden part that names its item) and a written answer graded by hand;
* ``source/<name>/hidden/spec.py``: the function's spec, its inputs and its items;
* ``source/<name>/hidden/reference.py``: the reference solution;
* ``source/<name>/hidden/test_<name>.py``: right and wrong answers for each item.

``grader check <name>`` passes on it as written. Examples (``examples/answers/<name>/``) and
a similarity corpus are optional.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import click
import nbformat

from grader.course import Course, CourseError
from grader.hidden import FOLDER

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

SETUP = "import numpy as np\n"

FUNCTION = '''def squared_error(w, X, y):
    """Mean squared error of a linear model, and its gradient.

    Parameters
    ----------
    w : np.ndarray, shape (D,)
        Weights.
    X : np.ndarray, shape (N, D)
        Samples, one per row.
    y : np.ndarray, shape (N,)
        Targets.

    Returns
    -------
    loss : float
        ``mean((X @ w - y) ** 2)``.
    dw : np.ndarray, shape (D,)
        Gradient of ``loss`` with respect to ``w``.
    """
    ### BEGIN SOLUTION
    r = X @ w - y
    return float(np.mean(r * r)), 2.0 * X.T @ r / X.shape[0]
    ### END SOLUTION
'''

#: (grade id, points, item, public asserts) of each test cell.
TESTS = [
    ("test_squared_error_loss", 2, "squared_error.loss", """\
X = np.array([[1.0, 0.0], [0.0, 2.0]])
loss, dw = squared_error(np.zeros(2), X, np.array([1.0, 3.0]))
assert np.isclose(loss, 5.0), f"with w = 0 the loss is mean(y**2) = 5.0, got {loss}"
"""),
    ("test_squared_error_gradient", 2, "squared_error.gradient", """\
X = np.array([[1.0, 0.0], [0.0, 2.0]])
loss, dw = squared_error(np.zeros(2), X, np.array([1.0, 3.0]))
assert np.allclose(dw, [-1.0, -6.0]), f"dw = 2 X.T (X w - y) / N = [-1, -6], got {dw}"
"""),
    ("test_squared_error_shapes", 1, "squared_error.shapes", """\
loss, dw = squared_error(np.zeros(3), np.ones((1, 3)), np.ones(1))
assert np.size(loss) == 1 and np.shape(dw) == (3,), "a single number, and dw of shape (D,)"
"""),
    ("test_squared_error_untouched", 1, "squared_error.untouched", """\
w, X, y = np.ones(2), np.eye(2), np.zeros(2)
squared_error(w, X, y)
assert np.array_equal(w, np.ones(2)) and np.array_equal(X, np.eye(2)), "inputs must not change"
"""),
    ("test_squared_error_loop_free", 1, "squared_error.loop_free", """\
# The hidden test counts the Python lines your function runs for a small and a large problem.
loss, dw = squared_error(np.zeros(4), np.ones((8, 4)), np.ones(8))
"""),
    ("test_squared_error_speed", 1, "squared_error.speed", """\
# The hidden test compares your function's time with a vectorized one's.
loss, dw = squared_error(np.zeros(50), np.ones((5000, 50)), np.ones(5000))
"""),
]

SPEC = '''"""Hidden tests of {name}: the spec of each function students write."""

from __future__ import annotations

import numpy as np

from grader.author import Gradient, Inputs, LoopFree, Shapes, Spec, Speed, Untouched, Values

from . import reference as ref

# Valid inputs, by the arguments' shapes in named dimensions (fixed seeds).
INPUTS = Inputs(w="D", X="N D", y="N")
SMALL = [dict(N=1, D=1), dict(N=5, D=3), dict(N=20, D=6)]  # edge cases and hand sizes
REAL = [dict(N=2100, D=4), dict(N=9, D=3100)]  # past any size an answer might assume



def tiny_column():
    """Large targets (a loss of about 1e4) and one feature of about 1e-10: that entry of dw
    is about 1e-10, which the derived formula gets to rounding error and no finite difference
    of the loss can (a numerical gradient is for checking, not for answering)."""
    w, X, y = (np.array(a) for a in INPUTS.draw(dict(N=50, D=4)).args)
    X[:, -1] *= 1e-10
    return w, X, 100.0 * y


def magnitude(w, X, y):
    """What each entry of dw adds up in absolute value: honest formulas agree within a few
    rounding errors of it, whatever cancels."""
    return 2 * np.abs(X).T @ np.abs(X @ w - y) / len(y)


spec = Spec()

spec.function(
    "squared_error(w, X, y) -> (loss, dw)", reference=ref.squared_error,
    gradients={{"dw": "w"}},
    loss=Values(INPUTS.problems(*SMALL, *REAL), hint="loss = mean((X w - y)**2)."),
    gradient=Gradient(numeric=INPUTS.problems(*SMALL),
                      exact=lambda: [*INPUTS.problems(*REAL), tiny_column()],
                      rtol=1e-9, scale=magnitude,
                      hint="dw = 2 X.T (X w - y) / N: did you divide by N?"),
    shapes=Shapes(INPUTS.problems(dict(N=1, D=1), dict(N=3, D=1))),
    untouched=Untouched(lambda: INPUTS.draw(dict(N=6, D=3)).args),
    loop_free=LoopFree(INPUTS.family(dict(N=4, D=3)), INPUTS.family(dict(N=64, D=8))),
    speed=Speed(INPUTS.family(dict(N=4000, D=8))),
)
'''

REFERENCE = '''"""Reference solutions of {name} (instructor-only)."""

from __future__ import annotations

import numpy as np


def squared_error(w, X, y):
    """``mean((X w - y)**2)`` and its gradient ``2 X.T (X w - y) / N``."""
    r = X @ w - y
    return float(np.mean(r * r)), 2.0 * X.T @ r / X.shape[0]
'''

TEST = '''"""Every item of {name} passes right answers written in other ways, and fails
wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from grader.author.attacks import FD_STEPS, finite_difference
from grader.hidden import beside

HIDDEN = beside(__file__)
ref = HIDDEN.module("reference")
grade = HIDDEN.grade


def einsum_style(w, X, y):
    r = np.einsum("nd,d->n", X, w) - y
    return np.array(r @ r / len(y)), np.asfortranarray(2 * np.einsum("nd,n->d", X, r) / len(y))


def forgot_the_two(w, X, y):
    r = X @ w - y
    return np.mean(r * r), X.T @ r / len(y)


def summed(w, X, y):
    r = X @ w - y
    return np.sum(r * r), 2 * X.T @ r


def looping(w, X, y):
    loss, dw = 0.0, np.zeros_like(w)
    for i in range(len(y)):
        r = X[i] @ w - y[i]
        loss += r * r
        dw += 2 * r * X[i]
    return loss / len(y), dw / len(y)


def in_place(w, X, y):
    X *= 1.0
    y -= X @ w
    return float(np.mean(y * y)), -2.0 * X.T @ y / len(y)


PASS = {{
    "squared_error.loss": [ref.squared_error, einsum_style, forgot_the_two, looping],
    "squared_error.gradient": [ref.squared_error, einsum_style, looping],
    "squared_error.shapes": [ref.squared_error, einsum_style],
    "squared_error.untouched": [ref.squared_error, einsum_style],
    "squared_error.loop_free": [ref.squared_error, einsum_style],
    "squared_error.speed": [ref.squared_error, einsum_style],
}}
FAIL = {{
    "squared_error.loss": [summed],
    "squared_error.gradient": [forgot_the_two, summed],
    "squared_error.shapes": [lambda w, X, y: (np.ones(2), w)],
    "squared_error.untouched": [in_place],
    "squared_error.loop_free": [looping],
    "squared_error.speed": [looping],
}}


@pytest.mark.parametrize(("item", "answer"), [(i, a) for i, answers in PASS.items()
                                              for a in answers])
def test_right_answers_earn_the_item(item, answer):
    grade(item, answer)


@pytest.mark.parametrize(("item", "answer"), [(i, a) for i, answers in FAIL.items()
                                              for a in answers])
def test_wrong_answers_lose_it(item, answer):
    with pytest.raises(AssertionError):
        grade(item, answer)


def test_every_item_meets_right_and_wrong_answers():
    assert set(PASS) == set(FAIL) == set(HIDDEN.spec.ids())


@pytest.mark.parametrize(("h", "stencil"), FD_STEPS)
def test_a_finite_difference_gradient_loses_the_gradient_item(h, stencil):
    answer = finite_difference(HIDDEN.spec.functions["squared_error"], h, stencil)
    with pytest.raises(AssertionError):
        grade("squared_error.gradient", answer)
'''


def _cell(kind: str, source: str, **nbgrader: object) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, **nbgrader}
    return cell


def notebook(name: str) -> nbformat.NotebookNode:
    """The scaffolded source notebook of assignment ``name``."""
    title = name.replace("_", " ").capitalize()
    cells = [
        _cell("markdown", f"# {title}\n\nWrite each function in its answer cell: replace the "
                          "`raise NotImplementedError()` line with your code and keep the "
                          "`def` line. The test cells below each answer run public tests you "
                          "can run yourself; when your notebook is graded, hidden tests run "
                          "in them too."),
        _cell("code", SETUP, grade=False, grade_id="setup", locked=True, solution=False),
        _cell("markdown", "## 1. The squared error and its gradient\n\nFor a linear model "
                          "$\\hat y = X w$, the loss is $L = \\frac{1}{N} \\sum_i (x_i^T w - "
                          "y_i)^2$. Write `squared_error(w, X, y)` returning the loss and "
                          "its gradient $\\nabla_w L$, without a Python loop."),
        _cell("code", FUNCTION, grade=False, grade_id="squared_error", locked=False,
              solution=True),
    ]
    for grade_id, points, item, public in TESTS:
        source = (f"{public}# Public tests end here; hidden tests run below this line when "
                  f"the notebook is graded.\n\n### BEGIN HIDDEN TESTS\ngrade(\"{item}\")\n"
                  "### END HIDDEN TESTS")
        cells.append(_cell("code", source, grade=True, grade_id=grade_id, locked=True,
                           points=points, solution=False))
    cells.append(_cell("markdown", "## 2. Derive it\n\nDerive $\\nabla_w L$ from the "
                                   "definition of $L$."))
    cells.append(_cell("markdown", "### BEGIN SOLUTION\n$\\nabla_w L = \\frac{2}{N} X^T "
                                   "(X w - y)$, by the chain rule on each square.\n"
                                   "### END SOLUTION", grade=True, grade_id="derivation",
                       locked=False, points=2, solution=True))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata.update({"kernelspec": {"display_name": "Python 3", "language": "python",
                                       "name": "python3"},
                        "language_info": {"name": "python"}})
    return nb


def scaffold(course: Course, name: str) -> list[Path]:
    """Write a new assignment ``name`` into ``course``; return the files written.

    Raises
    ------
    CourseError
        When ``name`` is not a lower-case Python name or the assignment already exists.
    """
    if not _NAME.match(name):
        raise CourseError(f"assignment name {name!r}: use lower-case letters, digits and _, "
                          "starting with a letter (it names a folder and a test module)")
    folder = course.source / name
    if folder.exists():
        raise CourseError(f"{folder} already exists; choose another name")
    files = {
        folder / f"{name}.ipynb": nbformat.writes(notebook(name)) + "\n",
        folder / FOLDER / "spec.py": SPEC.format(name=name),
        folder / FOLDER / "reference.py": REFERENCE.format(name=name),
        folder / FOLDER / f"test_{name}.py": textwrap.dedent(TEST.format(name=name)),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


@click.command("new")
@click.argument("assignment")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def new_command(assignment: str, course_dir: str | None) -> None:
    """Scaffold ASSIGNMENT: its source notebook, hidden spec, reference and tests.

    The scaffold is a working assignment (one function, every standard item, a written
    answer): `grader check ASSIGNMENT` passes on it. Change it into yours from there.
    """
    try:
        course = Course.find(course_dir)
        written = scaffold(course, assignment)
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    for path in written:
        click.echo(f"wrote {path.relative_to(course.root)}")
    click.echo(f"next: edit them, then `grader check {assignment}` and "
               f"`grader release {assignment}`")
