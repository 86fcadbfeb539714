"""Read nbgrader's gradebook into tidy pandas tables.

The gradebook is read with plain SQL rather than through ``nbgrader.api.Gradebook``: nbgrader's
ORM computes every score with a correlated subquery per object, which takes minutes for a class
of a thousand students, whereas five joins take well under a second. A SQLite gradebook is
opened read-only (a report never creates, migrates or locks it); a gradebook on a database
server is read through SQLAlchemy, in one read-only transaction. The semantics are nbgrader's
own: a grade's score is its manual score if set, else its automatic score, plus any extra
credit (``nbgrader.api.Grade.score``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy

from grader.gradebook import shown, sqlite_path

_EPOCH = pd.Timestamp("1970-01-01")

# nbgrader lists students by name, assignments by due date, then name (Gradebook.assignments);
# missing values first, as SQLite sorts them, on every database.
_STUDENTS = """
SELECT id AS student_id, first_name, last_name, email, lms_user_id
FROM student ORDER BY last_name NULLS FIRST, first_name NULLS FIRST, id
"""
_ASSIGNMENTS = "SELECT id AS assignment_key, name AS assignment, duedate FROM assignment " \
    "ORDER BY duedate NULLS FIRST, name"
# Graded cells in the order nbgrader stored them, which is notebook order. A grade cell that is
# also a solution cell (same name in the same notebook) is an answer graded by a person.
_ITEMS = """
SELECT bc.id AS cell_key, n.assignment_id AS assignment_key, n.name AS notebook,
       bc.name AS cell, bc.type AS kind,
       COALESCE(gc.max_score, tc.max_score) AS max_score,
       COALESCE(gc.cell_type, tc.cell_type) AS cell_type,
       EXISTS (SELECT 1 FROM base_cell s WHERE s.notebook_id = bc.notebook_id
               AND s.name = bc.name AND s.type = 'SolutionCell') AS is_solution
FROM base_cell bc
JOIN notebook n ON n.id = bc.notebook_id
LEFT JOIN grade_cells gc ON gc.id = bc.id
LEFT JOIN task_cells tc ON tc.id = bc.id
WHERE bc.type IN ('GradeCell', 'TaskCell')
ORDER BY n.{row}, bc.{row}
"""
# Rows in the order they were written, which for cells is notebook order (nbgrader stores no
# position): SQLite's rowid; PostgreSQL's physical row position, the same for rows written
# once, as `grader release` writes them.
_ROW_ORDER = {"sqlite": "rowid", "postgresql": "ctid"}
_SUBMISSIONS = """
SELECT sa.id AS submission_key, sa.student_id, sa.assignment_id AS assignment_key,
       sa.timestamp, sa.extension,
       COALESCE(SUM(sn.late_submission_penalty), 0.0) AS stored_penalty,
       COALESCE(MAX(CASE WHEN sn.flagged THEN 1 ELSE 0 END), 0) AS flagged
FROM submitted_assignment sa
LEFT JOIN submitted_notebook sn ON sn.assignment_id = sa.id
GROUP BY sa.id
"""
_GRADES = """
SELECT sn.assignment_id AS submission_key, g.cell_id AS cell_key,
       g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade
FROM grade g
JOIN submitted_notebook sn ON sn.id = g.notebook_id
"""


@dataclass
class GradebookData:
    """The gradebook as tidy tables.

    Attributes
    ----------
    course_id : str or None
        The course recorded in the gradebook.
    students : DataFrame
        ``student_id, first_name, last_name, email, lms_user_id`` in nbgrader's order.
    assignments : DataFrame
        ``assignment, duedate, max_score`` in nbgrader's order (due date, then name).
    items : DataFrame
        One row per graded cell: ``assignment, notebook, item, max_score, cell_type, manual``.
        ``item`` is the cell's name (its ``grade_id``), prefixed with ``notebook:`` only when
        two notebooks of one assignment share a name.
    submissions : DataFrame
        One row per submitted assignment: ``student_id, assignment, timestamp, seconds_late,
        stored_penalty, flagged``.
    grades : DataFrame
        One row per grade: ``student_id, assignment, item, score, pending, review`` plus
        nbgrader's ``auto_score, manual_score, extra_credit``. ``pending``: nbgrader wants a
        manual grade and no person has given one yet; ``score`` is then NaN, not 0.
        ``review``: a person has graded it, but re-running the autograder made nbgrader ask
        for the grade to be checked again; the manual score counts. ``nbgrader_score`` is
        what nbgrader counts (0 for an ungraded manual answer).
    """

    course_id: str | None
    students: pd.DataFrame
    assignments: pd.DataFrame
    items: pd.DataFrame
    submissions: pd.DataFrame
    grades: pd.DataFrame

    @property
    def assignment_names(self) -> list[str]:
        """Assignment names in nbgrader's order."""
        return self.assignments["assignment"].tolist()


