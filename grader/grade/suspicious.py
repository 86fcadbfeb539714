"""Flag submissions that try to game the grader, for the instructor to look at.

Nothing here changes a score: the trusted verdicts already make these attempts worthless. It
reads what the student wrote (the cells they can edit) for things an honest answer to this
course has no reason to do, and what nbgrader had to repair in the notebook's test cells.
"""

from __future__ import annotations

import ast
import re

from nbformat import NotebookNode

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("replaces a comparison or test function",
     re.compile(r"\b(np|numpy|math|testing|checks)\.(allclose|isclose|array_equal|testing"
                r"|assert_\w+)\b[^=\n]*=(?!=)")),
    ("installs an IPython hook",
     re.compile(r"set_custom_exc|showtraceback|input_transformers|ast_transformers"
                r"|events\.register|register_magic")),
    ("changes the tracer or profiler", re.compile(r"\bsys\.(settrace|setprofile)\b")),
    ("walks the call stack or the heap",
     re.compile(r"_getframe|inspect\.(stack|currentframe)|\bf_back\b|\bf_locals\b"
                r"|gc\.get_(objects|referrers|referents)")),
    ("reaches for instructor files or the grader",
     re.compile(r"\bgrader\b|gradebook|nbgrader|source/|release/|autograded|__grader")),
    ("replaces builtins or output streams",
     re.compile(r"__builtins__|builtins\.\w+\s*=(?!=)|sys\.(stdout|stderr|displayhook"
                r"|excepthook)\s*=(?!=)")),
    ("signals, forks or leaves the kernel",
     re.compile(r"os\.(kill|killpg|_exit|fork)|signal\.|subprocess|ctypes|\bsocket\b")),
]
# What nbgrader's repairs say when a student edited what they were not meant to.
REPAIRS = re.compile(r"Attribute '(cell_type|locked|points|grade|solution|task)'"
                     r"|Missing grade cell|exists multiple times|does not know")


# Numerical differentiation helpers: the notebook's own, CS231n's, SciPy's. An answer that
# returns one's result as its gradient has avoided the derivation the course asks for (the
# hidden tests fail such gradients where they can; this flags the submission for review).
NUMERICAL = {"numerical_gradient", "eval_numerical_gradient", "approx_fprime"}


def numerical_gradients(cell: NotebookNode) -> list[str]:
    """Functions defined in ``cell`` that call a numerical-differentiation helper."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    found = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in NUMERICAL:
                    found.append(f"{function.name} computes a gradient by finite differences "
                                 f"(calls {name}) instead of the derived formula")
                    break
    return found


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
    for cell in student_cells(nb):
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or "a cell"
        for reason, pattern in PATTERNS:
            match = pattern.search(cell.source)
            if match:
                found.append(f"{label} {reason} ({match.group(0).strip()[:40]!r})")
        if cell.metadata.get("nbgrader", {}).get("solution"):  # answers, not scratch cells
            found += [f"{label}: {why}" for why in numerical_gradients(cell)]
    edited = sorted({m.group(0) for text in repairs for m in [REPAIRS.search(text)] if m})
    if edited:
        found.append("edited graded cells or their metadata (restored: " + ", ".join(edited) + ")")
    return found
