"""File exports of a report: student CSV, nbgrader CSV, Canvas gradebook CSV and JSON.

Every writer returns text; the command decides where it goes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from grader.report.build import Report

NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                    "first_name", "email", "raw_score", "late_submission_penalty", "score",
                    "max_score"]
CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Canvas's own gradebook export indents this label; its importer expects the row as written.
CANVAS_POINTS_LABEL = "    Points Possible"
JSON_FORMAT = "grader-report"
JSON_VERSION = 1
PENDING = "pending"


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) \
        and value is not pd.NaT


def _nbgrader_text(value: Any) -> str:
    # The exact text nbgrader's CsvExportPlugin writes: str() of the database value, '' for None.
    if not _present(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return str(value.to_pydatetime())
    if isinstance(value, (float, np.floating)):
        return str(float(value))
    return str(value)


def nbgrader_csv(report: Report) -> str:
    """The CSV ``nbgrader export`` writes, byte for byte.

    Columns, row order (assignments by due date then name, students by last then first name)
    and value formatting are those of nbgrader's ``CsvExportPlugin``; a missing submission
    scores 0. ``raw_score`` follows nbgrader (a manual answer not graded yet counts 0), and
    ``late_submission_penalty`` is the gradebook's (the course policy's, written by grading).

    Parameters
    ----------
    report : Report
        The report to export.

    Returns
    -------
    str
        The CSV text.
    """
    subs = report.submissions.set_index(["student_id", "assignment"])
    rows: list[list[Any]] = [NBGRADER_COLUMNS]
    students = report.data.students
    for assignment in report.data.assignments.itertuples(index=False):
        for student in students.itertuples(index=False):
            sub = subs.loc[(student.student_id, assignment.assignment)]
            if sub["submitted"]:
                raw, penalty = float(sub["nbgrader_raw_score"]), float(sub["late_penalty"])
                timestamp = sub["timestamp"]
            else:
                raw, penalty, timestamp = 0.0, 0.0, None
            values = [assignment.assignment, assignment.duedate, timestamp, student.student_id,
                      student.last_name, student.first_name, student.email, raw, penalty,
                      max(0.0, raw - penalty), float(assignment.max_score)]
            rows.append([_nbgrader_text(value) for value in values])
    return _csv(rows)


def _number(value: float) -> str:
    return f"{round(float(value), 2):g}"


def canvas_csv(report: Report) -> str:
    """A Canvas gradebook import file.

    Layout of Canvas's own gradebook export: ``Student, ID, SIS User ID, SIS Login ID,
    Section``, one column per assignment, then a ``Points Possible`` row. ``Student`` is
    "Last, First"; ``ID`` is nbgrader's ``lms_user_id``; ``SIS User ID`` is the nbgrader
    student id; ``SIS Login ID`` is left empty. Scores are after the late penalty; an
    assignment with manual items still pending is left empty (Canvas shows it as not graded
    rather than as a low grade); a missing submission scores 0, as in ``nbgrader export``.

    Parameters
    ----------
    report : Report
        The report to export.

    Returns
    -------
    str
        The CSV text.
    """
    names = report.assignment_names
    titles = [report.policy.canvas_columns.get(name, name) for name in names]
    maxima = report.data.assignments.set_index("assignment")["max_score"]
    rows: list[list[Any]] = [CANVAS_FIXED + titles,
                             [CANVAS_POINTS_LABEL, "", "", "", ""]
                             + [_number(maxima[name]) for name in names]]
    subs = report.submissions.set_index(["student_id", "assignment"])
    for student in report.data.students.itertuples(index=False):
        parts = [part for part in (student.last_name, student.first_name) if _present(part)]
        display = ", ".join(parts) if parts else student.student_id
        row = [display, student.lms_user_id if _present(student.lms_user_id) else "",
               student.student_id, "", report.policy.canvas_section]
        for name in names:
            sub = subs.loc[(student.student_id, name)]
            row.append("" if sub["pending_items"] > 0 else _number(sub["score"]))
        rows.append(row)
    return _csv(rows)


def student_csv(report: Report) -> str:
    """One row per student: assignment scores, course grade, then every item.

    Columns: ``student_id, last_name, first_name, email``; per assignment its score after
    late penalty, ``<assignment> late penalty`` and ``<assignment> status``; ``total,
    max_total, percent, letter, pending_items, missing``; then ``<assignment>/<item>`` per
    item, holding the score, ``pending`` for a manual item not graded yet, or nothing when the
    assignment was not submitted.

    Parameters
    ----------
    report : Report
        The report to export.

    Returns
    -------
    str
        The CSV text.
    """
    frame = report.students[["student_id", "last_name", "first_name", "email"]].copy()
    subs = report.submissions.set_index(["student_id", "assignment"])
    for name in report.assignment_names:
        keys = pd.MultiIndex.from_arrays([frame["student_id"], [name] * len(frame)])
        part = subs.reindex(keys)
        frame[name] = report.students[name].round(4).to_numpy()
        frame[f"{name} late penalty"] = part["late_penalty"].round(4).to_numpy()
        frame[f"{name} status"] = part["status"].to_numpy()
    for column in ("total", "max_total", "percent"):
        frame[column] = report.students[column].round(4)
    for column in ("letter", "pending_items", "missing"):
        frame[column] = report.students[column]
    pending = report.data.grades.loc[report.data.grades["pending"]]
    pending_keys = set(zip(pending["student_id"], pending["assignment"], pending["item"]))
    for assignment, item in report.item_scores.columns:
        values = report.item_scores[(assignment, item)].to_numpy(dtype=float)
        column = [
            PENDING if (sid, assignment, item) in pending_keys
            else ("" if math.isnan(value) else value)
            for sid, value in zip(report.item_scores.index, values)
        ]
        frame[f"{assignment}/{item}"] = column
    return frame.to_csv(index=False, lineterminator="\n")


def _plain(value: Any) -> Any:
    # JSON has no NaN, timestamps or NumPy scalars; convert them to null, ISO text and Python.
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in frame.to_dict(orient="records")]


def report_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data (see :func:`json_text` for the layout)."""
    scores = report.item_scores
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "course_id": report.course_id,
        "generated": report.generated,
        "policy": _plain(report.policy.to_dict()),
        "assignments": _records(report.assignments),
        "students": _records(report.students),
        "submissions": _records(report.submissions),
        "items": _records(report.items),
        "item_scores": {
            "students": [str(s) for s in scores.index],
            "columns": [[a, i] for a, i in scores.columns],
            "scores": _plain(scores.to_numpy(dtype=float)),
        },
        "failures": _records(report.failures),
        "cofailure": {name: {"items": [str(i) for i in counts.index],
                             "counts": _plain(counts.to_numpy()),
                             "correlation": _plain(report.cofailure_corr[name].to_numpy(
                                 dtype=float))}
                      for name, counts in report.cofailure.items()},
        "cofailure_pairs": _records(report.cofailure_pairs),
        "flags": _records(report.flags),
    }