_TABLES = {"student", "assignment", "grade", "base_cell"}


@contextmanager
def _sqlite(path: Path) -> Iterator[Any]:
    # Read-only, so a report never creates, migrates or locks the course's gradebook.
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        yield connection if _TABLES <= names else None
    finally:
        connection.close()


@contextmanager
def _server(url: str) -> Iterator[Any]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":  # one consistent snapshot of every table
                connection.exec_driver_sql(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            names = set(sqlalchemy.inspect(connection).get_table_names())
            yield connection if _TABLES <= names else None
    except sqlalchemy.exc.OperationalError as error:
        raise OSError(f"cannot read the gradebook {shown(url)}: "
                      f"{str(error.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()


def _datetimes(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):  # a server's own timestamp type:
        values = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")  # parsed as SQLite's text is
    return pd.to_datetime(values, format="ISO8601", errors="coerce")


def _intervals(values: pd.Series) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(values) or values.map(
            lambda v: v is None or hasattr(v, "total_seconds")).all():
        return pd.to_timedelta(values)  # a server's own interval type
    # SQLAlchemy stores an Interval in SQLite as the epoch plus the interval.
    return _datetimes(values) - _EPOCH


def _empty(course_id: str | None = None) -> GradebookData:
    def frame(columns: dict[str, str]) -> pd.DataFrame:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})

    return GradebookData(
        course_id=course_id,
        students=frame({"student_id": "object", "first_name": "object", "last_name": "object",
                        "email": "object", "lms_user_id": "object"}),
        assignments=frame({"assignment": "object", "duedate": "datetime64[ns]",
                           "max_score": "float64"}),
        items=frame({"assignment": "object", "notebook": "object", "item": "object",
                     "max_score": "float64", "cell_type": "object", "manual": "bool"}),
        submissions=frame({"student_id": "object", "assignment": "object",
                           "timestamp": "datetime64[ns]", "seconds_late": "float64",
                           "stored_penalty": "float64", "flagged": "bool"}),
        grades=frame({"student_id": "object", "assignment": "object", "item": "object",
                      "score": "float64", "pending": "bool", "review": "bool",
                      "nbgrader_score": "float64",
                      "auto_score": "float64",
                      "manual_score": "float64", "extra_credit": "float64"}),
    )


def _item_labels(items: pd.DataFrame) -> pd.Series:
    # Names only collide across notebooks of one assignment; keep plain names otherwise.
    clash = items.duplicated(["assignment", "cell"], keep=False)
    return items["cell"].where(~clash, items["notebook"] + ":" + items["cell"])


def load_gradebook(db_path: str | Path,
                   assignments: Sequence[str] | None = None) -> GradebookData:
    """Load an nbgrader gradebook.

    Parameters
    ----------
    db_path : str or Path
        The gradebook: a SQLite file (``gradebook.db``) or a database URL (``sqlite:///…``,
        ``postgresql://…``). A missing SQLite file reads as an empty gradebook.
    assignments : sequence of str, optional
        Keep only these assignments, in nbgrader's order; all when omitted.

    Returns
    -------
    GradebookData

    Raises
    ------
    KeyError
        If a requested assignment is not in the gradebook.
    OSError
        If a database server cannot be reached.
    """
    url = str(db_path) if "://" in str(db_path) else None
    path = Path(db_path) if url is None else sqlite_path(url)
    if path is not None and not path.is_file():
        data = _empty()
    else:
        with _sqlite(path) if path is not None else _server(url) as connection:
            data = _read(connection) if connection is not None else _empty()
    if assignments:
        unknown = [name for name in assignments if name not in set(data.assignment_names)]
        if unknown:
            raise KeyError(f"not in the gradebook: {', '.join(unknown)}")
        data = _select(data, set(assignments))
    return data


