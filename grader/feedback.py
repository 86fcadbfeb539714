"""Feedback: one HTML page per student and notebook, safe to hand back.

nbgrader's ``generate_feedback`` renders the autograded notebook as it is, and that shows the
hidden tests to the student (nbgrader issue 1363). Here two preprocessors run first: every test
cell gets back the source the student was given in ``release/``, and every error keeps its
name and message but loses its traceback (IPython quotes the failing cell's source in it). Then
nbgrader's own steps add the score of each item and the page's style; an item nobody has graded
yet says "awaiting grading" or "held for review" rather than 0 (:mod:`grader.feedback_template`),
and MathJax is written into the page (:mod:`grader.mathjax`), so formulas render offline.
The folder holds the pages and nothing of the grader's own (no ``.grading.json``).
"""

from __future__ import annotations

import html
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import click
import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode

from grader.course import Course, CourseError
from grader.feedback_template import FEEDBACK_TEMPLATE, TEMPLATE_NAME
from grader.grade.record import RECORD_FILE
from grader.grade.results import AWAITING, HELD_FOR_REVIEW, error_text
from grader.grade.verdict import HELD
from grader.gradebook import database_option
from grader.late import late_note
from grader.logcapture import Capture
from grader.mathjax import inline_mathjax
from grader.report.policy import load_policy
from grader.shared import share

HELD_NOTE = ("Held for review: the tests could not decide this item, so a member of the "
             "teaching staff grades it.\n")


