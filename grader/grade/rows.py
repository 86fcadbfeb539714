"""nbgrader's gradebook rows for one assignment's submissions, written in a few SQL statements.

nbgrader's ORM creates a submission object by object (``Gradebook.add_submission``), saves a
score per cell (``SaveAutoGrades``) and totals a submission with correlated subqueries
(``SubmittedAssignment.score``): about 40 ms a notebook on PostgreSQL, which made the single
writer of a large run its bottleneck. Here a notebook costs at most one query, to read what
the gradebook holds of its submission (none for a new one), and one statement that writes
every row (:mod:`grader.grade.changes`). The rows and values are nbgrader's — ids, defaults,
its scoring rule — and the totals are computed from the rows read and written, by
``Grade.score``'s rule.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import (
    Assignment,
    Comment,
    Grade,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    new_uuid,
)
from sqlalchemy import Select, bindparam, func, literal, null, select
from sqlalchemy.orm import Session

from grader.grade.changes import Change, apply

GRADE, COMMENT = Grade.__table__, Comment.__table__
SUBMITTED, SUBMITTED_NB = SubmittedAssignment.__table__, SubmittedNotebook.__table__
STUDENT = Student.__table__

# scores(nb): {"grades": {grade id: points or None}, "comments": {cell name: text or None}}
Scores = dict[str, dict[str, Any]]


@dataclass
class NotebookCells:
    """The graded cells of one notebook of the assignment, by cell id."""

    id: str
    grades: dict[str, str] = field(default_factory=dict)  # cell id -> grade id (name)
    comments: dict[str, str] = field(default_factory=dict)  # cell id -> name
    max_scores: dict[str, float] = field(default_factory=dict)  # cell id -> points


class AssignmentRows:
    """Reads the assignment's cells once; writes its submissions' rows.

    Parameters
    ----------
    db : Session
        A session on the gradebook (the caller commits).
    assignment : str
        The assignment's name (it must have been released).
    """

    def __init__(self, db: Session, assignment: str) -> None:
        found = db.query(Assignment).filter(Assignment.name == assignment).one()
        self.id = found.id
        self.duedate: datetime | None = found.duedate
        self.notebooks: dict[str, NotebookCells] = {}
        for notebook in found.notebooks:
            cells = NotebookCells(notebook.id)
            # as nbgrader mirrors them: a grade per grade cell and per task cell, a comment
            # per solution cell and per task cell
            for cell in [*notebook.grade_cells, *notebook.task_cells]:
                cells.grades[cell.id] = cell.name
                cells.max_scores[cell.id] = float(cell.max_score or 0.0)
            for cell in [*notebook.solution_cells, *notebook.task_cells]:
                cells.comments[cell.id] = cell.name
            self.notebooks[notebook.name] = cells
        # students with a submission: a new one is created without looking first (this
        # process is the assignment's only writer while it grades)
        self.submitted = set(db.scalars(select(SUBMITTED.c.student_id)
                                        .where(SUBMITTED.c.assignment_id == self.id)))
        self._found = {name: self._query(cells) for name, cells in self.notebooks.items()}
        self.max_scores = {cell: points for n in self.notebooks.values()
                           for cell, points in n.max_scores.items()}
        self.max_score = sum(self.max_scores.values())

    def extensions(self, db: Session) -> dict[str, timedelta]:
        """Each student's extension of the due date, as nbgrader records it (on the
        submission)."""
        rows = db.execute(select(SUBMITTED.c.student_id, SUBMITTED.c.extension)
                          .where((SUBMITTED.c.assignment_id == self.id)
                                 & SUBMITTED.c.extension.is_not(None)))
        return dict(rows.all())

    def late_penalty(self, db: Session, student: str) -> float:
        """The late penalty the gradebook holds for ``student``'s submission (the sum over
        its notebooks, as nbgrader's ``SubmittedAssignment.late_submission_penalty``)."""
        total = db.scalar(select(func.sum(SUBMITTED_NB.c.late_submission_penalty))
                          .join(SUBMITTED, SUBMITTED_NB.c.assignment_id == SUBMITTED.c.id)
                          .where((SUBMITTED.c.assignment_id == self.id)
                                 & (SUBMITTED.c.student_id == student)))
        return float(total or 0.0)

    def record(self, db: Session, student: str, timestamp: datetime | None, notebook: str,
               scored: Scores | None, held: Collection[str] = ()) -> tuple[float, float, float]:
        """Write one notebook's automatic scores and comments, as ``SaveAutoGrades`` does,
        creating the student and the submission first if new, as nbgrader's
        ``update_or_create_student`` and ``update_or_create_submission`` do.

        ``scored`` is :func:`scores` of the executed notebook; None scores every automatic
        item 0. An item in ``held`` gets no automatic score:
        it waits for a person (pending), whatever its cell's outputs say.

        Returns
        -------
        tuple of float
            The submission's score, maximum and points awaiting a person, afterwards.
        """
        cells = self.notebooks[notebook]
        found = (db.execute(self._found[notebook], {"student": student}).all()
                 if student in self.submitted else [])
        grades = {name: {"id": None, "auto": None, "manual": None, "extra": None}
                  for name in cells.grades.values()}
        comments: dict[str, dict[str, Any]] = {name: {"id": None}
                                               for name in cells.comments.values()}
        others = []  # (cell, auto, manual, extra) of the submission's other notebooks
        for kind, _, of, row, cell, auto, manual, extra in found:
            if kind == "comment" and cell in cells.comments:
                comments[cells.comments[cell]] = {"id": row}
            elif kind == "grade" and of == cells.id and cell in cells.grades:
                grades[cells.grades[cell]] = {"id": row, "auto": auto, "manual": manual,
                                              "extra": extra}
            elif kind == "grade":
                others.append((cell, auto, manual, extra))
        written = _fill(scored, grades, comments, held)
        if found:
            changes = self._updates(found[0][1], timestamp, grades, comments, written)
        else:  # new: created with this notebook's values in place
            changes, others = self._creation(student, timestamp, notebook, grades, comments)
            self.submitted.add(student)  # kept if the transaction fails: then it looks first
        apply(db, changes)
        mine_now = [(cell, grades[name]["auto"], grades[name]["manual"], grades[name]["extra"])
                    for cell, name in cells.grades.items()]
        return self._totals([*others, *mine_now])

    def _query(self, cells: NotebookCells) -> Select:
        """Every grade of a student's submission (its totals need them all) and the comments
        of ``cells``' notebook, in one query: rows of (kind, submission, notebook, row, cell,
        auto, manual, extra). Built once; the student is its parameter."""
        # a lookup by the submission's unique index, then by the writer's indexes: a plan
        # that stays a few index scans however large the class grows
        submission = (select(SUBMITTED.c.id)
                      .where((SUBMITTED.c.assignment_id == self.id)
                             & (SUBMITTED.c.student_id == bindparam("student")))
                      .scalar_subquery())
        return (select(literal("grade"), SUBMITTED_NB.c.assignment_id,
                       SUBMITTED_NB.c.notebook_id, GRADE.c.id, GRADE.c.cell_id,
                       GRADE.c.auto_score, GRADE.c.manual_score, GRADE.c.extra_credit)
                .join(SUBMITTED_NB, GRADE.c.notebook_id == SUBMITTED_NB.c.id)
                .where(SUBMITTED_NB.c.assignment_id == submission)
                .union_all(
                    select(literal("comment"), SUBMITTED_NB.c.assignment_id,
                           SUBMITTED_NB.c.notebook_id, COMMENT.c.id, COMMENT.c.cell_id, null(),
                           null(), null())
                    .join(SUBMITTED_NB, COMMENT.c.notebook_id == SUBMITTED_NB.c.id)
                    .where((SUBMITTED_NB.c.assignment_id == submission)
                           & (SUBMITTED_NB.c.notebook_id == cells.id))))

    def _updates(self, submission: str, timestamp: datetime | None,
                 grades: dict[str, dict], comments: dict[str, dict],
                 scored: set[str]) -> list[Change]:
        changes = [Change(GRADE, [{"id": grades[n]["id"], "auto_score": grades[n]["auto"],
                                   "needs_manual_grade": grades[n]["needs"]}
                                  for n in scored if grades[n]["id"] is not None], update=True),
                   Change(COMMENT, [{"id": c["id"], "auto_comment": c["comment"]}
                                    for c in comments.values()
                                    if "comment" in c and c["id"] is not None], update=True)]
        if timestamp is not None:
            changes.insert(0, Change(SUBMITTED, [{"id": submission, "timestamp": timestamp}],
                                     update=True))
        return changes

    def _creation(self, student: str, timestamp: datetime | None, notebook: str,
                  grades: dict[str, dict], comments: dict[str, dict],
                  ) -> tuple[list[Change], list[tuple]]:
        """The rows of a new submission, and the grades of its other notebooks (unscored)."""
        submission = new_uuid()
        notebooks, grade_rows, comment_rows, others = [], [], [], []
        for name, cells in self.notebooks.items():
            row = new_uuid()
            notebooks.append({"id": row, "assignment_id": submission, "notebook_id": cells.id,
                              "flagged": False})
            scored = name == notebook
            for cell, grade_id in cells.grades.items():
                values = grades[grade_id] if scored else {}
                grade_rows.append({"id": new_uuid(), "notebook_id": row, "cell_id": cell,
                                   "auto_score": values.get("auto"),
                                   "needs_manual_grade": values.get("needs", True)})
                if not scored:
                    others.append((cell, None, None, None))
            for cell, comment_id in cells.comments.items():
                values = comments[comment_id] if scored else {}
                comment_rows.append({"id": new_uuid(), "notebook_id": row, "cell_id": cell,
                                     "auto_comment": values.get("comment")})
        changes = [Change(STUDENT, [{"id": student}], existing="keep"),
                   Change(SUBMITTED, [{"id": submission, "assignment_id": self.id,
                                       "student_id": student, "timestamp": timestamp}]),
                   Change(SUBMITTED_NB, notebooks), Change(GRADE, grade_rows),
                   Change(COMMENT, comment_rows)]
        return changes, others

    def _totals(self, grades: list[tuple]) -> tuple[float, float, float]:
        """Score, maximum and points awaiting a person, by nbgrader's rules (``Grade.score``:
        the manual score if any, else the automatic one, plus extra credit; else 0)."""
        score = pending = 0.0
        for cell, auto, manual, extra in grades:
            if manual is not None or auto is not None:
                score += (manual if manual is not None else auto) + (extra or 0.0)
            else:  # a written answer nobody has graded yet
                pending += self.max_scores.get(cell, 0.0)
        return score, self.max_score, pending