def _select(data: GradebookData, keep: set[str]) -> GradebookData:
    def only(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["assignment"].isin(keep)].reset_index(drop=True)

    return GradebookData(data.course_id, data.students, only(data.assignments), only(data.items),
                         only(data.submissions), only(data.grades))


def _read(connection: Any) -> GradebookData:
    """The tables, from a read-only ``sqlite3`` connection or a SQLAlchemy connection."""
    def query(sql: str) -> pd.DataFrame:
        return pd.read_sql_query(sqlalchemy.text(sql) if server else sql, connection)

    server = not isinstance(connection, sqlite3.Connection)
    dialect = connection.dialect.name if server else "sqlite"
    if dialect not in _ROW_ORDER:
        raise OSError(f"cannot read a {dialect} gradebook: the report reads SQLite and "
                      "PostgreSQL ones")
    course = query("SELECT id FROM course LIMIT 1")["id"].tolist()
    students = query(_STUDENTS)
    assignments = query(_ASSIGNMENTS)
    assignments["duedate"] = _datetimes(assignments["duedate"])
    names = assignments.set_index("assignment_key")["assignment"]

    items = query(_ITEMS.format(row=_ROW_ORDER[dialect]))
    items["assignment"] = items["assignment_key"].map(names)
    items["manual"] = (items["kind"] == "TaskCell") | items["is_solution"].astype(bool)
    items["item"] = _item_labels(items)
    item_of = items.set_index("cell_key")[["assignment", "item"]]
    max_by_assignment = items.groupby("assignment", sort=False)["max_score"].sum()
    assignments["max_score"] = (
        assignments["assignment"].map(max_by_assignment).fillna(0.0).astype(float))

    submissions = query(_SUBMISSIONS)
    submissions["assignment"] = submissions["assignment_key"].map(names)
    submissions["timestamp"] = _datetimes(submissions["timestamp"])
    due_by_name = dict(zip(assignments["assignment"], assignments["duedate"]))
    duedate = pd.to_datetime(submissions["assignment"].map(due_by_name))
    extension = _intervals(submissions["extension"]).fillna(pd.Timedelta(0))
    late = (submissions["timestamp"] - (duedate + extension)).dt.total_seconds()
    submissions["seconds_late"] = late.clip(lower=0.0).fillna(0.0)
    submissions["flagged"] = submissions["flagged"].astype(bool)
    submission_of = submissions.set_index("submission_key")[["student_id", "assignment"]]

    grades = query(_GRADES)
    grades = grades.join(submission_of["student_id"], on="submission_key").join(
        item_of, on="cell_key")
    for column in ("auto_score", "manual_score", "extra_credit"):
        grades[column] = grades[column].astype(float)
    # nbgrader.api.Grade.score: manual wins over automatic; extra credit adds to either.
    base = grades["manual_score"].fillna(grades["auto_score"])
    needs_manual = grades["needs_manual_grade"].astype(bool)
    # nbgrader re-flags every manually graded cell when the autograder runs again
    # (SaveAutoGrades); that grade still stands, so only cells without one are pending.
    grades["pending"] = needs_manual & grades["manual_score"].isna()
    grades["review"] = needs_manual & grades["manual_score"].notna()
    grades["nbgrader_score"] = base.fillna(0.0) + grades["extra_credit"].fillna(0.0)
    grades["score"] = grades["nbgrader_score"].where(~grades["pending"], np.nan)

    template = _empty()
    data = GradebookData(
        course_id=course[0] if course else None,
        students=students,
        assignments=assignments[["assignment", "duedate", "max_score"]],
        items=items[["assignment", "notebook", "item", "max_score", "cell_type", "manual"]]
        .reset_index(drop=True),
        submissions=submissions[["student_id", "assignment", "timestamp", "seconds_late",
                                 "stored_penalty", "flagged"]],
        grades=grades[["student_id", "assignment", "item", "score", "pending", "review",
                       "nbgrader_score",
                       "auto_score", "manual_score", "extra_credit"]],
    )
    # Empty query results come back with object columns; give them the usual dtypes so
    # that later merges and arithmetic behave the same for an empty class.
    for name in ("students", "assignments", "items", "submissions", "grades"):
        if getattr(data, name).empty:
            setattr(data, name, getattr(template, name))
    return data
