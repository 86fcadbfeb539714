"""One grade everywhere: the course's late penalty, as every view of a grade shows it.

Three students submit the same correct notebook (33 autograded points, a written derivation of
3 awaiting grading): on time, 10 minutes late (inside the 15-minute grace period) and 1 d 12 h
late (two started days at 10% of 36 points: 7.2). The due date is set the way an instructor
sets it (``nbgrader db assignment add --duedate``), the timestamps are nbgrader's
``timestamp.txt``. The views: nbgrader's gradebook (what formgrader and nbgrader's API read),
``nbgrader export``, ``grader report``, the feedback pages, and ``grader ci``'s Gradescope
results.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import source_notebook, submit
from nbgrader.api import Gradebook

from grader.course import Course

A = "cross_entropy"
BIN = Path(sys.executable).parent
DUE = "2030-01-01 12:00:00 UTC"
STAMPS = {"ontime": "2030-01-01 11:00:00 UTC", "grace": "2030-01-01 12:10:00 UTC",
          "late": "2030-01-03 00:00:00 UTC"}
PENALTY = {"ontime": 0.0, "grace": 0.0, "late": 7.2}


def run(course: Course, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    done = subprocess.run(list(args), cwd=course.root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture
def late_class(course: Course) -> Course:
    """The three students, submitted, the due date set, graded."""
    for student, stamp in STAMPS.items():
        path = submit(course, student, A, source_notebook(A))
        (path.parent / "timestamp.txt").write_text(stamp)
    run(course, "nbgrader", "db", "assignment", "add", A, f"--duedate={DUE}")
    run(course, "grader", "grade", A)
    return course


def views(course: Course) -> dict[str, dict[str, tuple[float, float]]]:
    """(late penalty, score after it) of every student, in every view."""
    found: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(course.db_url) as gb:  # formgrader's and nbgrader's API's gradebook
        found["gradebook"] = {}
        for student in STAMPS:
            submission = gb.find_submission(A, student)
            penalty = submission.late_submission_penalty
            found["gradebook"][student] = (penalty, max(0.0, submission.score - penalty))
    run(course, "nbgrader", "export", "--to", "export.csv")
    with (course.root / "export.csv").open() as handle:
        found["nbgrader export"] = {row["student_id"]: (float(row["late_submission_penalty"]),
                                                        float(row["score"]))
                                    for row in csv.DictReader(handle)}
    report = json.loads(run(course, "grader", "report", "--format", "json").stdout)
    found["grader report"] = {row["student_id"]: (row["late_penalty"], row["score"])
                              for row in report["submissions"]}
    run(course, "grader", "feedback", A)
    found["feedback"] = {}
    for student in STAMPS:
        page = (course.feedback / student / A / f"{A}.html").read_text()
        total = re.search(r'id="total">[^(]*\(Score(?: so far)?: ([\d.]+) / 36', page)
        note = re.search(r"late penalty −([\d.]+) points", page)
        found["feedback"][student] = (float(note[1]) if note else 0.0, float(total[1]))
    found["grader ci"] = {}
    for student in STAMPS:
        notebook = course.submitted / student / A / f"{A}.ipynb"
        out = course.root / f"results-{student}.json"
        run(course, "grader", "ci", str(notebook), "--out", str(out))
        results = json.loads(out.read_text())
        found["grader ci"][student] = (results["extra_data"]["late_penalty"], results["score"])
    return found


def rounded(seen: dict[str, tuple[float, float]]) -> dict[str, tuple[float, ...]]:
    return {student: tuple(round(value, 6) for value in pair) for student, pair in seen.items()}


def test_the_late_penalty_is_the_same_number_in_every_view(late_class: Course) -> None:
    expected = rounded({student: (PENALTY[student], 33.0 - PENALTY[student])
                        for student in STAMPS})
    found = views(late_class)
    assert set(found) == {"gradebook", "nbgrader export", "grader report", "feedback",
                          "grader ci"}
    for view, seen in found.items():
        assert rounded(seen) == expected, view
    # ... and again once the written derivation is graded by hand (3 points each): the
    # penalty is the policy's, never capped at the score the autograder left
    with Gradebook(late_class.db_url) as gb:
        for student in STAMPS:
            gb.find_grade("derivation_reduction", A, A, student).manual_score = 3.0
        gb.db.commit()
    graded = views(late_class)
    for view in ("gradebook", "nbgrader export", "grader report", "feedback"):
        assert rounded(graded[view]) == rounded(
            {student: (PENALTY[student], 36.0 - PENALTY[student]) for student in STAMPS}), view


def test_the_feedback_page_names_the_lateness_and_the_penalty(late_class: Course) -> None:
    run(late_class, "grader", "feedback", A)
    pages = {student: (late_class.feedback / student / A / f"{A}.html").read_text()
             for student in STAMPS}
    assert 'id="late"' not in pages["ontime"]
    assert ("Submitted 10 min after the due date (2030-01-01 12:00 UTC): within the grace "
            "period, no late penalty") in pages["grace"]
    assert ("Submitted 1 d 12 h after the due date (2030-01-01 12:00 UTC): late penalty −7.2 "
            "points (10% of the assignment's points per started day late after a 15-minute "
            "grace period, at most 50%).") in pages["late"]
    assert "Score so far: 25.8 / 36.0" in pages["late"]


def test_the_grade_table_and_record_give_the_penalty(late_class: Course) -> None:
    record = json.loads((late_class.autograded / "late" / A / ".grading.json").read_text())
    assert (record["score"], record["late_penalty"], record["seconds_late"]) == (
        33.0, 7.2, 36 * 3600)
    table = run(late_class, "grader", "grade", A, "--force").stdout
    assert re.search(r"late\s*│\s*25\.8/36", table), table


def test_a_new_due_date_or_an_extension_grades_again(late_class: Course) -> None:
    """What the penalty depends on is part of what a grade depends on."""
    run(late_class, "nbgrader", "db", "assignment", "add", A, "--duedate=2030-01-02 12:00 UTC")
    again = run(late_class, "grader", "grade", A)
    assert "unchanged" not in again.stderr  # every student graded again
    with Gradebook(late_class.db_url) as gb:
        assert gb.find_submission(A, "late").late_submission_penalty == pytest.approx(3.6)
        gb.grant_extension(A, "late", days=2)
    extended = run(late_class, "grader", "grade", A)
    assert "2 of 3 submission(s) unchanged" in extended.stderr
    with Gradebook(late_class.db_url) as gb:
        assert gb.find_submission(A, "late").late_submission_penalty == 0.0
    assert json.loads((late_class.autograded / "late" / A / ".grading.json")
                      .read_text())["late_penalty"] == 0.0
