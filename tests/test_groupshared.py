"""A course directory shared by its staff: nbgrader's ``CourseDirectory.groupshared`` for
every folder and file the grader writes, and nothing left readable by its owner alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import REPO

from grader.course import Course
from grader.feedback import generate_feedback
from grader.grade.run import Settings, grade_assignment
from grader.release import release
from grader.report.command import write_report
from grader.shared import DIRECTORY_BITS, FILE_BITS, folder_mode

pytestmark = pytest.mark.notebook
A = "cross_entropy"
EXAMPLES = REPO / "examples" / "submitted"


def written(course: Course) -> list[Path]:
    """What grading, feedback, a report and a release wrote in the course directory."""
    grade_assignment(course, A, EXAMPLES, Settings(workers=2))
    generate_feedback(course, A, ["ada", "gus"])  # gus's notebook is damaged: another page
    report = write_report(course.root / "reports" / "index.html", "html", course.root)
    paths = [report, report.parent, course.db_path, course.release / A / "selfcheck.py"]
    for top in (course.autograded, course.feedback):
        for folder, _, files in os.walk(top):
            paths.append(Path(folder))
            paths += [Path(folder, name) for name in files]
    return paths


def test_groupshared_reaches_everything_the_grader_writes(course: Course) -> None:
    with (course.root / "nbgrader_config.py").open("a") as config:
        config.write("\nc.CourseDirectory.groupshared = True\n")
    course = Course(course.root)
    release(course, [A])
    paths = written(course)
    assert len([p for p in paths if p.name == ".grading.json"]) == 8
    for path in paths:
        mode = path.stat().st_mode
        bits = DIRECTORY_BITS if path.is_dir() else FILE_BITS
        assert mode & bits == bits, f"{path.relative_to(course.root)}: {stat.filemode(mode)}"


def test_without_groupshared_folders_are_as_mkdir_makes_them(course: Course) -> None:
    written(course)
    for folder in (course.autograded / "ada", course.autograded / "ada" / A,
                   course.feedback / "ada" / A):
        assert stat.S_IMODE(folder.stat().st_mode) == folder_mode(), folder
    assert folder_mode() & stat.S_IRGRP  # with the usual umask, the staff's group reads
