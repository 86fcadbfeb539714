"""Release: generate the student version of each assignment with nbgrader.

``nbgrader generate_assignment`` strips solutions and hidden tests, records every graded cell in
the gradebook (the autograder restores test cells from there) and writes ``release/``. Beside
each released notebook goes ``selfcheck.py`` (:mod:`grader.selfcheck`, the students' runner of
the public tests), so that ``nbgrader release_assignment`` hands it out with the notebook.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import click
from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory

from grader import selfcheck
from grader.course import CONFIG_FILE, Course, CourseError
from grader.gradebook import database_option
from grader.logcapture import Capture
from grader.report.policy import CONFIG_NAME as POLICY_FILE
from grader.shared import share

SELFCHECK = "selfcheck.py"
COPY_NOTE = "A copy of the course: a gradebook of its own, never the course's."


def release_copy(course: Course, assignments: Sequence[str], root: Path) -> Course:
    """A scratch copy of ``course`` at ``root``: its configuration and policy
    (``course.toml``) and the named sources, released there, with a gradebook of its own (the
    course's own is never touched).

    Parameters
    ----------
    course : Course
        The course to copy from.
    assignments : sequence of str
        Assignments to copy and release.
    root : Path
        Directory of the copy (created if missing; a copy there is brought up to date, its
        gradebook kept).

    Returns
    -------
    Course
        The released copy.
    """
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course.root / CONFIG_FILE, root / CONFIG_FILE)
    with (root / CONFIG_FILE).open("a", encoding="utf-8") as config:
        # nbgrader's commands (and grader's) run in the copy use its own gradebook too
        config.write(f"\n# {COPY_NOTE}\nc.CourseDirectory.db_url = \"sqlite:///gradebook.db\"\n")
    if (course.root / POLICY_FILE).is_file():  # the grading policy: its late penalty
        shutil.copy2(course.root / POLICY_FILE, root / POLICY_FILE)
    for name in assignments:  # a copy made before gets today's sources
        shutil.rmtree(root / "source" / name, ignore_errors=True)
        shutil.copytree(course.source / course.check_assignment(name), root / "source" / name)
    copy = Course(root, database="gradebook.db")  # never the course's own gradebook
    release(copy, list(assignments))
    return copy


def release(course: Course, assignments: Sequence[str] = ()) -> list[str]:
    """Generate ``release/<assignment>/`` for the named assignments (default: all).

    Parameters
    ----------
    course : Course
        The course directory.
    assignments : sequence of str
        Assignment names; empty means every assignment in ``source/``.

    Returns
    -------
    list of str
        The assignments released.

    Raises
    ------
    CourseError
        If a name is not an assignment of the course, or nbgrader fails on one.
    """
    names = [course.check_assignment(a) for a in assignments] or course.assignments()
    if not names:
        raise CourseError(f"no assignments to release: {course.source} has no notebooks")
    config = course.config()
    for name in names:
        config.CourseDirectory.assignment_id = name
        coursedir = CourseDirectory(config=config)
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force = True
        app.create_assignment = True
        errors = Capture(logging.ERROR)
        app.log.addHandler(errors)
        try:
            app.start()
        except Exception as error:  # nbgrader raises its own and plain exceptions alike
            detail = "\n".join(errors.messages) or str(error)
            raise CourseError(f"nbgrader could not release {name!r}:\n{detail}") from error
        finally:
            app.log.removeHandler(errors)
        shipped = course.release / name / SELFCHECK
        shutil.copyfile(selfcheck.__file__, shipped)
        share(course.root, course.groupshared, shipped)
    return names


@click.command("release")
@click.argument("assignments", nargs=-1)
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 if release/ is out of date with source/ or "
                   "contains a line of a solution or hidden test.")
@database_option
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def release_command(assignments: tuple[str, ...], check: bool, database: str | None,
                    course_dir: str | None) -> None:
    """Release every assignment, or the named ASSIGNMENTS, into release/."""
    from grader.author.leaks import check_release

    try:
        course = Course.find(course_dir, database)
        if not check:
            for name in release(course, assignments):
                click.echo(f"released {name} -> {course.release / name}")
            return
        names = [course.check_assignment(a) for a in assignments] or course.assignments()
        problems = [p for name in names for p in check_release(course, name)]
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"release/ is up to date and leaks nothing ({', '.join(names)})")