class ShowReleasedTests(NbGraderPreprocessor):
    """Replace each locked cell's source with the version in ``release/``."""

    release_directory = Unicode("", help="The course's release directory.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        path = Path(self.release_directory, info["assignment"], f"{info['notebook']}.ipynb")
        released = nbformat.read(path, as_version=4)
        self._released = {
            c.metadata["nbgrader"]["grade_id"]: c.source
            for c in released.cells
            if c.metadata.get("nbgrader", {}).get("locked")
        }
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            cell.source = self._released.get(meta.get("grade_id"), "# (test cell)")
        return cell, resources


class ShortErrors(NbGraderPreprocessor):
    """Keep an error's name and message; drop the traceback that quotes test sources.

    An item held for review shows that it was, never why: the reason is written for the
    person who decides, and an unconfirmed suspicion is not a verdict to hand a student.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == HELD:
                output = nbformat.v4.new_output("stream", name="stdout", text=HELD_NOTE)
            elif output.get("output_type") == "error":
                output["traceback"] = [error_text(output)]
            outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs
        return cell, resources


class PendingGrades(GetGrades):
    """nbgrader's ``GetGrades``, telling pending items apart from items that scored 0, and
    saying how late the submission was.

    nbgrader's ``Grade.score`` reads 0 for an item no person has graded yet. Here such an
    item gets ``pending`` in its metadata — "awaiting grading" (a written answer) or "held
    for review" (a tested item its hidden test could not decide) — and the notebook's
    resources get the points still pending, so the page says so instead of "0 / 3". The
    late penalty is the gradebook's (nbgrader's), with the lateness it follows from and the
    course's rule (``late_rule``); the score after it is never below 0.
    """

    late_rule = Unicode("", help="The course's late policy, in words.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        resources["nbgrader"]["pending"] = 0.0
        nb, resources = super().preprocess(nb, resources)
        info = resources["nbgrader"]
        info["score"] = max(0.0, info["score"])  # as nbgrader export floors it
        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission(self.assignment_id, self.student_id)
            info["late"] = late_note(submission.total_seconds_late, submission.duedate,
                                     info["late_penalty"], self.late_rule)
        return nb, resources

    def _get_score(self, cell: NotebookNode, resources: dict) -> None:
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"],
                                          self.notebook_id, self.assignment_id, self.student_id)
        cell.metadata.nbgrader["score"] = grade.score
        cell.metadata.nbgrader["points"] = grade.max_score
        if grade.manual_score is None and grade.auto_score is None:
            # an answer (or task) graded by hand awaits its grader; a test cell was held
            by_hand = utils.is_solution(cell) or utils.is_task(cell)
            cell.metadata.nbgrader["pending"] = AWAITING if by_hand else HELD_FOR_REVIEW
            resources["nbgrader"]["pending"] += grade.max_score


def generate_feedback(course: Course, assignment: str,
                      students: Sequence[str] = ()) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for graded submissions.

    Parameters
    ----------
    course : Course
        The course directory.
    assignment : str
        The assignment.
    students : sequence of str
        Restrict to these students (default: every autograded submission).

    Returns
    -------
    list of Path
        The pages written.
    """
    course.check_assignment(assignment)
    graded = sorted(p.parent.name for p in course.autograded.glob(f"*/{assignment}"))
    wanted = list(students) or graded
    missing = sorted(set(wanted) - set(graded))
    if missing:
        raise CourseError(f"no graded submission of {assignment!r} for: {', '.join(missing)}")
    if not wanted:
        raise CourseError(f"nothing graded yet for {assignment!r}: run `grader grade` first")
    config = course.config()
    config.ShowReleasedTests.release_directory = str(course.release)
    late = load_policy(course_dir=course.root).late
    config.PendingGrades.late_rule = late.describe() if late is not None else ""
    config.GenerateFeedback.preprocessors = [
        ShowReleasedTests, ShortErrors, PendingGrades, CSSHTMLHeaderPreprocessor
    ]
    config.GenerateFeedback.force = True
    # The page and nothing else: the grading record (internal repairs, suspicion flags, stale
    # after manual grading) stays with the course staff.
    config.CourseDirectory.ignore = [*CourseDirectory().ignore, RECORD_FILE]
    written = []
    with tempfile.TemporaryDirectory(prefix="grader-feedback-") as templates:
        # nbconvert takes a template by file name; this one ships as text in this module
        template = Path(templates, TEMPLATE_NAME)
        template.write_text(FEEDBACK_TEMPLATE, encoding="utf-8")
        config.HTMLExporter.template_file = str(template)
        for student in wanted:
            if not any((course.autograded / student / assignment).glob("*.ipynb")):
                written.append(_ungraded_page(course, assignment, student))
                share(course.root, course.groupshared, course.feedback / student / assignment)
                continue
            config.CourseDirectory.assignment_id = assignment
            config.CourseDirectory.student_id = student
            app = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
            errors = Capture(logging.ERROR)
            app.log.addHandler(errors)
            app.log.setLevel(logging.ERROR)
            try:
                app.start()
            except Exception as error:
                detail = "\n".join(errors.messages) or str(error)
                raise CourseError(f"feedback for {student} failed:\n{detail}") from error
            for page in sorted((course.feedback / student / assignment).glob("*.html")):
                page.write_text(inline_mathjax(page.read_text(encoding="utf-8")),
                                encoding="utf-8")
                written.append(page)
            share(course.root, course.groupshared, course.feedback / student / assignment)
    return written


def _ungraded_page(course: Course, assignment: str, student: str) -> Path:
    """A short page saying why a submission has no executed notebook to show."""
    record = course.autograded / student / assignment / RECORD_FILE
    reasons = json.loads(record.read_text()).get("reasons", []) if record.exists() else []
    items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons) or "<li>unknown</li>"
    page = course.feedback / student / assignment / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}"
        f"</title></head><body><h1>{html.escape(assignment)}: not graded</h1>"
        f"<p>Your submission could not be graded:</p><ul>{items}</ul>"
        "<p>Please check the file and submit it again, or contact the teaching staff.</p>"
        "</body></html>\n",
        encoding="utf-8",
    )
    return page


@click.command("feedback")
@click.argument("assignment")
@click.option("--student", "students", multiple=True,
              help="Only this student (repeatable; default: every graded submission).")
@database_option
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def feedback_command(assignment: str, students: tuple[str, ...], database: str | None,
                     course_dir: str | None) -> None:
    """Write per-student HTML feedback for ASSIGNMENT into feedback/."""
    try:
        course = Course.find(course_dir, database)
        pages = generate_feedback(course, assignment, students)
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    for page in pages:
        click.echo(f"wrote {page}")
