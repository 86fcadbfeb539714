"""Stock ``nbgrader autograde`` on this course (formgrader's autograde button): it runs the
hidden tests in the student's kernel, and gives every student the score ``grader grade`` gives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, make_course
from nbgrader.api import Gradebook

from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
ASSIGNMENTS = ("cross_entropy", "two_layer_net")
STUDENTS = ("ada", "dan", "eve")


def place(course, assignment: str) -> None:
    for student in STUDENTS:
        shutil.copytree(REPO / "examples" / "submitted" / student / assignment,
                        course.submitted / student / assignment)


def totals(course, assignment: str) -> dict[str, float]:
    with Gradebook(course.db_url) as gb:
        return {s.student.id: round(s.score, 6) for s in gb.assignment_submissions(assignment)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stock_nbgrader_autograde_gives_the_same_scores(tmp_path: Path, assignment: str) -> None:
    stock, ours = make_course(tmp_path / "stock", (assignment,)), \
        make_course(tmp_path / "ours", (assignment,))
    place(stock, assignment)
    place(ours, assignment)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["nbgrader", "autograde", assignment], cwd=stock.root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    grade_assignment(ours, assignment, settings=Settings(workers=2))
    assert totals(stock, assignment) == totals(ours, assignment)
    assert len(totals(stock, assignment)) == len(STUDENTS)
    # the cell that brought the spec into the kernel is not in what nbgrader saved
    saved = nbformat.read(stock.autograded / "dan" / assignment / f"{assignment}.ipynb", 4)
    assert not any("kernel_grade" in c.source for c in saved.cells)
