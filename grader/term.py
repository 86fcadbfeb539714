"""``grader new-term``: start a term from a clean state, keeping every submission.

A term's grading state is its gradebook (students, submissions, scores, due dates),
``autograded/``, ``feedback/`` and ``reports/``. A new term moves them into
``archive/<when>/`` (or, with ``--discard``, deletes them) and releases every assignment into a
fresh gradebook, ready for ``nbgrader db assignment add --duedate``, ``collect`` and ``grader
grade``. ``source/``, ``release/``, ``submitted/`` and nbgrader's exchange are never touched:
submissions already collected are graded again into the new gradebook by the next ``grader
grade``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click

from grader.course import Course, CourseError
from grader.gradebook import database_option, shown
from grader.release import release
from grader.shared import share

ARCHIVE = "archive"
GRADING_FOLDERS = ("autograded", "feedback", "reports")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class NewTerm:
    """What starting a term did: the files moved (or deleted), where to, the assignments
    released into the fresh gradebook."""

    moved: list[Path] = field(default_factory=list)
    archive: Path | None = None
    released: list[str] = field(default_factory=list)


def grading_state(course: Course) -> list[Path]:
    """The files and folders of the term's grading, as they exist now."""
    assert course.db_path is not None
    found = [course.db_path.with_name(course.db_path.name + suffix)
             for suffix in ("", *SQLITE_SIDE_FILES)]
    for name in GRADING_FOLDERS:
        folder = course.root / name
        # autograded/ itself belongs to the repository (its .gitkeep); what is in it does not
        found += ([p for p in folder.iterdir() if p.name != ".gitkeep"]
                  if name == "autograded" and folder.is_dir() else [folder])
    return [path for path in found if path.exists()]


def new_term(course: Course, discard: bool = False, name: str | None = None) -> NewTerm:
    """Move (or delete) the grading state of ``course`` and release into a fresh gradebook.

    Parameters
    ----------
    course : Course
        The course directory.
    discard : bool
        Delete the old state instead of archiving it.
    name : str, optional
        The archive's folder name (default: the current UTC time).

    Raises
    ------
    CourseError
        For a gradebook on a database server (nothing is moved then), or an archive that
        exists already.
    """
    if course.db_path is None:
        raise CourseError(
            f"the gradebook is on a database server ({shown(course.db_url)}): create a new "
            "database for the term and set c.CourseDirectory.db_url (or --db) to it; nothing "
            "was moved")
    done = NewTerm()
    state = grading_state(course)
    if state and not discard:
        stamp = name or datetime.now(UTC).strftime("%Y-%m-%d-%H%M%S")
        if not stamp or "/" in stamp or stamp in (".", ".."):
            raise CourseError(f"--name {stamp!r} is not a folder name")
        done.archive = course.root / ARCHIVE / stamp
        if done.archive.exists():
            raise CourseError(f"{done.archive} exists already; nothing was moved")
        done.archive.mkdir(parents=True)
    for path in state:
        if discard:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            assert done.archive is not None
            # a gradebook kept outside the course directory is archived by its name
            inside = path.relative_to(course.root) if path.is_relative_to(course.root) \
                else Path(path.name)
            target = done.archive / inside
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
        done.moved.append(path)
    if done.archive is not None:
        share(course.root, course.groupshared, done.archive)
    done.released = release(course)
    return done


@click.command("new-term")
@click.option("--discard", is_flag=True,
              help="Delete the old gradebook, autograded/, feedback/ and reports/ instead of "
                   "moving them into archive/.")
@click.option("--name", default=None, help="The archive's folder (default: the UTC time).")
@database_option
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def new_term_command(discard: bool, name: str | None, database: str | None,
                     course_dir: str | None) -> None:
    """Start a term: a fresh gradebook and no grades, feedback or reports; submissions kept.

    The old gradebook, autograded/, feedback/ and reports/ go into archive/<UTC time>/ (or
    are deleted with --discard); source/, release/ and submitted/ stay as they are, and every
    assignment is released into the new gradebook. Stop formgrader first.
    """
    try:
        course = Course.find(course_dir, database)
        done = new_term(course, discard, name)
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    verb = "deleted" if discard else f"moved to {done.archive}"
    for path in done.moved:
        inside = path.is_relative_to(course.root)
        click.echo(f"{verb}: {path.relative_to(course.root) if inside else path}")
    if not done.moved:
        click.echo("no grading state to clear")
    submitted = sorted(course.submitted.glob("*/*")) if course.submitted.is_dir() else []
    click.echo(f"kept submitted/ ({len(submitted)} submissions), source/ and release/")
    click.echo(f"released into a fresh gradebook: {', '.join(done.released)}")
    click.echo("next: nbgrader db assignment add NAME --duedate 'YYYY-MM-DD HH:MM ZONE' "
               "for each assignment, nbgrader db student import ROSTER.csv")
