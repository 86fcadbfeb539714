"""``grader report``: the gradebook as tables, exports or an HTML page.

    grader report                               readable tables of every assignment
    grader report cross_entropy --format csv    one row per student, every item
    grader report --format html --out reports/index.html
    grader report --format canvas --out canvas.csv

Weights and letter cut-offs come from ``course.toml`` in the course directory (see
:mod:`grader.report.policy`); the late penalty is the gradebook's, which grading writes from
the same file (:mod:`grader.late`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from grader.course import Course, CourseError
from grader.gradebook import database_option
from grader.report.build import Report, build_report
from grader.report.policy import load_policy
from grader.shared import share

FORMATS = ("table", "csv", "json", "html", "canvas", "nbgrader")


def render(report: Report, fmt: str, width: int | None = None) -> str:
    """The report in one of :data:`FORMATS`.

    Parameters
    ----------
    report : Report
        The report.
    fmt : str
        ``table`` (terminal tables), ``csv`` (one row per student, every item),
        ``json``, ``html`` (self-contained page), ``canvas`` (Canvas gradebook import) or
        ``nbgrader`` (the CSV of ``nbgrader export``).
    width : int, optional
        Line width of the ``table`` format.

    Returns
    -------
    str
    """
    # Imported here so that a CSV export does not pay for matplotlib.
    if fmt == "table":
        from grader.report.console import table_text
        return table_text(report, width=width)
    if fmt == "html":
        from grader.report.html import html_page
        return html_page(report)
    from grader.report import exports
    writers = {"csv": exports.student_csv, "json": exports.json_text,
               "canvas": exports.canvas_csv, "nbgrader": exports.nbgrader_csv}
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return writers[fmt](report)


def write_report(out: str | Path, fmt: str = "html", course_dir: str | Path = ".",
                 assignments: Sequence[str] | None = None) -> Path:
    """Build the report of a course directory and write it to a file.

    Parameters
    ----------
    out : str or Path
        Destination file; missing parent folders are created.
    fmt : str
        One of :data:`FORMATS`.
    course_dir : str or Path
        The course directory.
    assignments : sequence of str, optional
        Assignments to include (all by default).

    Returns
    -------
    Path
        The file written.
    """
    report = build_report(course_dir, assignments, similarity=fmt == "html")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report, fmt), encoding="utf-8")
    course = Course(Path(course_dir))
    share(course.root, course.groupshared, out)
    return out


@click.command("report")
@click.argument("assignments", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: readable tables; csv: one row per student with every item; "
                   "json: every table; html: self-contained page; canvas: Canvas gradebook "
                   "import; nbgrader: the CSV of `nbgrader export`.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
@database_option
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                          path_type=Path),
              help="Grading policy (default: the course's course.toml, if present).")
def report_command(assignments: tuple[str, ...], fmt: str, out: Path | None,
                   course_dir: str | None, database: str | None,
                   config_path: Path | None) -> None:
    """Report grades per student, per item and flagged submissions.

    ASSIGNMENTS limits the report to these assignments (default: all in the gradebook).
    Weights and letter cut-offs come from course.toml in the course directory; the late
    penalty is the gradebook's (grader grade writes course.toml's), and a penalty the policy
    does not give is flagged.
    """
    try:
        course = Course.find(course_dir, database)
        policy = load_policy(config_path, course_dir=course.root)
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read the course policy: {error}") from error
    try:
        report = build_report(course.root, list(assignments) or None, policy=policy,
                              db_path=course.db_url, similarity=fmt == "html")
    except KeyError as error:
        raise click.BadParameter(str(error.args[0]), param_hint="ASSIGNMENTS") from error
    except OSError as error:
        raise click.ClickException(str(error)) from error
    text = render(report, fmt, width=None if out else _terminal_width())
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    share(course.root, course.groupshared, out)
    click.echo(f"report written to {out}")


def _terminal_width() -> int | None:
    # Pipes get a wide fixed layout; a terminal gets its own width.
    if sys.stdout.isatty():
        import shutil
        return shutil.get_terminal_size().columns
    return None
