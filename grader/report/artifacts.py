"""What the gradebook does not hold: grading-run records and failure messages.

Both come from ``autograded/<student>/<assignment>/``: the grading pipeline writes
``.grading.json`` there (status, reason, suspicious findings), and the autograded notebooks keep
the outputs of every test cell. A test cell that failed shows an error output (its exception
name and message) or, for nbgrader's other zero-credit rule, output on stderr.

The whole exception message is kept, on one line: the course's hidden tests write teaching
messages that often print an array over several lines and end with the hint, so neither the
first nor the last line alone says what went wrong.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

RUN_RECORD = ".grading.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_MESSAGE = 200


def _one_line(text: str) -> str:
    return " ".join(_ANSI.sub("", text or "").split())


def _last_line(text: str) -> str:
    lines = [line.strip() for line in _ANSI.sub("", text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def failure_message(outputs: Iterable[dict]) -> str | None:
    """The failure message of one test cell's outputs, or ``None`` when it passed.

    Parameters
    ----------
    outputs : iterable of dict
        The cell's outputs in nbformat's JSON form.

    Returns
    -------
    str or None
        ``"<ename>: <evalue on one line>"`` for an error; ``"stderr: <last line>"`` when
        the cell only wrote to stderr (nbgrader gives such cells no credit either). At most
        200 characters.
    """
    stderr = None
    for output in outputs:
        kind = output.get("output_type")
        if kind == "error":
            name = output.get("ename") or "Error"
            detail = _one_line(output.get("evalue", ""))
            return _shorten(f"{name}: {detail}" if detail else name)
        if kind == "stream" and output.get("name") == "stderr" and stderr is None:
            text = output.get("text", "")
            stderr = _last_line("".join(text) if isinstance(text, list) else text)
    if stderr is not None:
        return _shorten(f"stderr: {stderr}" if stderr else "stderr output")
    return None


def notebook_failures(path: Path) -> list[tuple[str, str]]:
    """``(grade_id, message)`` of every failed test cell of one autograded notebook.

    Unreadable notebooks give no messages: their submission is reported through the grading
    record and the gradebook instead.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            notebook = json.load(handle)
    except (OSError, ValueError):
        return []
    found = []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        # Test cells are graded and not solutions; answers graded by hand have no outputs
        # that decide their score.
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        message = failure_message(cell.get("outputs", []))
        if message is not None and meta.get("grade_id"):
            found.append((str(meta["grade_id"]), message))
    return found


def _submission_dirs(autograded: Path, assignments: Iterable[str]):
    wanted = set(assignments)
    if not wanted or not autograded.is_dir():
        return
    with os.scandir(autograded) as students:
        for student in students:
            if not student.is_dir() or student.name.startswith("."):
                continue
            for assignment in wanted:
                folder = Path(student.path) / assignment
                if folder.is_dir():
                    yield student.name, assignment, folder


def read_artifacts(course_dir: str | Path,
                   assignments: Iterable[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read grading records and failure messages of the given assignments.

    Parameters
    ----------
    course_dir : str or Path
        The course directory holding ``autograded/``.
    assignments : iterable of str
        Assignment names to read.

    Returns
    -------
    runs : DataFrame
        ``student_id, assignment, status, reason, suspicious, held`` per record found.
        ``status`` is the record's (``graded``, ``partial``, ``failed``; ``unknown`` for an
        unreadable record); ``reason`` its ``reason``, or its ``reasons`` joined by "; ";
        ``suspicious`` a list of str; ``held`` maps each item held for review to its reason.
    messages : DataFrame
        ``student_id, assignment, notebook, item, message`` per failed test cell.
    """
    runs, messages = [], []
    for student, assignment, folder in _submission_dirs(Path(course_dir) / "autograded",
                                                        assignments):
        record = folder / RUN_RECORD
        if record.is_file():
            runs.append(_run_record(record, student, assignment))
        for notebook in sorted(folder.glob("*.ipynb")):
            for item, message in notebook_failures(notebook):
                messages.append((student, assignment, notebook.stem, item, message))
    runs_frame = pd.DataFrame(
        runs, columns=["student_id", "assignment", "status", "reason", "suspicious", "held"])
    messages_frame = pd.DataFrame(
        messages, columns=["student_id", "assignment", "notebook", "item", "message"])
    return runs_frame, messages_frame


def _run_record(path: Path, student: str, assignment: str) -> tuple:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        # A damaged record must not hide the submission: report it as a grading problem.
        return (student, assignment, "unknown", f"unreadable {RUN_RECORD}: {error}", [], {})
    suspicious = data.get("suspicious") or []
    if isinstance(suspicious, str):
        suspicious = [suspicious]
    # One "reason", or the list of "reasons" the grading pipeline accumulates.
    reason = data.get("reason")
    if reason is None and data.get("reasons"):
        reasons = data["reasons"]
        reason = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
    held = data.get("held") if isinstance(data.get("held"), dict) else {}
    return (student, assignment, str(data.get("status") or "graded"),
            None if reason is None else str(reason), [str(item) for item in suspicious],
            {str(item): str(why) for item, why in held.items()})
