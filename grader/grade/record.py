"""The single writer: scores into nbgrader's gradebook, files into ``autograded/``.

Everything that writes runs in the grading process, one submission at a time, through
nbgrader's own ``SaveAutoGrades`` and ``AssignLatePenalties``, so that formgrader and
``nbgrader export`` see exactly what ``nbgrader autograde`` would have written. Re-grading
updates the same rows (one set of scores per student) and keeps manual grades.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Comment, Grade, Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from sqlalchemy import event
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import joinedload
from traitlets.config import Config

from grader.course import Course, CourseError
from grader.grade.discover import Submission

RECORD_FILE = ".grading.json"
GRADED, PARTIAL, FAILED = "graded", "partial", "failed"


@dataclass
class Outcome:
    """What happened to one submission: written next to its autograded notebooks."""

    student: str
    assignment: str
    status: str = GRADED
    score: float = 0.0
    max_score: float = 0.0
    pending: float = 0.0
    reasons: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # faults met while running, restarts
    suspicious: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # "notebook:item": why a person decides
    seconds: float = 0.0
    timing: dict[str, dict[str, float]] = field(default_factory=dict)
    sandbox: str = ""
    graded_at: str = ""

    def degrade(self, status: str, reason: str) -> None:
        """Record ``reason`` and lower the status to ``status`` (failed beats partial)."""
        self.reasons.append(reason)
        order = (GRADED, PARTIAL, FAILED)
        if order.index(status) > order.index(self.status):
            self.status = status


def notebook_names(course: Course, assignment: str) -> list[str]:
    """Notebook names of ``assignment`` as the gradebook knows them (set by ``release``)."""
    with Gradebook(course.db_url) as gb:
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


def _save_cell(cell: NotebookNode, grades: dict, comments: dict, held: Collection[str]) -> None:
    """What ``SaveAutoGrades.preprocess_cell`` does for one cell, without committing.

    An item in ``held`` gets no automatic score: like an ungraded written answer, it waits
    for a person (pending), whatever its cell's outputs say.
    """
    meta = cell.metadata.get("nbgrader", {})
    name = meta.get("grade_id")
    if utils.is_grade(cell) and name in grades:
        grade = grades[name]
        grade.auto_score = None if name in held else utils.determine_grade(cell)[0]
        # a manual score, or no automatic one, means a person has to look (as nbgrader does)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
    if (utils.is_solution(cell) or utils.is_task(cell)) and name in comments:
        unchanged = meta.get("checksum") == utils.compute_checksum(cell)
        comments[name].auto_comment = "No response." if unchanged and not utils.is_task(cell) \
            else None


def _fast_commits(connection: object, record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Recorder:
    """Writes the results of one assignment's grading run; use it as a context manager.

    One gradebook connection serves the whole run, so SQLAlchemy compiles nbgrader's queries
    (its score totals are large ones) once rather than once per submission.

    Parameters
    ----------
    course : Course
        The course directory.
    assignment : str
        The assignment being graded.
    config : Config
        The course's nbgrader configuration.
    """

    def __init__(self, course: Course, assignment: str, config: Config) -> None:
        self.course = course
        self.assignment = assignment
        self.config = config
        self.gradebook = Gradebook(course.db_url)
        # Readers (formgrader, reports) go on while this one writer writes. In WAL mode a
        # commit need not wait for the disk: a crash of this process loses nothing committed,
        # only a crash of the machine could lose the last notebooks (graded again next run).
        event.listen(self.gradebook.engine, "connect", _fast_commits)
        self.gradebook.engine.dispose()  # connections made before the listener get it too
        method = config.LateSubmissionPlugin.get("penalty_method", "none")
        self.late_penalties = method != "none" or "AssignLatePenalties" in config

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.gradebook.close()

    @contextmanager
    def _transaction(self) -> Iterator[Gradebook]:
        """The run's gradebook for one unit of work: committed after it, rolled back on error.

        Ending every unit also ends its read transaction, so SQLite's write-ahead log can be
        checkpointed while the run goes on.
        """
        try:
            yield self.gradebook
            self.gradebook.db.commit()
        except BaseException:
            self.gradebook.db.rollback()
            raise

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

    def open(self, submission: Submission) -> Outcome:
        """Create or update the student and the submission row (with its timestamp)."""
        timestamp = None
        stamp_file = submission.directory / "timestamp.txt"
        if stamp_file.is_file() and stamp_file.read_text().strip():
            try:
                timestamp = parse_utc(stamp_file.read_text().strip())
            except ValueError:
                pass
        with self._transaction() as gb, warnings.catch_warnings():
            # nbgrader's own autoflush chatter when it creates a submission's rows
            warnings.simplefilter("ignore", SAWarning)
            gb.update_or_create_student(submission.student)
            extra = {"timestamp": timestamp} if timestamp else {}
            gb.update_or_create_submission(self.assignment, submission.student, **extra)
        return Outcome(submission.student, self.assignment)

    def save(self, submission: Submission, notebook: str, nb: NotebookNode | None,
             held: Collection[str] = ()) -> None:
        """Score one executed notebook; ``None`` scores every autograded cell 0.

        Items named in ``held`` are left pending, for a person to grade.

        The scores are nbgrader's own (``utils.determine_grade``) and are written the way its
        ``SaveAutoGrades`` writes them, but in one transaction per notebook rather than one
        query and commit per cell: this process is the only writer, and that made it the
        bottleneck of a parallel run.
        """
        with self._transaction() as gb:
            graded = gb.find_submission_notebook(notebook, self.assignment, submission.student)
            # cells loaded with their grades: `Grade.name` would otherwise query once per grade
            grades = {g.name: g for g in gb.db.query(Grade).options(joinedload(Grade.cell))
                      .filter(Grade.notebook_id == graded.id)}
            if nb is None:
                for grade in grades.values():
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            else:
                comments = {c.name: c for c in gb.db.query(Comment)
                            .options(joinedload(Comment.cell))
                            .filter(Comment.notebook_id == graded.id)}
                for cell in nb.cells:
                    _save_cell(cell, grades, comments, held)
        if nb is not None and self.late_penalties:
            AssignLatePenalties(config=self.config)(nb, self.resources(submission, notebook))

    def close(self, submission: Submission, outcome: Outcome,
              executed: dict[str, str]) -> Outcome:
        """Total the scores, then replace ``autograded/<student>/<assignment>/`` in one move."""
        began = time.perf_counter()
        with self._transaction() as gb:
            graded = gb.find_submission(self.assignment, submission.student)
            outcome.score, outcome.max_score = float(graded.score), float(graded.max_score)
            # written answers nobody has graded yet: neither an automatic nor a manual score
            outcome.pending = float(sum(
                grade.max_score for notebook in graded.notebooks for grade in notebook.grades
                if grade.auto_score is None and grade.manual_score is None))
        outcome.graded_at = datetime.now(UTC).isoformat(timespec="seconds")
        share = (time.perf_counter() - began) / max(1, len(outcome.timing))
        for steps in outcome.timing.values():  # the totals' share of each notebook
            steps["record"] = round(steps.get("record", 0.0) + share, 4)
        final = self.course.autograded / submission.student / self.assignment
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.assignment}-", dir=final.parent))
        try:
            for item in submission.directory.iterdir():
                if item.is_file() and item.suffix != ".ipynb":
                    shutil.copy2(item, staging / item.name)
            for name, text in executed.items():
                (staging / f"{name}.ipynb").write_text(text, encoding="utf-8")
            (staging / RECORD_FILE).write_text(json.dumps(asdict(outcome), indent=2))
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return outcome
