"""Build the bundled example submissions from the released notebooks.

Each synthetic student's answers live in ``examples/answers/<assignment>/<student>.py``, one
section per answer cell, in the "percent" notebook style::

    # %% sigmoid                  the answer cell with grade_id "sigmoid"
    def sigmoid(z):
        ...
    # %% derivation_reduction     a written (Markdown) answer, as comment lines

A section for a function cell starts with the cell's ``def`` line, which must match the released
one; its body replaces the ``# YOUR CODE HERE`` stub, so the released docstring stays in place.
A section for a cell without a function replaces the stub as a whole. Cells without a section
keep their stub, exactly as a student who never touched them would submit them. Everything
before the first section is the file's own preamble: it says in its docstring what the student
gets wrong, and declares what that costs (``LOSES = {"test_...", ...}``, or ``"everything"``;
``FLAGGED = [...]`` for what the staff's flags must say), which the example class's test checks.

The output is ``examples/submitted/<student>/<assignment>/<assignment>.ipynb``, nbgrader's
``submitted/`` layout. Run from the repository root::

    .venv/bin/python examples/make_examples.py [--release DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
ANSWERS = EXAMPLES / "answers"
TEXT_STUB = "YOUR ANSWER HERE"
STUB = re.compile(r"^(?P<indent>[ \t]*)# YOUR CODE HERE\n(?P=indent)raise NotImplementedError\(\)",
                  flags=re.MULTILINE)
SECTION = re.compile(r"^# %% (?P<grade_id>\w+)\s*$")

# Submissions damaged on purpose: the notebook file is cut off after this fraction of its text,
# the way an interrupted upload leaves it (invalid JSON).
TRUNCATED = {("gus", "cross_entropy"): 0.6}


@dataclass(frozen=True)
class Expected:
    """What a student's answers should earn, as their file's preamble declares it.

    ``loses`` is the set of grade ids the answers lose (``LOSES = {...}``), or None for every
    item (``LOSES = "everything"``: an untouched release, a damaged upload); ``flagged``
    lists the phrases the staff's flags for review must say (``FLAGGED = [...]``).
    """

    loses: frozenset[str] | None
    flagged: tuple[str, ...] = ()


def read_expected(path: Path) -> Expected:
    """The ``LOSES`` and ``FLAGGED`` declarations of an answers file (literals only)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else \
            node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("LOSES", "FLAGGED"):
                found[target.id] = ast.literal_eval(node.value)
    if "LOSES" not in found:
        raise ValueError(f"{path}: declare LOSES = {{grade ids}} (or \"everything\")")
    loses = found["LOSES"]
    return Expected(None if loses == "everything" else frozenset(loses),
                    tuple(found.get("FLAGGED", ())))


def read_answers(path: Path) -> dict[str, str]:
    """The sections of an answers file: ``{grade_id: text}``."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = SECTION.match(line)
        if match:
            if match["grade_id"] in sections:
                raise ValueError(f"{path}: two sections for {match['grade_id']!r}")
            current = sections[match["grade_id"]] = []
        elif current is not None:
            current.append(line)
    return {grade_id: "\n".join(lines).strip("\n") for grade_id, lines in sections.items()}


def fill_code(source: str, answer: str, where: str) -> str:
    """The released cell ``source`` with its stub replaced by ``answer``."""
    match = STUB.search(source)
    if match is None:
        raise ValueError(f"{where}: the released cell has no stub to replace")
    indent = match["indent"]
    lines = answer.splitlines()
    if indent:
        released_def = next(line for line in source.splitlines() if line.startswith("def "))
        if not lines or lines[0] != released_def:
            raise ValueError(f"{where}: the answer must start with the released {released_def!r}")
        lines = lines[1:]
        body = "\n".join(line if line.startswith(indent) or not line.strip() else indent + line
                         for line in lines)
    else:
        body = "\n".join(lines)
    return source[: match.start()] + body.rstrip() + source[match.end():]


def fill(nb: nbformat.NotebookNode, answers: dict[str, str],
         where: str) -> nbformat.NotebookNode:
    """Fill the answer cells of a released notebook (modified in place) and return it."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    for grade_id, text in answers.items():
        cell = cells.get(grade_id)
        if cell is None:
            raise ValueError(f"{where}: no answer cell {grade_id!r} in the release")
        if cell.cell_type == "markdown":
            if TEXT_STUB not in cell.source:
                raise ValueError(f"{where}: {grade_id!r} has no {TEXT_STUB!r} to replace")
            prose = "\n".join(re.sub(r"^# ?", "", line) for line in text.splitlines())
            cell.source = cell.source.replace(TEXT_STUB, prose)
        else:
            cell.source = fill_code(cell.source, text, f"{where}, {grade_id}")
    return nb


def build(release: Path, out: Path) -> list[Path]:
    """Write every student's submission of every assignment under ``out``; return the paths.

    Parameters
    ----------
    release : Path
        ``release/`` of the course: ``<assignment>/<assignment>.ipynb``.
    out : Path
        Where the submissions go: ``<student>/<assignment>/<assignment>.ipynb``.
    """
    written = []
    for answers_file in sorted(ANSWERS.glob("*/*.py")):
        assignment, student = answers_file.parent.name, answers_file.stem
        nb = nbformat.read(release / assignment / f"{assignment}.ipynb", as_version=4)
        fill(nb, read_answers(answers_file), f"{student}/{assignment}")
        target = out / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(nb) + "\n"
        if (student, assignment) in TRUNCATED:
            text = text[: int(len(text) * TRUNCATED[student, assignment])]
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=REPO / "release",
                        help="released notebooks (default: release/ of the course)")
    parser.add_argument("--out", type=Path, default=EXAMPLES / "submitted",
                        help="output directory (default: examples/submitted)")
    args = parser.parse_args()
    for path in build(args.release, args.out):
        print(path.relative_to(args.out))


if __name__ == "__main__":
    main()
