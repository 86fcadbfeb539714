"""The writer's rows are nbgrader's: what ``grader.grade.rows`` writes for a notebook (from the
scores a worker computes of it) equals what nbgrader's own ``SaveAutoGrades`` writes for it,
on SQLite and on PostgreSQL.

Each case records the same executed notebook twice into one gradebook: as one student through
the writer, as another through nbgrader, and compares every grade and comment row and the
submission's totals — for a new submission, then again after a person graded some items and
the notebook was graded anew with other outputs.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import make_course, pg_course, released_notebook
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from grader.course import Course
from grader.grade.rows import AssignmentRows, scores

A = "cross_entropy"
ERROR = nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=[])


def executed(course: Course, failing: int, answered: int) -> NotebookNode:
    """The released notebook as if answered and run: every ``answered``-th answer cell was
    changed (the others keep the released text: "No response."); every ``failing``-th graded
    test raised."""
    nb = released_notebook(course, A)
    tests = answers = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):  # code answers and written ones
            answers += 1
            if answers % answered == 0:
                cell.source += "\n# changed" if cell.cell_type == "code" else "\nchanged"
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        if meta.get("grade") and not meta.get("solution"):
            tests += 1
            if tests % failing == 0:
                cell.outputs = [ERROR]
    return nb


def rows(gb: Gradebook, student: str) -> dict:
    """Every grade and comment row of ``student``'s submission, by cell name, and its totals."""
    submission = gb.find_submission(A, student)
    notebook = submission.notebooks[0]
    grades = {g.name: (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
              for g in notebook.grades}
    comments = {c.name: (c.auto_comment, c.manual_comment) for c in notebook.comments}
    return {"grades": grades, "comments": comments, "score": submission.score,
            "needs_manual_grade": submission.needs_manual_grade}


def by_nbgrader(course: Course, gb: Gradebook, student: str, nb: NotebookNode) -> None:
    gb.db.commit()  # nbgrader works in gradebooks of its own, as autograde does
    with Gradebook(course.db_url) as own:
        own.update_or_create_student(student)
        own.update_or_create_submission(A, student)
    resources = {"nbgrader": {"notebook": A, "assignment": A, "student": student,
                              "db_url": course.db_url}}
    SaveAutoGrades().preprocess(copy.deepcopy(nb), resources)


def by_writer(gb: Gradebook, student: str, nb: NotebookNode) -> tuple[float, float, float]:
    totals = AssignmentRows(gb.db, A).record(gb.db, student, None, A, scores(nb))
    gb.db.commit()
    return totals


@pytest.fixture(params=["sqlite", "postgresql"])
def course(request, tmp_path) -> Course:
    if request.param == "sqlite":
        return make_course(tmp_path / "course", (A,))
    return pg_course(tmp_path / "course", request.getfixturevalue("postgres"))


def test_a_new_submission_gets_nbgrader_rows(course: Course) -> None:
    nb = executed(course, failing=3, answered=2)
    with Gradebook(course.db_url) as gb:
        score, max_score, pending = by_writer(gb, "ours", nb)
        by_nbgrader(course, gb, "theirs", nb)
        ours, theirs = rows(gb, "ours"), rows(gb, "theirs")
        assert ours == theirs
        assert 0 < score == ours["score"] < max_score == gb.find_assignment(A).max_score
        pending_cells = [name for name, (auto, manual, _, _) in ours["grades"].items()
                         if auto is None and manual is None]
        assert pending_cells, "the written answers await a person"
        assert pending == sum(gb.find_grade_cell(name, A, A).max_score
                              for name in pending_cells)
        assert "No response." in [auto for auto, _ in ours["comments"].values()]


def test_a_regraded_submission_keeps_manual_grades_as_nbgrader_does(course: Course) -> None:
    with Gradebook(course.db_url) as gb:
        first = executed(course, failing=2, answered=3)  # graded, then a person grades two
        by_writer(gb, "ours", first)
        by_nbgrader(course, gb, "theirs", first)
        written, test = None, None
        for name, (auto, _, _, _) in rows(gb, "ours")["grades"].items():
            if auto is None:
                written = name
            elif auto == 0:
                test = name
        assert written and test
        for student in ("ours", "theirs"):
            for name, points in ((written, 2.0), (test, 1.0)):
                grade = gb.find_grade(name, A, A, student)
                grade.manual_score, grade.extra_credit = points, 0.5
            gb.db.commit()

        regraded = executed(course, failing=5, answered=4)
        score, _, pending = by_writer(gb, "ours", regraded)
        by_nbgrader(course, gb, "theirs", regraded)
        ours, theirs = rows(gb, "ours"), rows(gb, "theirs")
        assert ours == theirs
        assert ours["grades"][written][1:] == (2.0, 0.5, True)
        assert score == pytest.approx(ours["score"])
        assert pending == sum(gb.find_grade_cell(name, A, A).max_score
                              for name, (auto, manual, _, _) in ours["grades"].items()
                              if auto is None and manual is None)


def test_a_notebook_that_could_not_run_scores_zero(course: Course) -> None:
    with Gradebook(course.db_url) as gb:
        score, _, _ = AssignmentRows(gb.db, A).record(gb.db, "ours", None, A, None)
        gb.db.commit()
        graded = rows(gb, "ours")
        assert score == graded["score"] == 0
        assert all(auto == 0 and not needs
                   for auto, _, _, needs in graded["grades"].values())


def test_nbgrader_late_penalties_are_applied(tmp_path) -> None:
    """With a course's ``LateSubmissionPlugin`` set, a late submission gets nbgrader's penalty
    (here "zero": the whole score), an early one none."""
    from conftest import source_notebook, submit

    from grader.grade.run import Settings, grade_assignment

    course = make_course(tmp_path / "course", (A,))
    with (course.root / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(A, duedate="2030-01-01 10:00:00 UTC")
    for student, stamp in (("early", "2030-01-01 09:00:00 UTC"),
                           ("late", "2030-01-02 10:00:00 UTC")):
        path = submit(course, student, A, source_notebook(A))
        (path.parent / "timestamp.txt").write_text(stamp)
    outcomes = grade_assignment(course, A, settings=Settings(workers=2))
    assert [o.status for o in outcomes] == ["graded", "graded"]
    with Gradebook(course.db_url) as gb:
        early = gb.find_submission_notebook(A, A, "early")
        late = gb.find_submission_notebook(A, A, "late")
        assert early.late_submission_penalty is None and early.score > 0
        assert late.score > 0 and late.late_submission_penalty == late.score