def json_text(report: Report) -> str:
    """The report as JSON.

    Top-level keys: ``format`` (``"grader-report"``), ``version``, ``course_id``,
    ``generated``, ``policy``; the tables ``assignments``, ``students``, ``submissions``,
    ``items``, ``failures``, ``cofailure_pairs``, ``flags`` as lists of row objects;
    ``item_scores`` as ``{"students", "columns": [[assignment, item], ...], "scores"}``
    (``null`` for pending or not submitted); ``cofailure`` as ``{assignment: {"items",
    "counts", "correlation"}}``. Missing values are ``null``, times ISO 8601.

    Parameters
    ----------
    report : Report
        The report to export.

    Returns
    -------
    str
        The JSON text (no NaN or Infinity, so every JSON parser reads it).
    """
    return json.dumps(report_dict(report), indent=1, allow_nan=False) + "\n"


_DATETIME_COLUMNS = ("duedate", "timestamp")


def read_json(text: str) -> dict[str, Any]:
    """Read :func:`json_text` output back into pandas tables.

    Parameters
    ----------
    text : str
        A JSON report.

    Returns
    -------
    dict
        The same keys as the JSON; tables become DataFrames (time columns parsed),
        ``item_scores`` a DataFrame with ``(assignment, item)`` columns; ``cofailure`` (counts)
        and ``cofailure_corr`` (correlations) dicts of square DataFrames.

    Raises
    ------
    ValueError
        If the text is not a report of a known version.
    """
    data = json.loads(text)
    if data.get("format") != JSON_FORMAT or data.get("version") != JSON_VERSION:
        raise ValueError("not a grader report (format/version mismatch)")
    out: dict[str, Any] = dict(data)
    for key in ("assignments", "students", "submissions", "items", "failures",
                "cofailure_pairs", "flags"):
        frame = pd.DataFrame.from_records(data[key])
        for column in _DATETIME_COLUMNS:
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], format="ISO8601")
        out[key] = frame
    scores = data["item_scores"]
    columns = pd.MultiIndex.from_tuples([tuple(c) for c in scores["columns"]],
                                        names=["assignment", "item"])
    values = np.array(scores["scores"], dtype=float).reshape(len(scores["students"]),
                                                             len(columns))
    out["item_scores"] = pd.DataFrame(values, index=pd.Index(scores["students"],
                                                             name="student_id"),
                                      columns=columns)
    def square(block: dict, key: str, dtype: type) -> pd.DataFrame:
        size = len(block["items"])
        values = np.array(block[key], dtype=dtype).reshape(size, size)
        return pd.DataFrame(values, index=block["items"], columns=block["items"])

    out["cofailure"] = {name: square(block, "counts", np.int64)
                        for name, block in data["cofailure"].items()}
    out["cofailure_corr"] = {name: square(block, "correlation", float)
                             for name, block in data["cofailure"].items()}
    return out
