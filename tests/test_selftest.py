"""Self-test of every assignment, with real kernels: the promises the course makes.

The solution notebook earns every autograded point (its written answers wait for a grader),
the untouched release earns nothing and grades without crashing, ``release/`` is what nbgrader
makes from ``source/`` today, and no line of a solution or hidden test is in it; and the
in-process checks of ``grader check`` (spec and notebook agree, the solution passes every
numerical gradient check with room to spare, a numerical gradient earns no gradient item) find
nothing. All of it is derived from each assignment's notebook and spec.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from conftest import ASSIGNMENTS, REPO, source_notebook, submit

from grader.author.leaks import check_release, find_leaks, leaks_in_release, secret_lines
from grader.author.selftest import check
from grader.course import Course
from grader.grade.record import GRADED
from grader.grade.results import item_results
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Grade the solution and the untouched release of each assignment, once."""
    from conftest import make_course

    course = make_course(tmp_path_factory.mktemp("selftest") / "course")
    results = {}
    for assignment in ASSIGNMENTS:
        submit(course, "solution", assignment, source_notebook(assignment))
        released = nbformat.read(course.release / assignment / f"{assignment}.ipynb", 4)
        submit(course, "untouched", assignment, released)
        outcomes = grade_assignment(course, assignment, settings=Settings(workers=2))
        for outcome in outcomes:
            items = item_results(course.db_url, course.autograded / outcome.student / assignment,
                                 assignment, outcome.student)
            results[assignment, outcome.student] = (outcome, items)
    return results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_every_autograded_point(graded: dict, assignment: str) -> None:
    outcome, items = graded[assignment, "solution"]
    assert outcome.status == GRADED, outcome.reasons
    failed = {i.grade_id: i.message for i in items if not i.manual and i.status != "passed"}
    assert failed == {}
    manual = [i for i in items if i.manual]
    assert all(i.status == "pending" for i in manual), "written answers wait for a grader"
    auto_total = sum(i.max_score for i in items if not i.manual)
    assert outcome.score == auto_total


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_earns_nothing(graded: dict, assignment: str) -> None:
    outcome, items = graded[assignment, "untouched"]
    assert outcome.status == GRADED, outcome.reasons
    assert outcome.score == 0
    assert outcome.max_score > 0
    assert all(i.score == 0 for i in items), [i for i in items if i.score != 0]
    # every test failed for the right reason: the stub, not a crash of the grader
    messages = {i.message for i in items if not i.manual}
    assert all(m and ("NotImplementedError" in m or "NameError" in m) for m in messages), messages


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_spec_and_notebook_agree_and_no_numerical_gradient_earns_a_point(assignment) -> None:
    report = check(Course(REPO), assignment, kernels=False, mutants=False)
    assert report.problems == [], "\n".join(report.problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_up_to_date_and_leaks_nothing(assignment: str) -> None:
    problems = check_release(Course(REPO), assignment)
    assert problems == [], "\n".join(map(str, problems))


def test_leak_check_catches_a_solution_line(tmp_path) -> None:
    course_root = tmp_path / "course"
    shutil.copytree(REPO / "source", course_root / "source")
    shutil.copytree(REPO / "release", course_root / "release")
    shutil.copy2(REPO / "nbgrader_config.py", course_root)
    course = Course(course_root)
    secrets = secret_lines(course, "svm_hinge")
    solution_line = min(line for line, kind in secrets.items() if kind == "solution")
    hidden_line = min(line for line, kind in secrets.items() if kind == "hidden test")
    path = course.release / "svm_hinge" / "svm_hinge.ipynb"
    nb = nbformat.read(path, 4)
    nb.cells[-1].source += f"\n    {solution_line}\n{hidden_line}"
    nbformat.write(nb, path)
    found = leaks_in_release(course, "svm_hinge")
    assert {p.what for p in found} == {f"contains a solution line: {solution_line!r}",
                                       f"contains a hidden test line: {hidden_line!r}"}
    assert all(p.where == "release/svm_hinge/svm_hinge.ipynb" for p in found)
    assert find_leaks("nothing secret here", secrets) == []
