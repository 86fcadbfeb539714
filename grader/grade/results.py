"""Per-item results of one graded submission, safe to show a student.

A failed test's message is its exception's name and text (the teaching message of the hidden
test helpers), never its traceback: IPython's traceback quotes the test cell's source, hidden
tests included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook

MAX_MESSAGE = 1500
AWAITING, HELD_FOR_REVIEW = "awaiting grading", "held for review"


@dataclass(frozen=True)
class ItemResult:
    """One graded cell of a submission.

    Attributes
    ----------
    notebook, grade_id : str
        Where the item is.
    manual : bool
        Graded by hand (a written answer) rather than by tests.
    score : float or None
        Points earned; None while the item is pending: a written answer awaiting grading,
        or a tested item held for review (its hidden test could not decide).
    max_score : float
        Points available.
    message : str or None
        Why a test failed, as the test said it. Never the reason an item was held: that is
        written for the person who decides, and a suspicion is not a verdict.
    """

    notebook: str
    grade_id: str
    manual: bool
    score: float | None
    max_score: float
    message: str | None = None

    @property
    def status(self) -> str:
        """``passed``, ``failed``, ``partial`` or ``pending`` (manual item not graded yet)."""
        if self.score is None:
            return "pending"
        if self.score >= self.max_score:
            return "passed"
        return "partial" if self.score > 0 else "failed"

    @property
    def pending_label(self) -> str | None:
        """What a pending item waits for, in words; None when the item is not pending."""
        if self.score is not None:
            return None
        return AWAITING if self.manual else HELD_FOR_REVIEW


def _score(manual_score: float | None, auto_score: float | None) -> float | None:
    # nbgrader's Grade.score reads 0 when nothing is set yet; here that is "pending".
    if manual_score is not None:
        return float(manual_score)
    return None if auto_score is None else float(auto_score)


def error_text(output: dict) -> str:
    """An error output as ``Name: text``, or ``Name`` alone when it has no text."""
    name = output.get("ename") or "Error"
    text = str(output.get("evalue") or "").strip()
    return f"{name}: {text}" if text else name


def failure_message(cell: NotebookNode) -> str | None:
    """The first error of a cell as ``Name: text``, cut to a readable length."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = error_text(output)
            return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " …"
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "wrote to stderr: " + str(output.get("text", ""))[:200]
    return None


def item_results(db_url: str, autograded: Path, assignment: str,
                 student: str) -> list[ItemResult]:
    """Every graded item of ``student``'s submission, in notebook order.

    Parameters
    ----------
    db_url : str
        The gradebook.
    autograded : Path
        ``autograded/<student>/<assignment>/`` holding the executed notebooks.
    assignment, student : str
        The submission.
    """
    results = []
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            grades = {g.name: g for g in notebook.grades}
            path = autograded / f"{notebook.name}.ipynb"
            cells = nbformat.read(path, as_version=4).cells if path.exists() else []
            order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in cells]
            by_id = dict(zip(order, cells))
            for name in sorted(grades, key=lambda n: order.index(n) if n in order else 10**6):
                grade = grades[name]
                manual = grade.cell.cell_type == "markdown"
                cell = by_id.get(name)
                score = _score(grade.manual_score, grade.auto_score)
                shown = cell is not None and not manual and score is not None
                message = failure_message(cell) if shown else None
                results.append(ItemResult(notebook.name, name, manual, score,
                                          float(grade.max_score), message))
    return results
