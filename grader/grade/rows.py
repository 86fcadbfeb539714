"""nbgrader's gradebook rows for one assignment's submissions, written in a few SQL statements.

nbgrader's ORM creates a submission object by object (``Gradebook.add_submission``), saves a
score per cell (``SaveAutoGrades``) and totals a submission with correlated subqueries
(``SubmittedAssignment.score``): about 40 ms a notebook on PostgreSQL, which made the single
writer of a large run its bottleneck. These statements write the same rows with the same
values — ids, defaults, nbgrader's scoring rule — a notebook in a handful of statements, and
work on any database SQLAlchemy speaks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
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
from sqlalchemy import Float, Table, bindparam, exists, insert, literal, null, select, text, update
from sqlalchemy.orm import Session

GRADE, COMMENT = Grade.__table__, Comment.__table__
SUBMITTED, SUBMITTED_NB = SubmittedAssignment.__table__, SubmittedNotebook.__table__


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
        self.max_score = sum(sum(n.max_scores.values()) for n in self.notebooks.values())

    def record(self, db: Session, student: str, timestamp: datetime | None, notebook: str,
               nb: NotebookNode | None, held: Collection[str] = ()) -> tuple[float, float, float]:
        """Write one notebook's automatic scores and comments, as ``SaveAutoGrades`` does,
        creating the student and the submission first if new, as nbgrader's
        ``update_or_create_student`` and ``update_or_create_submission`` do.

        ``nb`` None scores every automatic item 0. An item in ``held`` gets no automatic score:
        it waits for a person (pending), whatever its cell's outputs say.

        Returns
        -------
        tuple of float
            The submission's score, maximum and points awaiting a person, afterwards.
        """
        cells = self.notebooks[notebook]
        # The submission first (a unique index), then its notebook's rows (by index): a plan
        # that stays one index lookup each however large the class grows.
        submission = (select(SUBMITTED.c.id).where((SUBMITTED.c.assignment_id == self.id)
                                                   & (SUBMITTED.c.student_id == student))
                      .scalar_subquery())
        mine = ((SUBMITTED_NB.c.assignment_id == submission)
                & (SUBMITTED_NB.c.notebook_id == cells.id))
        # grades and comments in one query: (kind, submission, row, cell, manual score)
        found = db.execute(
            select(literal("grade"), SUBMITTED_NB.c.assignment_id, GRADE.c.id,
                   GRADE.c.cell_id, GRADE.c.manual_score)
            .join(SUBMITTED_NB, GRADE.c.notebook_id == SUBMITTED_NB.c.id).where(mine)
            .union_all(
                select(literal("comment"), SUBMITTED_NB.c.assignment_id, COMMENT.c.id,
                       COMMENT.c.cell_id, null())
                .join(SUBMITTED_NB, COMMENT.c.notebook_id == SUBMITTED_NB.c.id).where(mine))
        ).all()
        grades = {name: {"id": None, "manual": None} for name in cells.grades.values()}
        comments = {name: {"id": None} for name in cells.comments.values()}
        for kind, _, row, cell, manual in found:
            if kind == "grade" and cell in cells.grades:
                grades[cells.grades[cell]] = {"id": row, "manual": manual}
            elif kind == "comment" and cell in cells.comments:
                comments[cells.comments[cell]] = {"id": row}
        if nb is None:
            for grade in grades.values():
                grade.update(auto=0.0, needs=False)
        else:
            for cell in nb.cells:
                _score_cell(cell, grades, comments, held)
        if found:
            submission = found[0][1]
            if timestamp is not None:
                db.execute(update(SUBMITTED).where(SUBMITTED.c.id == submission)
                           .values(timestamp=timestamp))
            update_many(db, GRADE, [{"id": g["id"], "auto_score": g["auto"],
                                     "needs_manual_grade": g["needs"]}
                                    for g in grades.values() if "needs" in g])
            update_many(db, COMMENT, [{"id": c["id"], "auto_comment": c["comment"]}
                                      for c in comments.values() if "comment" in c])
        else:  # new: created with this notebook's values in place
            submission = self._create(db, student, timestamp, notebook, grades, comments)
        return self.totals(db, submission)

    def _create(self, db: Session, student: str, timestamp: datetime | None, notebook: str,
                grades: dict[str, dict], comments: dict[str, dict]) -> str:
        students = Student.__table__
        db.execute(insert(students).from_select(
            ["id"], select(literal(student, students.c.id.type))
            .where(~exists().where(students.c.id == student))))
        submission = new_uuid()
        db.execute(insert(SUBMITTED).values(id=submission, assignment_id=self.id,
                                            student_id=student, timestamp=timestamp))
        notebooks, grade_rows, comment_rows = [], [], []
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
            for cell, comment_id in cells.comments.items():
                values = comments[comment_id] if scored else {}
                comment_rows.append({"id": new_uuid(), "notebook_id": row, "cell_id": cell,
                                     "auto_comment": values.get("comment")})
        for table, rows in ((SUBMITTED_NB, notebooks), (GRADE, grade_rows),
                            (COMMENT, comment_rows)):
            insert_many(db, table, rows)
        return submission

    def totals(self, db: Session, submission: str) -> tuple[float, float, float]:
        """Score, maximum and points awaiting a person, by nbgrader's rules (``Grade.score``:
        the manual score if any, else the automatic one, plus extra credit; else 0)."""
        max_scores = {cell: points for n in self.notebooks.values()
                      for cell, points in n.max_scores.items()}
        score = pending = 0.0
        for cell, auto, manual, extra in db.execute(
                select(GRADE.c.cell_id, GRADE.c.auto_score, GRADE.c.manual_score,
                       GRADE.c.extra_credit)
                .join(SUBMITTED_NB, GRADE.c.notebook_id == SUBMITTED_NB.c.id)
                .where(SUBMITTED_NB.c.assignment_id == submission)).all():
            if manual is not None or auto is not None:
                score += (manual if manual is not None else auto) + (extra or 0.0)
            else:  # a written answer nobody has graded yet
                pending += max_scores.get(cell, 0.0)
        return score, self.max_score, pending


def insert_many(db: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in one statement.

    On PostgreSQL the values travel as one array per column (``unnest``): a row-by-row
    ``executemany`` costs a round trip's worth of work per row.
    """
    if not rows:
        return
    if db.get_bind().dialect.name != "postgresql":
        db.execute(insert(table), rows)
        return
    names = list(rows[0])
    columns = ", ".join(names)
    arrays = ", ".join(_array(db, table, name) for name in names)
    db.execute(text(f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({arrays})"),
               _columns(table, rows, names))


def update_many(db: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Set the columns of ``rows`` (dicts with ``id`` and the same keys) in ``table``."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if db.get_bind().dialect.name != "postgresql":
        db.execute(update(table).where(table.c.id == bindparam("_id"))
                   .values({name: bindparam(name) for name in names}),
                   [{**row, "_id": row["id"]} for row in rows])
        return
    arrays = ", ".join(_array(db, table, name) for name in ["id", *names])
    assign = ", ".join(f"{name} = v.{name}" for name in names)
    db.execute(text(f"UPDATE {table.name} SET {assign} FROM unnest({arrays}) "
                    f"AS v(id, {', '.join(names)}) WHERE {table.name}.id = v.id"),
               _columns(table, rows, ["id", *names]))


def _columns(table: Table, rows: list[dict[str, Any]], names: list[str]) -> dict[str, list]:
    """One list per column. An array holds one type, and nbgrader's scores come as ints and
    floats: numbers of a float column are made floats."""
    lists = {}
    for name in names:
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, Float):
            values = [None if value is None else float(value) for value in values]
        lists[name] = values
    return lists


def _array(db: Session, table: Table, name: str) -> str:
    kind = table.c[name].type.compile(dialect=db.get_bind().dialect)
    return f"CAST(:{name} AS {kind}[])"


def _score_cell(cell: NotebookNode, grades: dict[str, dict], comments: dict[str, dict],
                held: Collection[str]) -> None:
    """What ``SaveAutoGrades.preprocess_cell`` does for one cell, into row dicts."""
    meta = cell.metadata.get("nbgrader", {})
    name = meta.get("grade_id")
    if utils.is_grade(cell) and name in grades:
        grade = grades[name]
        grade["auto"] = None if name in held else utils.determine_grade(cell)[0]
        # a manual score, or no automatic one, means a person has to look (as nbgrader does)
        grade["needs"] = grade["manual"] is not None or grade["auto"] is None
    if (utils.is_solution(cell) or utils.is_task(cell)) and name in comments:
        unchanged = meta.get("checksum") == utils.compute_checksum(cell)
        comments[name]["comment"] = "No response." if unchanged and not utils.is_task(cell) \
            else None