def scores(nb: NotebookNode) -> Scores:
    """What nbgrader's ``SaveAutoGrades`` takes from an executed notebook, by cell name:
    each grade cell's automatic score (``utils.determine_grade``; None: a person decides)
    and each answer's automatic comment ("No response." for an answer left as released).

    Plain data, so that the worker that ran the notebook computes it and the single writer
    needs not read the notebook again.
    """
    grades: dict[str, float | None] = {}
    comments: dict[str, str | None] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        name = meta.get("grade_id")
        if name is None:
            continue
        if utils.is_solution(cell) or utils.is_task(cell):
            unchanged = meta.get("checksum") == utils.compute_checksum(cell)
            comments[name] = "No response." if unchanged and not utils.is_task(cell) else None
        if utils.is_grade(cell):
            grades[name] = utils.determine_grade(cell)[0]
    return {"grades": grades, "comments": comments}


def _fill(scored: Scores | None, grades: dict[str, dict], comments: dict[str, dict],
          held: Collection[str]) -> set[str]:
    """Put ``scored`` into this notebook's row dicts; the names of the grades it set."""
    if scored is None:
        for grade in grades.values():
            grade.update(auto=0.0, needs=False)
        return set(grades)
    for name, comment in scored["comments"].items():
        if name in comments:
            comments[name]["comment"] = comment
    written = set()
    for name, auto in scored["grades"].items():
        if name in grades:
            grade = grades[name]
            grade["auto"] = None if name in held else auto
            # a manual score, or no automatic one, means a person has to look (as nbgrader
            # does)
            grade["needs"] = grade["manual"] is not None or grade["auto"] is None
            written.add(name)
    return written
