"""Shared fixtures: scratch copies of the course, released, to grade real notebooks in."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from grader.course import Course
from grader.release import release, release_copy

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = tuple(Course(REPO).assignments())  # the course says which, in one place


def make_course(root: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> Course:
    """A released copy of the repository's course (config and sources) at ``root``."""
    return release_copy(Course(REPO), assignments, root)


@pytest.fixture(scope="session")
def released_template(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """Released once per test session; copy it, never grade in it."""
    return make_course(tmp_path_factory.mktemp("template") / "course")


@pytest.fixture
def course(tmp_path: Path, released_template: Course) -> Course:
    """A fresh, released course directory of this test's own."""
    root = tmp_path / "course"
    shutil.copytree(released_template.root, root)
    return Course(root)


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    """The instructor's notebook (solutions and hidden tests included)."""
    return nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def released_notebook(course: Course, assignment: str) -> nbformat.NotebookNode:
    """The student version of ``assignment`` in ``course``."""
    return nbformat.read(course.release / assignment / f"{assignment}.ipynb", as_version=4)


def item_scores(course: Course, assignment: str, student: str) -> dict[str, float | None]:
    """Every item's score of a graded submission (None: pending)."""
    from grader.grade.results import item_results

    items = item_results(course.db_url, course.autograded / student / assignment, assignment,
                         student)
    return {i.grade_id: i.score for i in items}


def full_marks(course: Course, assignment: str) -> dict[str, float | None]:
    """Scores of a correct submission: every test passed, written answers pending."""
    nb = released_notebook(course, assignment)
    return {c.metadata.nbgrader["grade_id"]: (None if c.cell_type == "markdown"
                                               else float(c.metadata.nbgrader["points"]))
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The cell of ``nb`` with nbgrader id ``grade_id``."""
    for candidate in nb.cells:
        if candidate.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return candidate
    raise KeyError(grade_id)


def submit(course: Course, student: str, assignment: str, nb: nbformat.NotebookNode | str,
           root: Path | None = None) -> Path:
    """Place a notebook (or raw text) as ``student``'s submission; return its path."""
    target = (root or course.submitted) / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, str):
        target.write_text(nb)
    else:
        nbformat.write(nb, target)
    return target


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests/pgserver.py), stopped at the end."""
    from pgserver import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def dask_cluster():
    """A local Dask cluster of three worker processes (one grading thread each)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=None) as cluster:
        yield cluster


def submit_class(course: Course, students: list[str], full: float,
                 assignment: str = "cross_entropy") -> dict[str, float]:
    """Every third student submits the untouched release, the others the solution; returns
    the autograded total each must get."""
    expected = {}
    for i, student in enumerate(students):
        solved = i % 3 != 0
        submit(course, student, assignment, source_notebook(assignment) if solved
               else released_notebook(course, assignment))
        expected[student] = full if solved else 0.0
    return expected


def pg_course(root: Path, server, assignments: tuple[str, ...] = ("cross_entropy",)) -> Course:
    """A released copy of the course whose gradebook is a new PostgreSQL database."""
    root.mkdir(parents=True)
    for name in ("nbgrader_config.py", "course.toml"):  # as make_course copies them
        shutil.copy2(REPO / name, root / name)
    for name in assignments:
        shutil.copytree(REPO / "source" / name, root / "source" / name)
    course = Course(root, database=server.create_database())
    release(course, list(assignments))
    return course
def course_holding_an_item(root: Path, reason: str, assignment: str = "cross_entropy",
                           item: str = "test_sigmoid_values") -> tuple[Course, NotebookNode]:
    """A released course whose hidden test of ``item`` cannot decide: it raises
    ``grader.checks.Review(reason)``. Returns the course and its solution notebook."""
    from grader.release import release

    (root / "source").mkdir(parents=True)
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source" / assignment, root / "source" / assignment)
    path = root / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, 4)
    test = cell(nb, item)
    test.source = "\n".join(f"from grader.checks import Review\nraise Review({reason!r})"
                            if line.startswith("grade(") else line
                            for line in test.source.splitlines())
    nbformat.write(nb, path)
    course = Course(root)
    release(course, [assignment])
    return course, nb
