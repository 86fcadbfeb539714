"""``grader ci``: grade one notebook anywhere, for a CI job or an autograder platform.

The notebook is graded in a scratch copy of the course (its own gradebook, made by releasing
the assignment there), so the instructor's gradebook is never touched. Results are written in
Gradescope's ``results.json`` schema plus a Markdown summary; the exit status says whether the
notebook could be graded, not whether the student passed. A notebook submitted after the due
date loses the course's late penalty, computed and recorded as ``grader grade`` does
(:mod:`grader.late`): the score is the one the gradebook would hold.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy
from nbgrader.api import Assignment, Gradebook
from nbgrader.utils import parse_utc
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from grader.course import Course, CourseError
from grader.grade import leftovers
from grader.grade.record import FAILED, Outcome
from grader.grade.results import ItemResult, item_results
from grader.grade.run import Settings, grade_assignment
from grader.late import course_policy, late_note
from grader.release import release_copy

STUDENT = "student"
EXIT_GRADED, EXIT_NOT_GRADED = 0, 1


def infer_assignment(course: Course, notebook: Path) -> str:
    """The assignment that has a notebook named like ``notebook``."""
    owners = [a for a in course.assignments() if (course.source / a / notebook.name).exists()]
    if len(owners) != 1:
        names = ", ".join(course.assignments())
        raise CourseError(
            f"cannot tell which assignment {notebook.name} belongs to "
            f"(assignments: {names}); pass --assignment"
        )
    return owners[0]


def course_due_date(course: Course, assignment: str) -> datetime | None:
    """The due date the course's gradebook gives ``assignment`` (read only; None if none)."""
    if course.db_path is not None and not course.db_path.is_file():
        return None
    engine = sqlalchemy.create_engine(course.db_url)
    try:
        with engine.connect() as connection:
            table = Assignment.__table__
            return connection.execute(select(table.c.duedate)
                                      .where(table.c.name == assignment)).scalar()
    except DBAPIError:  # no gradebook there (yet): no due date
        return None
    finally:
        engine.dispose()


def submission_time(notebook: Path) -> datetime | None:
    """When ``notebook`` was submitted, from nbgrader's ``timestamp.txt`` beside it."""
    stamp = notebook.parent / "timestamp.txt"
    if not stamp.is_file():
        return None
    try:
        return parse_utc(stamp.read_text().strip())
    except ValueError as error:
        raise CourseError(f"{stamp}: not a time ({error})") from None


def grade_one(course: Course, notebook: Path, assignment: str, settings: Settings,
              submitted: datetime | None = None,
              due: datetime | None = None) -> tuple[Outcome, list[ItemResult]]:
    """Grade ``notebook`` as the only submission of ``assignment`` in a scratch course.

    ``submitted`` (UTC) and ``due`` (UTC), when both are given, make the late penalty apply.
    """
    if not notebook.is_file():
        raise CourseError(f"notebook {notebook} does not exist")
    expected = [p.name for p in course.source_notebooks(assignment)]
    if notebook.name not in expected:
        raise CourseError(
            f"{notebook.name} is not a notebook of {assignment!r} (expected one of {expected})"
        )
    tmp = leftovers.scratch("grader-ci-")  # swept by a later run if this one is killed
    try:
        scratch = release_copy(course, [assignment], tmp / "course")
        target = scratch.submitted / STUDENT / assignment
        target.mkdir(parents=True)
        shutil.copy2(notebook, target / notebook.name)
        if submitted is not None and due is not None:
            with Gradebook(scratch.db_url) as gb:
                gb.update_or_create_assignment(assignment, duedate=due)
            (target / "timestamp.txt").write_text(f"{submitted:%Y-%m-%d %H:%M:%S.%f} UTC")
        [outcome] = grade_assignment(scratch, assignment, settings=settings)
        items = item_results(scratch.db_url, scratch.autograded / STUDENT / assignment,
                             assignment, STUDENT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return outcome, items


def late_text(outcome: Outcome, course: Course | None = None) -> str:
    """What the results say of the submission's lateness (empty when on time)."""
    if outcome.seconds_late <= 0:
        return ""
    late = course_policy(course.root) if course is not None else None
    return late_note(outcome.seconds_late, None, outcome.late_penalty,
                     late.describe() if late is not None else "")


def final_score(outcome: Outcome) -> float:
    """The score after the late penalty, floored at 0 (as ``nbgrader export`` gives it)."""
    return max(0.0, outcome.score - outcome.late_penalty)


def gradescope_results(outcome: Outcome, items: list[ItemResult], late: str = "") -> dict:
    """Gradescope's ``results.json``: a total and one test per item the autograder decided.

    The total is after the late penalty (``late``, what :func:`late_text` says, is in the
    submission's ``output``); the tests keep their own scores.

    Pending items (a written answer awaiting grading, an item held for review) are left out
    of ``tests``: Gradescope marks a test passed or failed from its score and maximum, so a
    pending item listed as 0 of 3 reads as a lost item and as 0 of 0 as a passed one; neither
    is true. They are named, with their points, in the submission's ``output`` instead, and
    listed in ``extra_data.pending``; their points belong to a question graded by hand.
    """
    tests, pending = [], []
    for item in items:
        if item.status == "pending":
            pending.append(item)
            continue
        entry = {
            "name": f"{item.notebook}: {item.grade_id}",
            "max_score": item.max_score,
            "score": item.score,
            "visibility": "visible",
        }
        if item.manual:
            entry.update(output="Written answer, graded by the teaching staff.")
        else:
            entry.update(status="passed" if item.status == "passed" else "failed",
                         output=item.message or ("" if item.status == "passed" else "failed"))
        tests.append(entry)
    output = f"Graded: {outcome.status}."
    if late:
        output += f" {late}"
    if outcome.reasons:
        output += " " + " ".join(outcome.reasons)
    if pending:
        listed = "; ".join(f"{item.grade_id} ({item.max_score:g} points, {item.pending_label})"
                           for item in pending)
        output += (f" Not part of this score, for the teaching staff to grade: {listed}.")
    extra = {"status": outcome.status, "max_score": outcome.max_score,
             "score_before_late_penalty": outcome.score,
             "late_penalty": outcome.late_penalty, "seconds_late": outcome.seconds_late,
             "pending": [{"name": f"{item.notebook}: {item.grade_id}",
                          "max_score": item.max_score, "state": item.pending_label}
                         for item in pending]}
    return {"score": final_score(outcome), "output": output, "tests": tests,
            "extra_data": extra}


def markdown_summary(outcome: Outcome, items: list[ItemResult], title: str,
                     late: str = "") -> str:
    """A Markdown table of the items, fit for a CI job summary."""
    icon = {"passed": "✅", "failed": "❌", "partial": "🟡", "pending": "⏳"}
    lines = [f"### {title}: {final_score(outcome):g} / {outcome.max_score:g}", ""]
    if late:
        lines += [f"> {late}", ""]
    if outcome.reasons:
        lines += [f"> {reason}" for reason in outcome.reasons] + [""]
    lines += ["| item | points | result |", "| --- | ---: | --- |"]
    for item in items:
        score = "pending" if item.score is None else f"{item.score:g}"
        why = (item.message or "").replace("|", "\\|").replace("\n", " ")[:300]
        state = item.pending_label or item.status
        lines.append(f"| {item.grade_id} | {score} / {item.max_score:g} | "
                     f"{icon[item.status]} {state}{': ' + why if why else ''} |")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so no half file is ever left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


@click.command("ci")
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--assignment", default=None,
              help="Assignment of the notebook (default: inferred from its file name).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write results.json (default: next to the notebook).")
