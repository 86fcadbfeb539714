"""``grader example``: the main job of a fresh clone, end to end.

Releases every assignment, then grades the bundled example class (``examples/submitted``:
synthetic students from excellent to blank, one with a damaged notebook) in a course of its
own, ``examples/course/`` (the course's configuration, policy and sources, released there, with
its own gradebook), writes their feedback, prints the grade table and writes the example's HTML
report. The course's own gradebook, ``feedback/`` and ``reports/`` only ever hold real
students: ``nbgrader release_feedback`` and the report see the real class.
"""

from __future__ import annotations

import click
from rich.console import Console

from grader.course import Course, CourseError
from grader.feedback import generate_feedback
from grader.grade.command import outcome_table
from grader.grade.run import Settings, grade_assignment
from grader.release import release, release_copy

EXAMPLES = "examples/submitted"
EXAMPLE_COURSE = "examples/course"


def example_course(course: Course) -> Course:
    """The example class's own course, ``examples/course/``, up to date with ``course``."""
    return release_copy(course, course.assignments(), course.root / EXAMPLE_COURSE)


@click.command("example")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Notebooks executed at the same time (default: one per CPU core).")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def example_command(workers: int | None, course_dir: str | None) -> None:
    """Release, grade the bundled example class in examples/course/, write its feedback and
    report (the course's own gradebook, feedback/ and reports/ are left to real students)."""
    from grader.report.command import write_report

    console = Console()
    settings = Settings() if workers is None else Settings(workers=workers)
    try:
        course = Course.find(course_dir)
        examples = course.root / EXAMPLES
        for name in release(course):
            console.print(f"released {name} -> {course.release / name}")
        with console.status("releasing into the example class's course"):
            example = example_course(course)
        for name in example.assignments():
            with console.status(f"grading the example class: {name}"):
                outcomes = grade_assignment(example, name, examples, settings)
                generate_feedback(example, name)
            console.print(outcome_table(outcomes, f"{name}: {len(outcomes)} example students"))
        report = write_report(example.root / "reports" / "index.html", "html", example.root)
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    console.print(f"the example class: {example.root} (its own gradebook)")
    console.print(f"feedback: {example.feedback}/<student>/<assignment>/")
    console.print(f"report:   {report}")
