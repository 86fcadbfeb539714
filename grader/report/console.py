"""The report as readable terminal tables (``grader report --format table``)."""

from __future__ import annotations

import io
import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from grader.report.build import Report

_DASH = "—"


def _num(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _DASH
    return f"{value:.{digits}f}"


def _assignment_cell(sub: pd.Series) -> str:
    if sub["status"] == "missing":
        return "missing"
    text = _num(sub["score"])
    if sub["late_penalty"] > 0:
        text += f" (−{sub['late_penalty']:g} late)"
    if sub["pending_items"] > 0:
        text += " *"
    if sub["status"] in ("failed", "partial"):
        text += " !"
    return text


def _overview(report: Report) -> Table:
    table = Table(title="Assignments", title_justify="left")
    for column in ("assignment", "due", "max", "weight", "submitted", "pending", "mean",
                   "median"):
        table.add_column(column, justify="left" if column in ("assignment", "due") else "right")
    for row in report.assignments.itertuples(index=False):
        due = "" if pd.isna(row.duedate) else row.duedate.strftime("%Y-%m-%d %H:%M")
        table.add_row(row.assignment, due, _num(row.max_score), f"{row.weight:.0%}",
                      f"{row.submitted}/{row.students}", str(row.pending), _num(row.mean),
                      _num(row.median))
    return table


def _students(report: Report) -> Table:
    table = Table(title="Students (* manual grading pending, ! not or only partly graded)",
                  title_justify="left")
    table.add_column("student")
    table.add_column("name")
    names = report.assignment_names
    for name in names:
        table.add_column(name, justify="right")
    for column in ("total", "course %", "letter"):
        table.add_column(column, justify="right")
    subs = report.submissions.set_index(["student_id", "assignment"])
    for row in report.students.itertuples(index=False):
        person = ", ".join(str(p) for p in (row.last_name, row.first_name) if isinstance(p, str))
        cells = [_assignment_cell(subs.loc[(row.student_id, name)]) for name in names]
        letter = row.letter + (" *" if row.pending_items else "")
        table.add_row(row.student_id, person, *cells,
                      f"{_num(row.total)}/{_num(row.max_total)}", _num(row.percent), letter)
    return table


def _items(report: Report) -> Table:
    table = Table(title="Items (discrimination: corrected item-total correlation)",
                  title_justify="left")
    for column in ("assignment", "item", "max", "graded", "pending", "mean %", "sd", "full",
                   "partial", "zero", "discr.", "most common failure"):
        table.add_column(column, justify="left" if column in (
            "assignment", "item", "most common failure") else "right",
            overflow="fold")
    for row in report.items.itertuples(index=False):
        first = row.common_failures.split(" | ")[0] if row.common_failures else ""
        table.add_row(row.assignment, row.item, _num(row.max_score, 0), str(row.graded),
                      str(row.pending), _num(row.mean_percent), _num(row.std, 2),
                      _num(100 * row.full, 0), _num(100 * row.partial, 0),
                      _num(100 * row.zero, 0), _num(row.discrimination, 2), first)
    return table


def _pairs(report: Report, limit: int = 10) -> Table:
    table = Table(title="Items failed together (correlation of failing both)",
                  title_justify="left")
    for column in ("assignment", "item", "item", "failed both", "Jaccard", "correlation"):
        table.add_column(column, justify="right" if column in (
            "failed both", "Jaccard", "correlation") else "left")
    for row in report.cofailure_pairs.head(limit).itertuples(index=False):
        table.add_row(row.assignment, row.item_a, row.item_b, str(row.both),
                      _num(row.jaccard, 2), _num(row.correlation, 2))
    return table


def _flags(report: Report) -> Table:
    table = Table(title="Flagged submissions", title_justify="left")
    for column in ("student", "assignment", "kind", "reason"):
        table.add_column(column, overflow="fold")
    for row in report.flags.itertuples(index=False):
        table.add_row(row.student_id, row.assignment, row.kind, row.reason)
    return table


def table_text(report: Report, width: int | None = None, color: bool = False) -> str:
    """Render the report's tables as text.

    Parameters
    ----------
    report : Report
        The report.
    width : int, optional
        Line width; 160 when not given.
    color : bool
        Keep terminal colour codes.

    Returns
    -------
    str
        Assignments, students, items and flagged submissions, one table each.
    """
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=color,
                      color_system="standard" if color else None, highlight=False)
    header = f"Grade report · {report.course_id or 'course'} · {report.generated}"
    console.print(header)
    if not report.assignment_names:
        console.print("The gradebook has no assignments yet.")
        return buffer.getvalue()
    console.print(_overview(report))
    if len(report.students):
        console.print(_students(report))
    else:
        console.print("No students in the gradebook.")
    console.print(_items(report))
    if len(report.cofailure_pairs):
        console.print(_pairs(report))
    if len(report.flags):
        console.print(_flags(report))
    else:
        console.print("No flagged submissions.")
    return buffer.getvalue()