@click.option("--summary", type=click.Path(path_type=Path), default=None,
              help="Where to write the Markdown summary (default: results.md beside --out; "
                   "also appended to $GITHUB_STEP_SUMMARY when set).")
@click.option("--cell-timeout", type=click.IntRange(min=1), default=None,
              help="Seconds a cell may run (default: nbgrader_config.py).")
@click.option("--submitted", "submitted_at", metavar="TIME", default=None,
              help="When the notebook was submitted (default: timestamp.txt beside it, as "
                   "nbgrader submit writes it); with a due date, the late penalty applies.")
@click.option("--due", metavar="TIME", default=None,
              help="The due date (default: the assignment's in the course's gradebook).")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def ci_command(notebook: Path, assignment: str | None, out: Path | None, summary: Path | None,
               cell_timeout: int | None, submitted_at: str | None, due: str | None,
               course_dir: str | None) -> None:
    """Grade one NOTEBOOK and write Gradescope-style results.json and a Markdown summary.

    TIME is what nbgrader reads: "2025-03-01 17:00:00 Europe/Paris", ISO 8601, or UTC when
    no zone is given. Exit status: 0 graded (whatever the score), 1 could not be graded,
    2 bad arguments.
    """
    try:
        course = Course.find(course_dir)
        assignment = assignment and course.check_assignment(assignment) or \
            infer_assignment(course, notebook)
        when = (_time(submitted_at, "--submitted") if submitted_at is not None
                else submission_time(notebook.resolve()))
        deadline = _time(due, "--due") if due is not None else course_due_date(course,
                                                                                assignment)
        outcome, items = grade_one(course, notebook.resolve(), assignment,
                                   Settings(workers=1, cell_timeout=cell_timeout),
                                   submitted=when, due=deadline)
        late = late_text(outcome, course)
    except CourseError as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(2) from error
    out = out or notebook.resolve().parent / "results.json"
    summary = summary or out.parent / "results.md"
    text = markdown_summary(outcome, items, f"{assignment} ({notebook.name})", late)
    write_atomic(out, json.dumps(gradescope_results(outcome, items, late), indent=2) + "\n")
    write_atomic(summary, text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(text)
    click.echo(text)
    click.echo(f"results: {out}")
    raise SystemExit(EXIT_NOT_GRADED if outcome.status == FAILED else EXIT_GRADED)


def _time(text: str, option: str) -> datetime:
    try:
        return parse_utc(text)
    except (ValueError, OverflowError) as error:
        raise CourseError(f"{option} {text!r} is not a time ({error})") from None
