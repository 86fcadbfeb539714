"""``grader similarity``: which students share their answer code.

    grader similarity cross_entropy                   most similar pairs, flagged ones marked
    grader similarity cross_entropy --format json     every pair sharing code, for other tools
    grader similarity svm_hinge --past ../2024/submitted --format html --out shared.html

Reads the notebooks only (no kernel, no gradebook). A flag never changes a score.
"""

from __future__ import annotations

from pathlib import Path

import click

from grader.course import Course, CourseError
from grader.shared import share
from grader.similarity.collect import similarity
from grader.similarity.export import csv_text, json_text, table_text
from grader.similarity.score import Settings

FORMATS = ("table", "csv", "json", "html")
DEFAULTS = Settings()


def render(result, fmt: str, top: int | None) -> str:
    """The pairs in one of :data:`FORMATS`."""
    if fmt == "json":
        return json_text(result, top)
    if fmt == "csv":
        return csv_text(result, top)
    if fmt == "html":
        from grader.report.similarity import similarity_page
        return similarity_page(result)
    return table_text(result, 20 if top is None else top)


@click.command("similarity")
@click.argument("assignment")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: the most similar pairs; csv/json: every pair sharing answer code "
                   "(a, b, score, flagged, per-function scores); html: a page with the "
                   "matching passages side by side.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--past", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="An earlier term's submissions (DIR/<student>/<assignment>/*.ipynb) to "
                   "compare with; repeat for several terms.")
@click.option("--submissions", type=click.Path(path_type=Path),
              help="DIR/<student>/<assignment>/*.ipynb or an LMS zip (default: submitted/, "
                   "else the graded copies in autograded/).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=DEFAULTS.threshold,
              show_default=True, help="Flag pairs whose score is at least this.")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="List only the N most similar pairs (table: 20 by default, plus every "
                   "flagged pair).")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def similarity_command(assignment: str, fmt: str, out: Path | None, past: tuple[Path, ...],
                       submissions: Path | None, threshold: float, top: int | None,
                       course_dir: str | None) -> None:
    """Rank pairs of students by how much of their answer code they share.

    Only answer cells count, and in them only what the student wrote: the released notebook
    (def lines, docstrings, stubs) is left out, and so are passages most of the class shares.
    Identifiers, comments and layout do not matter. A flag is evidence for a person to weigh,
    never a verdict: it changes no score.
    """
    try:
        course = Course.find(course_dir)
        result = similarity(course, assignment, submissions, past,
                            Settings(threshold=threshold))
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    text = render(result, fmt, top)
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    share(course.root, course.groupshared, out)
    click.echo(f"similarity of {assignment} written to {out}")
