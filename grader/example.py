"""``grader example``: the main job of a fresh clone, end to end.

Releases every assignment, grades the bundled example class (``examples/submitted``: synthetic
students from excellent to blank, one with a damaged notebook), writes their feedback, prints
the grade table and writes the instructor's HTML report.
"""

from __future__ import annotations

import click
from rich.console import Console

from grader.course import Course, CourseError
from grader.feedback import generate_feedback
from grader.grade.command import outcome_table
from grader.grade.run import Settings, grade_assignment
from grader.release import release

EXAMPLES = "examples/submitted"


@click.command("example")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Notebooks executed at the same time (default: one per CPU core).")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def example_command(workers: int | None, course_dir: str | None) -> None:
    """Release, grade the bundled example class, write feedback and the report."""
    from grader.report.command import write_report

    console = Console()
    settings = Settings() if workers is None else Settings(workers=workers)
    try:
        course = Course.find(course_dir)
        examples = course.root / EXAMPLES
        for name in release(course):
            console.print(f"released {name} -> {course.release / name}")
        for name in course.assignments():
            with console.status(f"grading the example class: {name}"):
                outcomes = grade_assignment(course, name, examples, settings)
                generate_feedback(course, name)
            console.print(outcome_table(outcomes, f"{name}: {len(outcomes)} example students"))
        report = write_report(course.root / "reports" / "index.html", "html", course.root)
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    console.print(f"feedback: {course.feedback}/<student>/<assignment>/")
    console.print(f"report:   {report}")
