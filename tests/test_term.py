"""The example class apart from the real one, and a new term that keeps every submission."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, source_notebook, submit
from nbgrader.api import Gradebook

from grader.course import Course, CourseError
from grader.feedback import generate_feedback
from grader.grade.run import Settings, grade_assignment
from grader.report.command import write_report
from grader.term import new_term

A = "cross_entropy"
BIN = Path(sys.executable).parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def students(db_url: str) -> list[str]:
    with Gradebook(db_url) as gb:
        return sorted(student.id for student in gb.students)


@pytest.mark.notebook
def test_the_example_class_is_graded_in_a_course_of_its_own(tmp_path: Path) -> None:
    """``grader example`` (``make all``): the course's gradebook, feedback/ and reports/ hold
    no example student, and nbgrader's release_feedback works in the course afterwards."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("nbgrader_config.py", "course.toml"):
        shutil.copy2(REPO / name, root / name)
    for name in ("source", "release", "examples/submitted"):
        shutil.copytree(REPO / name, root / name)
    done = run(root, "grader", "example", "--workers", "3")
    course, example = Course(root), Course(root / "examples" / "course")
    assert students(course.db_url) == []  # the assignments are released there, no student
    with Gradebook(course.db_url) as gb:
        assert sorted(a.name for a in gb.assignments) == Course(REPO).assignments()
    assert not course.feedback.exists() and not (root / "reports").exists()
    assert not course.autograded.exists() or not any(course.autograded.iterdir())
    assert students(example.db_url) == ["ada", "ben", "cleo", "dan", "eve", "finn", "gus",
                                        "hal"]
    assert (example.feedback / "ada" / A / f"{A}.html").is_file()
    assert (example.root / "reports" / "index.html").is_file()
    assert str(example.root / "reports" / "index.html") in done.stdout.replace("\n", "")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    released = run(root, "nbgrader", "release_feedback", A, f"--Exchange.root={exchange}")
    assert "Traceback" not in released.stderr
    # run again: the example's course is brought up to date, the course's stays empty
    run(root, "grader", "example", "--workers", "3")
    assert students(course.db_url) == [] and len(students(example.db_url)) == 8


@pytest.fixture
def graded_term(course: Course) -> Course:
    """A term with two graded students, their feedback and a report."""
    for student in ("kim", "lee"):
        submit(course, student, A, source_notebook(A))
    grade_assignment(course, A, settings=Settings(workers=2))
    generate_feedback(course, A)
    write_report(course.root / "reports" / "index.html", "html", course.root)
    return course


@pytest.mark.notebook
def test_a_new_term_archives_the_grades_and_keeps_the_submissions(graded_term: Course) -> None:
    course = graded_term
    before = sorted(p.relative_to(course.root) for p in course.submitted.rglob("*"))
    done = run(course.root, "grader", "new-term", "--name", "2025-spring")
    archive = course.root / "archive" / "2025-spring"
    assert "kept submitted/ (2 submissions)" in done.stdout
    assert students(f"sqlite:///{archive / 'gradebook.db'}") == ["kim", "lee"]
    assert (archive / "feedback" / "kim" / A / f"{A}.html").is_file()
    assert (archive / "autograded" / "lee" / A / ".grading.json").is_file()
    assert (archive / "reports" / "index.html").is_file()
    assert not (course.feedback.exists() or (course.root / "reports").exists())
    assert not course.autograded.exists() or not any(course.autograded.iterdir())
    assert sorted(p.relative_to(course.root) for p in course.submitted.rglob("*")) == before
    assert students(course.db_url) == []
    with Gradebook(course.db_url) as gb:  # released again: ready to grade
        assert sorted(a.name for a in gb.assignments) == Course(REPO).assignments()
    outcomes = grade_assignment(course, A, settings=Settings(workers=2))
    assert [(o.student, o.score, o.unchanged) for o in outcomes] == [
        ("kim", 33.0, False), ("lee", 33.0, False)]


@pytest.mark.notebook
def test_a_new_term_refuses_what_it_cannot_do_cleanly(graded_term: Course) -> None:
    course = graded_term
    (course.root / "archive" / "taken").mkdir(parents=True)
    with pytest.raises(CourseError, match="exists already; nothing was moved"):
        new_term(course, name="taken")
    server = Course(course.root, database="postgresql://grader@db.example.edu/losses")
    with pytest.raises(CourseError, match="database server .*nothing was moved"):
        new_term(server)
    assert students(course.db_url) == ["kim", "lee"] and course.feedback.is_dir()
    done = new_term(course, discard=True)
    assert done.archive is None and len(done.moved) >= 4
    assert not course.feedback.exists() and students(course.db_url) == []
    assert sorted(p.name for p in (course.root / "archive").iterdir()) == ["taken"]
