"""What Gradescope's ``run_autograder`` runs: find the submitted notebook, grade it with
``grader ci``, and make sure ``results/results.json`` exists whatever happens.

Gradescope keeps the student's upload as it was named; the grader needs the assignment's
notebook name, so a lone notebook with another name is graded under the expected one. The
submission's time and the assignment's due date come from Gradescope's
``submission_metadata.json`` (``created_at``, ``assignment.due_date``): a late notebook loses
the course's late penalty, as it would in the course's gradebook.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CI = "from grader.cli import main; main()"


def find_submission(submission: Path, expected: list[str]) -> Path | None:
    """The submitted notebook: one with an expected name, else the only notebook uploaded."""
    notebooks = sorted(p for p in submission.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in notebooks if p.name in expected]
    if named:
        return named[0]
    return notebooks[0] if len(notebooks) == 1 else None


def lateness_options(metadata: Path) -> list[str]:
    """``grader ci``'s ``--submitted`` and ``--due`` from Gradescope's submission metadata
    (none when it is missing, unreadable or has no due date)."""
    try:
        data = json.loads(metadata.read_text(encoding="utf-8"))
        submitted, due = data["created_at"], data["assignment"]["due_date"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not (isinstance(submitted, str) and isinstance(due, str)):
        return []
    return ["--submitted", submitted, "--due", due]


def not_graded(results: Path, message: str) -> None:
    """A results.json that gives 0 and tells the student why."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({"score": 0.0, "output": message, "tests": []}, indent=2)
                       + "\n", encoding="utf-8")


def run(root: Path, assignment: str) -> int:
    """Grade ``root/submission`` as ``assignment``; always leave ``root/results/results.json``.

    Parameters
    ----------
    root : Path
        Gradescope's ``/autograder`` (with ``source/``, ``submission/``, ``results/``).
    assignment : str
        The assignment the zip was built for.

    Returns
    -------
    int
        ``grader ci``'s exit status (0 graded), or 1 when there was nothing to grade.
    """
    course = root / "source"
    results = root / "results" / "results.json"
    expected = sorted(p.name for p in (course / "source" / assignment).glob("*.ipynb"))
    notebook = find_submission(root / "submission", expected)
    if notebook is None:
        not_graded(results, f"No notebook to grade: upload {' or '.join(expected)}.")
        return 1
    with tempfile.TemporaryDirectory(prefix="submission-") as tmp:
        if notebook.name not in expected:
            renamed = Path(tmp) / expected[0]
            shutil.copy2(notebook, renamed)
            notebook = renamed
        status = subprocess.run(
            [sys.executable, "-c", CI, "ci", str(notebook), "--assignment", assignment,
             "--out", str(results), "--course", str(course),
             *lateness_options(root / "submission_metadata.json")], cwd=course).returncode
    if not results.is_file():
        not_graded(results, "The autograder could not grade this notebook; "
                            "please tell the course staff.")
        return status or 1
    return status


def main(argv: list[str] | None = None) -> int:
    """Command line of ``run_autograder``: ``--root DIR --assignment NAME``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    return run(args.root.resolve(), args.assignment)
