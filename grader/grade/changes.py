"""Several inserts and updates of a gradebook made as one statement where the database allows.

A grading run's single writer makes a handful of changes per notebook; on PostgreSQL each
statement is a round trip to the server, so they travel as one: each change a data-modifying
``WITH`` clause, its values one array per column (``unnest``). Elsewhere (SQLite) each change is
one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Table, and_, bindparam, insert, literal, select, text, update
from sqlalchemy.orm import Session


@dataclass
class Change:
    """Rows to insert into one table, or (``update``) to set by their ``id``.

    An insert that meets a row with the same ``key`` (a unique key's columns) leaves it alone
    if ``existing`` is "keep", sets its other columns if "update" (an upsert), and fails
    otherwise.
    """

    table: Table
    rows: list[dict[str, Any]]
    update: bool = False
    key: tuple[str, ...] = ("id",)
    existing: str = ""


def apply(db: Session, changes: Sequence[Change]) -> None:
    """Make ``changes``, in order.

    On PostgreSQL they are one statement (one round trip): each change a data-modifying
    ``WITH`` clause whose values travel as one array per column (``unnest``). Elsewhere, one
    ``executemany`` per change.
    """
    changes = [change for change in changes if change.rows]
    if not changes:
        return
    if db.get_bind().dialect.name != "postgresql":
        for change in changes:
            _apply_one(db, change)
        return
    clauses, params = [], {}
    for k, change in enumerate(changes):
        names = list(change.rows[0])
        prefix = f"c{k}_"
        arrays = ", ".join(_array(db, change.table, name, prefix) for name in names)
        table = change.table.name
        if change.update:
            columns = [name for name in names if name != "id"]
            assign = ", ".join(f"{name} = v.{name}" for name in columns)
            clause = (f"UPDATE {table} SET {assign} FROM unnest({arrays}) "
                      f"AS v({', '.join(names)}) WHERE {table}.id = v.id")
        else:
            clause = f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
            if change.existing == "keep":
                clause += " ON CONFLICT DO NOTHING"
            elif change.existing == "update":
                assign = ", ".join(f"{name} = EXCLUDED.{name}"
                                   for name in names if name not in change.key)
                clause += f" ON CONFLICT ({', '.join(change.key)}) DO UPDATE SET {assign}"
        clauses.append(clause)
        params.update({prefix + name: values
                       for name, values in _columns(change.table, change.rows, names).items()})
    *first, last = clauses
    statement = "".join(f"{'WITH' if k == 0 else ','} c{k} AS ({clause}) "
                        for k, clause in enumerate(first)) + last
    db.execute(text(statement), params)


def _apply_one(db: Session, change: Change) -> None:
    table, rows = change.table, change.rows
    if change.update:
        names = [name for name in rows[0] if name != "id"]
        db.execute(update(table).where(table.c.id == bindparam("_id"))
                   .values({name: bindparam(name) for name in names}),
                   [{**row, "_id": row["id"]} for row in rows])
        return
    if change.existing:  # row by row: meant for a row or two (a student, a mark)
        for row in rows:
            where = and_(*(table.c[name] == row[name] for name in change.key))
            if change.existing == "update":
                values = {name: value for name, value in row.items() if name not in change.key}
                if db.execute(update(table).where(where).values(values)).rowcount:
                    continue
            elif db.execute(select(literal(1)).where(where)).first() is not None:
                continue
            db.execute(insert(table).values(row))
        return
    db.execute(insert(table), rows)


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


def _array(db: Session, table: Table, name: str, prefix: str) -> str:
    kind = table.c[name].type.compile(dialect=db.get_bind().dialect)
    return f"CAST(:{prefix}{name} AS {kind}[])"
