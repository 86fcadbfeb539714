"""Flag submissions that try to game the grader, for the instructor to look at.

Nothing here changes a score: the trusted verdicts already make these attempts worthless. It
reads what the student's code does (:mod:`grader.grade.codescan`: names, attributes, calls and
imports in the parsed cells they can edit; comments and prose never count), and what nbgrader
had to repair in the notebook's test cells. Every flag names the cell and the line.
"""

from __future__ import annotations

import ast
import re

from nbformat import NotebookNode

from grader.grade.codescan import findings, imports, parse

# What nbgrader's repairs say when a student edited what they were not meant to.
REPAIRS = re.compile(r"Attribute '(cell_type|locked|points|grade|solution|task)'"
                     r"|Missing grade cell|exists multiple times|does not know")


def _function_at(source: str, line: int) -> str | None:
    """The name of the top-level function whose body holds ``line`` of ``source``."""
    tree = parse(source)
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            return node.name
    return None


def student_cells(nb: NotebookNode) -> list[NotebookNode]:
    """Code cells the student could edit (not locked by nbgrader)."""
    return [c for c in nb.cells if c.cell_type == "code"
            and not c.metadata.get("nbgrader", {}).get("locked", False)]


def suspicious(nb: NotebookNode, repairs: list[str]) -> list[str]:
    """Why the submission looks like an attempt to game the grader (empty when it does not).

    Parameters
    ----------
    nb : NotebookNode
        The sanitized notebook, before execution.
    repairs : list of str
        What nbgrader reported while restoring the notebook's graded cells.
    """
    found = []
    modules = imports([c.source for c in nb.cells if c.cell_type == "code"])
    for cell in student_cells(nb):
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or "a cell"
        answer = cell.metadata.get("nbgrader", {}).get("solution", False)
        for finding in findings(cell.source, modules):
            if finding.kind == "numeric" and not answer:
                continue  # checking a gradient numerically in a scratch cell is the point
            name = _function_at(cell.source, finding.line)
            what = f"{name} {finding.reason}" if finding.kind == "numeric" and name else \
                finding.reason
            found.append(f"{label}, line {finding.line}: {what} ({finding.code!r})")
    edited = sorted({m.group(0) for text in repairs for m in [REPAIRS.search(text)] if m})
    if edited:
        found.append("edited graded cells or their metadata (restored: " + ", ".join(edited) + ")")
    return found
