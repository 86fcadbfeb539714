"""Writing an assignment: ``grader new`` makes one that works, ``grader check`` says what is
wrong with one that does not, for any assignment of any course."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from conftest import REPO

from grader.author.selftest import check
from grader.cli import main
from grader.course import Course

pytestmark = pytest.mark.notebook


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A course of its own with one assignment, made by ``grader new`` and released."""
    root = tmp_path_factory.mktemp("authoring") / "course"
    root.mkdir()
    shutil.copy2(REPO / "nbgrader_config.py", root)
    code, output = run("new", "linreg", "--course", str(root))
    assert code == 0, output
    for name in ("linreg.ipynb", "hidden/spec.py", "hidden/reference.py",
                 "hidden/test_linreg.py"):
        assert f"source/linreg/{name}" in output
    code, output = run("release", "--course", str(root))
    assert code == 0, output
    return Course(root)


def test_a_new_assignment_passes_every_check(scaffolded: Course) -> None:
    code, output = run("check", "linreg", "--course", str(scaffolded.root))
    assert code == 0, output
    for step in ("spec", "in-process", "release", "kernels", "mutants"):
        assert f"linreg               {step:<11} ok" in output, output
    assert not (scaffolded.release / "linreg" / "hidden").exists()  # never released


def test_a_new_assignment_has_its_own_tests_and_they_pass(scaffolded: Course) -> None:
    result = pytest.main(["-q", "-p", "no:cacheprovider",
                          str(scaffolded.source / "linreg" / "hidden")])
    assert result == 0


def test_new_refuses_a_taken_or_bad_name(scaffolded: Course) -> None:
    code, output = run("new", "linreg", "--course", str(scaffolded.root))
    assert code == 1 and "already exists" in output
    code, output = run("new", "Bad-Name", "--course", str(scaffolded.root))
    assert code == 1 and "lower-case" in output


def broken_copy(course: Course, root: Path, edit) -> Course:
    shutil.copytree(course.root, root, ignore=shutil.ignore_patterns("gradebook.db*"))
    copy = Course(root)
    edit(copy)
    return copy


def rewrite(course: Course, old: str, new: str, name: str = "linreg.ipynb") -> None:
    path = course.source / "linreg" / name
    path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize(("edit", "says"), [
    (lambda c: rewrite(c, 'grade(\\"squared_error.speed\\")', 'grade(\\"squared_error.sped\\")'),
     ["test_squared_error_speed: grades 'squared_error.sped', which the spec does not have",
      "squared_error.speed: no test cell grades this item"]),
    (lambda c: rewrite(c, "return float(np.mean(r * r)), 2.0 * X.T @ r / X.shape[0]",
                       "return float(np.mean(r * r)), X.T @ r / X.shape[0]"),
     ["the solution fails test_squared_error_gradient"]),
    (lambda c: rewrite(c, "rtol=1e-9, scale=magnitude", "rtol=1e-2, scale=magnitude",
                       "hidden/spec.py"),
     ["squared_error.gradient: a gradient by finite differences"]),
    # the solution's numerical check errs by about 2e-9: inside this tolerance, but not by 5x
    (lambda c: rewrite(c, "rtol=1e-9, scale=magnitude", "rtol=1e-9, numeric_tol=4e-9, "
                       "scale=magnitude", "hidden/spec.py"),
     ["test_squared_error_gradient: the solution passes the numerical check of dw of "
      "squared_error", "with little room"]),
    (lambda c: rewrite(c, "from . import reference as ref", "from . import referenc as ref",
                       "hidden/spec.py"),
     ["linreg/hidden/spec.py cannot be imported"]),
])
def test_check_says_what_is_wrong(scaffolded: Course, tmp_path: Path, edit, says) -> None:
    broken = broken_copy(scaffolded, tmp_path / "course", edit)
    report = check(broken, "linreg", kernels=False, mutants=False)
    found = "\n".join(report.problems)
    for phrase in says:
        assert phrase in found, found


def test_a_released_notebook_out_of_date_is_found(scaffolded: Course, tmp_path: Path) -> None:
    def edit(course: Course) -> None:
        path = course.source / "linreg" / "linreg.ipynb"
        nb = nbformat.read(path, 4)
        nb.cells[0].source += "\n\nOne more sentence."
        nbformat.write(nb, path)

    broken = broken_copy(scaffolded, tmp_path / "course", edit)
    report = check(broken, "linreg", kernels=False, mutants=False)
    assert any("out of date with source/" in p for p in report.steps["release"])


def _code_words(path: Path) -> set[str]:
    """The identifiers and string constants of a module's code: docstrings and comments left
    out (they may give examples)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            docstrings.add(id(body[0].value))
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            words.add(node.value)
        elif isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.arg)):
            words.add(getattr(node, "name", None) or node.arg)
    return words


def test_the_engine_names_no_assignment() -> None:
    names = Course(REPO).assignments()
    assert names
    for path in sorted((REPO / "grader").rglob("*.py")):
        found = [w for w in _code_words(path) if any(name in w for name in names)]
        assert not found, (path.relative_to(REPO), found)
