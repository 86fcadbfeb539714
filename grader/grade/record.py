"""The single writer: scores into nbgrader's gradebook, files into ``autograded/``.

Everything that writes runs in the grading process, one submission at a time: the rows
nbgrader's own ``SaveAutoGrades`` writes (:mod:`grader.grade.rows`, from the scores the worker
computed with nbgrader's rules) and its ``AssignLatePenalties`` (the course's late penalty,
:mod:`grader.late`), so that formgrader and ``nbgrader export`` see exactly what ``nbgrader
autograde`` would have written. Re-grading
updates the same rows (one set of scores per student) and keeps manual grades.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import nbformat
from nbformat import NotebookNode
from nbgrader.api import (
    Assignment,
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.utils import parse_utc
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    event,
    select,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from traitlets.config import Config

from grader.course import Course, CourseError
from grader.grade import leftovers
from grader.grade.changes import Change, apply
from grader.grade.discover import Submission
from grader.grade.rows import AssignmentRows, Scores
from grader.gradebook import is_server, shown
from grader.late import AssignCoursePenalties, penalty_config
from grader.shared import folder_mode, share

RECORD_FILE = ".grading.json"
GRADED, PARTIAL, FAILED = "graded", "partial", "failed"
T = TypeVar("T")

# Which submission was graded from which files, code and assignment (see
# grader.grade.fingerprint): a table of this project's beside nbgrader's, in the gradebook, so
# that it is exactly as durable as the scores it vouches for. nbgrader ignores it.
GRADED_TABLE = Table(
    "grader_graded", MetaData(),
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("graded_at", DateTime, nullable=False),
)


# nbgrader declares no index on the columns that lead from a submission to its grades, so each
# lookup scans whole tables once a class is large; these make the writer's and formgrader's
# lookups index scans. Adding an index changes no row and nothing nbgrader reads.
INDEXES = [Index("grader_grade_notebook", Grade.__table__.c.notebook_id),
           Index("grader_comment_notebook", Comment.__table__.c.notebook_id),
           Index("grader_submitted_notebook_assignment",
                 SubmittedNotebook.__table__.c.assignment_id)]


class GradebookUnreachable(CourseError):
    """The gradebook stayed unreachable longer than the run waits for it."""


@dataclass
class Outcome:
    """What happened to one submission: written next to its autograded notebooks."""

    student: str
    assignment: str
    status: str = GRADED
    score: float = 0.0
    max_score: float = 0.0
    pending: float = 0.0
    late_penalty: float = 0.0  # what the gradebook holds: the score counts minus this
    seconds_late: float = 0.0  # after the due date and the student's extension (nbgrader's)
    reasons: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # faults met while running, restarts
    suspicious: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # "notebook:item": why a person decides
    seconds: float = 0.0
    timing: dict[str, dict[str, float]] = field(default_factory=dict)
    sandbox: str = ""
    containment: str = ""  # who owns the processes its kernels started (supervisor's words)
    graded_at: str = ""
    fingerprint: str = ""
    # in memory only: the grade of an earlier run, reused because nothing it depends on changed
    unchanged: bool = field(default=False, compare=False)

    def record(self) -> dict:
        """What ``.grading.json`` holds."""
        record = asdict(self)
        del record["unchanged"]
        return record

    @classmethod
    def read(cls, path: Path) -> Outcome | None:
        """The outcome recorded in ``path`` (a ``.grading.json``), or None if unreadable."""
        try:
            record = json.loads(path.read_text())
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in record.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None

    def degrade(self, status: str, reason: str) -> None:
        """Record ``reason`` and lower the status to ``status`` (failed beats partial)."""
        self.reasons.append(reason)
        order = (GRADED, PARTIAL, FAILED)
        if order.index(status) > order.index(self.status):
            self.status = status


def open_gradebook(url: str) -> Gradebook:
    """nbgrader's gradebook at ``url``; a :class:`CourseError` naming it if it cannot be opened.
    """
    try:
        return Gradebook(url)
    except DBAPIError as error:
        raise CourseError(f"cannot open the gradebook {shown(url)}: "
                          f"{_first_line(error)}") from None


def notebook_names(course: Course, assignment: str) -> list[str]:
    """Notebook names of ``assignment`` as the gradebook knows them (set by ``release``)."""
    with open_gradebook(course.db_url) as gb:
        try:
            return [nb.name for nb in gb.find_assignment(assignment).notebooks]
        except MissingEntry:
            raise CourseError(
                f"assignment {assignment!r} is not in the gradebook; run `grader release` first"
            ) from None


def unreadable_stand_in(course: Course, assignment: str, notebook: str,
                        reason: str) -> NotebookNode | None:
    """The released notebook under a note saying why the submitted one was not graded.

    formgrader lists and opens only submissions that have a notebook in ``autograded/``:
    without one, an unreadable submission reads "0 / 36" there and never says why. The note
    is all that is added; the scores stay the zeros the gradebook holds.
    """
    released = course.release / assignment / f"{notebook}.ipynb"
    if not released.is_file():
        return None
    nb = nbformat.read(released, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"**Not graded: the submitted notebook could not be read.** {reason}\n\n"
        "Below is the notebook as it was handed out, not the submitted work; every item "
        "scored 0. A readable copy, submitted again, is graded as usual."))
    nb.metadata["grader"] = {"unreadable": reason}
    return nb


def _fast_commits(connection: object, record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _fast_server_commits(connection: object, record: object) -> None:
    # PostgreSQL's asynchronous commit: the server writes its log a moment later (never out of
    # order, never half a transaction); only a crash of the server itself could lose the last
    # notebooks' grades, and the next run grades them again. This session only.
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("SET synchronous_commit TO off")
    cursor.close()
    connection.commit()  # type: ignore[attr-defined]


class Recorder:
    """Writes the results of one assignment's grading run; use it as a context manager.

    One gradebook connection serves the whole run, so SQLAlchemy compiles the writer's
    statements once rather than once per submission.

    Parameters
    ----------
    course : Course
        The course directory.
    assignment : str
        The assignment being graded.
    config : Config
        The course's nbgrader configuration.
    """

    def __init__(self, course: Course, assignment: str, config: Config,
                 patience: float | None = None) -> None:
        self.course = course
        self.assignment = assignment
        self.config = config
        self.server = is_server(course.db_url)
        wait = patience if patience is not None else config.Grading.get("db_patience", 300)
        self.patience = float(wait)
        self.gradebook = open_gradebook(course.db_url)
        if course.db_path is not None:  # SQLite gives its -wal and -shm files the same modes
            share(course.root, course.groupshared, course.db_path)
        # Readers (formgrader, reports) go on while this one writer writes, and a commit need
        # not wait for the disk: a crash of this process loses nothing committed, only a
        # crash of the machine (or of the database server) could lose the last notebooks,
        # graded again next run (see grader.grade.fingerprint).
        event.listen(self.gradebook.engine, "connect",
                     _fast_server_commits if self.server else _fast_commits)
        self.gradebook.engine.dispose()  # connections made before the listener get it too
        GRADED_TABLE.create(self.gradebook.engine, checkfirst=True)
        for index in INDEXES:
            index.create(self.gradebook.engine, checkfirst=True)
        # fingerprints of complete submissions, written with the next transaction (a commit
        # less per submission); a crash before it only means grading those again
        self._marks: list[dict] = []
        self.rows = self._write(lambda gb: AssignmentRows(gb.db, assignment))
        # while a submission is graded: its timestamp, then its totals after each notebook
        self._timestamps: dict[str, datetime | None] = {}
        self._totals: dict[str, tuple[float, float, float]] = {}
        # the late penalty: nbgrader's step, run for the submissions that can be late
        self.penalties = penalty_config(config, course.root)
        self.extensions = (self._write(lambda gb: self.rows.extensions(gb.db))
                           if self.penalties is not None else {})
        self._regraded = set(self.rows.submitted)  # may hold a penalty of an earlier grade
        self._penalised: set[str] = set()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._marks:  # the last completed submissions' marks
                if exc_info[0] is not None:
                    self.patience = 0.0  # one try: the run is already failing
                self._write(lambda gb: None)
        except DBAPIError:  # unmarked, they are graded again next run
            pass
        finally:
            self.gradebook.close()

    def _mark_change(self) -> Change:
        # the last mark of each student only: one statement cannot set a row twice
        # (PostgreSQL refuses an upsert that would)
        last = {(mark["assignment"], mark["student"]): mark for mark in self._marks}
        return Change(GRADED_TABLE, list(last.values()), key=("assignment", "student"),
                      existing="update")

    def _mark(self, student: str, fingerprint: str) -> None:
        self._marks.append({"assignment": self.assignment, "student": student,
                            "fingerprint": fingerprint,
                            "graded_at": datetime.now(UTC).replace(tzinfo=None)})

    def _write(self, unit: Callable[[Gradebook], T]) -> T:
        """Run ``unit`` on the run's gradebook in one transaction, committed after it, with
        the marks of submissions completed since the last one.

        A unit is all or nothing: on any error it is rolled back. When the database cannot be
        reached (a server restarting, a SQLite file locked by another writer), the unit is
        tried again, waiting longer each time, for up to ``patience`` seconds; then the run
        stops with :class:`GradebookUnreachable` and nothing half-written. Ending every unit
        also ends its read transaction, so SQLite's write-ahead log can be checkpointed while
        the run goes on.
        """
        waited, pause = 0.0, 0.5
        while True:
            try:
                if self._marks:
                    apply(self.gradebook.db, [self._mark_change()])
                result = unit(self.gradebook)
                self.gradebook.db.commit()
                self._marks.clear()
                return result
            except (OperationalError, InterfaceError) as error:
                _rollback(self.gradebook)
                if not (self.server or "locked" in str(error)) or waited >= self.patience:
                    if waited:
                        raise GradebookUnreachable(
                            f"the gradebook {shown(self.course.db_url)} was unreachable for "
                            f"{waited:.0f} s ({_first_line(error)}); grading stopped. "
                            "Submissions recorded so far are kept: run the command again to "
                            "grade the rest.") from None
                    raise
            except BaseException:
                _rollback(self.gradebook)
                raise
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, 10.0)

    def resources(self, submission: Submission, notebook: str, db_url: str | None = None) -> dict:
        """The nbgrader resources describing ``notebook`` of ``submission``.

        ``db_url`` names another gradebook to read the assignment's cells from (the workers'
        copy, see :mod:`grader.grade.snapshot`); the course's by default.
        """
        return {
            "nbgrader": {
                "notebook": notebook,
                "assignment": self.assignment,
                "student": submission.student,
                "db_url": db_url or self.course.db_url,
            }
        }

    def open(self, submission: Submission, fingerprint: str = "") -> Outcome:
        """Start recording ``submission``: its student and submission rows (with its
        timestamp) are created or updated with its first notebook's scores, and its earlier
        completion mark is cleared in that same transaction (see :meth:`reusable`)."""
        timestamp = None
        stamp_file = submission.directory / "timestamp.txt"
        if stamp_file.is_file() and stamp_file.read_text().strip():
            try:
                timestamp = parse_utc(stamp_file.read_text().strip())
            except ValueError:
                pass

        self._timestamps[submission.student] = timestamp  # written with its first notebook
        # The earlier grade's mark goes no later than the first new scores (the same
        # transaction): a run killed after them must not leave it vouching for a gradebook
        # that no longer holds that grade.
        self._mark(submission.student, "")
        return Outcome(submission.student, self.assignment, fingerprint=fingerprint)

    def save(self, submission: Submission, notebook: str, scored: Scores | None,
             held: Collection[str] = ()) -> None:
        """Record one executed notebook's scores (:func:`grader.grade.rows.scores`, computed
        by the worker that ran it); ``None`` scores every autograded cell 0.

        Items named in ``held`` are left pending, for a person to grade.

        The scores are nbgrader's own (``utils.determine_grade``) and are written the way its
        ``SaveAutoGrades`` writes them, but in one transaction per notebook rather than one
        query and commit per cell, in a statement or two (:mod:`grader.grade.rows`): this
        process is the only writer, and that made it the bottleneck of a parallel run. Saving
        the same notebook twice writes the same rows.
        """
        student = submission.student
        self._totals[student] = self._write(lambda gb: self.rows.record(
            gb.db, student, self._timestamps[student], notebook, scored, held))
        if self.penalties is not None and (self._may_be_late(student)
                                           or student in self._regraded):
            # nbgrader's step reads the gradebook, not the notebook's cells (so a notebook
            # scored 0 unread gets its share too); through _write, it waits for a database
            # that is restarting as the scores did
            self._write(lambda gb: AssignCoursePenalties(config=self.penalties)(
                nbformat.v4.new_notebook(), self.resources(submission, notebook)))
            self._penalised.add(student)

    def _may_be_late(self, student: str) -> bool:
        """Whether the submission's timestamp is past the due date (an extension only moves
        the due date later): nbgrader's step, which opens the gradebook again, is needed."""
        timestamp, due = self._timestamps[student], self.rows.duedate
        return timestamp is not None and due is not None and timestamp > due

    def close(self, submission: Submission, outcome: Outcome,
              executed: dict[str, str]) -> Outcome:
        """Total the scores, replace ``autograded/<student>/<assignment>/`` in one move, then
        record the submission's fingerprint (with the next transaction): only then is it
        complete (see :meth:`reusable`).

        ``executed`` holds each notebook's JSON text, as a worker wrote it.
        """
        del self._timestamps[submission.student]
        # as the submission's last notebook left them
        outcome.score, outcome.max_score, outcome.pending = self._totals.pop(submission.student)
        if submission.student in self._penalised:
            self._penalised.discard(submission.student)
            outcome.late_penalty, outcome.seconds_late = self._write(lambda gb: (
                self.rows.late_penalty(gb.db, submission.student),
                gb.find_submission(self.assignment, submission.student).total_seconds_late))
        outcome.graded_at = datetime.now(UTC).isoformat(timespec="seconds")
        final = self.course.autograded / submission.student / self.assignment
        final.parent.mkdir(parents=True, exist_ok=True)
        share(self.course.root, self.course.groupshared, final.parent)
        for stale in _staging_folders(final.parent, self.assignment):  # left by a killed run
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.assignment}-{leftovers.owner()}-",
                                        dir=final.parent))
        staging.chmod(folder_mode())  # a folder as any other, not a temporary one's 0700
        previous = staging.with_name(staging.name + ".old")
        try:
            for item in submission.directory.iterdir():
                if item.is_file() and item.suffix != ".ipynb":
                    shutil.copy2(item, staging / item.name)
            for name, text in executed.items():
                (staging / f"{name}.ipynb").write_text(text, encoding="utf-8")
            (staging / RECORD_FILE).write_text(json.dumps(outcome.record(), indent=2))
            share(self.course.root, self.course.groupshared, staging)
            if final.exists():  # moved aside rather than deleted first: two renames apart
                final.rename(previous)
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(previous, ignore_errors=True)
        if outcome.fingerprint:
            self._mark(submission.student, outcome.fingerprint)
        return outcome

    def graded(self) -> dict[str, str]:
        """Fingerprint of every student of the assignment whose grade is complete."""
        def unit(gb: Gradebook) -> dict[str, str]:
            rows = gb.db.execute(select(GRADED_TABLE.c.student, GRADED_TABLE.c.fingerprint)
                                 .where(GRADED_TABLE.c.assignment == self.assignment))
            fingerprints = dict(rows.all())
            submitted = {row[0] for row in gb.db.query(SubmittedAssignment.student_id)
                         .join(Assignment).filter(Assignment.name == self.assignment)}
            return {k: v for k, v in fingerprints.items() if k in submitted}

        return self._write(unit)

    def reusable(self, submission: Submission, fingerprint: str,
                 graded: dict[str, str]) -> Outcome | None:
        """The earlier outcome of ``submission`` when nothing it depends on has changed.

        Complete means: its scores are in the gradebook under the same fingerprint (``graded``,
        from :meth:`graded`), and ``autograded/`` holds the files of that same grading.
        """
        if not fingerprint or graded.get(submission.student) != fingerprint:
            return None
        folder = self.course.autograded / submission.student / self.assignment
        previous = Outcome.read(folder / RECORD_FILE)
        if previous is None or previous.fingerprint != fingerprint:
            return None
        previous.unchanged = True
        return previous


    def sweep(self) -> list[Path]:
        """Remove the staging folders that runs killed while writing left in ``autograded/``
        (their writer is gone); return them."""
        swept = []
        for folder in self.course.autograded.glob(f"*/.{glob.escape(self.assignment)}-*"):
            if folder in _staging_folders(folder.parent, self.assignment):
                shutil.rmtree(folder, ignore_errors=True)
                swept.append(folder)
        return swept


def _staging_folders(folder: Path, assignment: str) -> list[Path]:
    """The staging folders of ``assignment`` in ``folder`` left by a writer that is gone:
    ``.ASSIGNMENT-PID-START-`` and ``mkdtemp``'s 8 random characters (before writers were
    named, just the 8 characters), and their ``.old`` siblings. Never a live writer's, nor
    those of an assignment whose name starts with this one's, such as ``hw1-b``'s for
    ``hw1``."""
    named = re.compile(rf"\.{re.escape(assignment)}-(?:(\d+-\d+)-)?[a-z0-9_]{{8}}(?:\.old)?")
    found = []
    for path in folder.glob(f".{glob.escape(assignment)}-*"):
        match = named.fullmatch(path.name)
        if match and not (match[1] and leftovers.alive(match[1])):
            found.append(path)
    return found


def _rollback(gb: Gradebook) -> None:
    try:
        gb.db.rollback()
    except DBAPIError:  # the connection is gone: there is nothing to roll back
        pass


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
