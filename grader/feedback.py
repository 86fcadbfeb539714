"""Feedback: one HTML page per student and notebook, safe to hand back.

nbgrader's ``generate_feedback`` renders the autograded notebook as it is, and that shows the
hidden tests to the student (nbgrader issue 1363). Here two preprocessors run first: every test
cell gets back the source the student was given in ``release/``, and every error keeps its
name and message but loses its traceback (IPython quotes the failing cell's source in it). Then
nbgrader's own steps add the score of each item and the page's style.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import click
import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode

from grader.course import Course, CourseError
from grader.grade.record import RECORD_FILE
from grader.gradebook import database_option
from grader.logcapture import Capture


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
    """Keep an error's name and message; drop the traceback that quotes test sources."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                name, text = output.get("ename", "Error"), output.get("evalue", "")
                output["traceback"] = [f"{name}: {text}"]
        return cell, resources


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
    config.GenerateFeedback.preprocessors = [
        ShowReleasedTests, ShortErrors, GetGrades, CSSHTMLHeaderPreprocessor
    ]
    config.GenerateFeedback.force = True
    written = []
    for student in wanted:
        if not any((course.autograded / student / assignment).glob("*.ipynb")):
            written.append(_ungraded_page(course, assignment, student))
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
        written += sorted((course.feedback / student / assignment).glob("*.html"))
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
