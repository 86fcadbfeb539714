"""The graded items of a source notebook and the solution functions they use, in-process.

Shared by ``bench/hidden_tests.py`` (how long the hidden tests take) and ``bench/mutants.py``
(how much they catch). Nothing here runs a kernel: the solution cells are executed in a plain
namespace and each item's hidden part is run against it, as ``grader.grade.verdict`` runs it
against a submission's stand-ins.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

# The repository whose notebooks and hidden tests are used: this one, or the checkout named by
# $GRADER_REPO (bench/hidden_tests.py --compare times an older checkout that way).
REPO = Path(os.environ.get("GRADER_REPO") or Path(__file__).resolve().parents[1])
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from grader.grade.verdict import split_hidden  # noqa: E402


@dataclass(frozen=True)
class Item:
    """One graded test cell: its hidden code and the student names it passes to its check."""

    grade_id: str
    code: str
    uses: tuple[str, ...]


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def solution_source(assignment: str) -> str:
    """The setup cell and every answer cell of the instructor's notebook, as one module."""
    parts = []
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        if is_solution(cell) or meta.get("grade_id") == "setup":
            lines = [line for line in cell.source.splitlines() if "### " not in line]
            parts.append("\n".join(lines))
    return "\n\n\n".join(parts) + "\n"


def items(assignment: str) -> list[Item]:
    """Every autograded item of the notebook, in notebook order."""
    nb = source_notebook(assignment)
    found = []
    for index, code in split_hidden(nb).items():
        cell = nb.cells[index]
        if not is_grade(cell) or is_solution(cell):
            continue
        calls = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute)]
        uses = tuple(arg.id for call in calls for arg in call.args if isinstance(arg, ast.Name))
        found.append(Item(cell.metadata.nbgrader["grade_id"], code, uses))
    return found


def namespace(source: str) -> dict:
    """The names the solution defines, as a student's kernel would hold them."""
    space: dict = {"__name__": "__main__"}
    exec(compile(source, "<solution>", "exec"), space)  # noqa: S102 - the instructor's code
    return space


def calls(source: str) -> dict[str, set[str]]:
    """For each function of the solution, the solution's functions it uses (transitively)."""
    tree = ast.parse(source)
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    direct = {name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defined
                     and n.id != name} for name, node in defined.items()}
    closure = {}
    for name in defined:
        seen, todo = set(), [name]
        while todo:
            for callee in direct[todo.pop()]:
                if callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
        closure[name] = seen
    return closure


def functions_used(item: Item, source: str) -> set[str]:
    """The solution functions an item exercises: those it is given and those they call."""
    closure = calls(source)
    used = set(item.uses)
    for name in item.uses:
        used |= closure.get(name, set())
    return used


def run_item(item: Item, space: dict) -> str | None:
    """Run one item's hidden test against ``space``; None when it passes, else why not."""
    try:
        exec(compile(item.code, f"<hidden {item.grade_id}>", "exec"),  # noqa: S102
             dict(space))
    except Exception as error:  # the item's verdict: an AssertionError most often
        first = str(error).splitlines()[0] if str(error) else ""
        return f"{type(error).__name__}: {first[:200]}"
    return None
