"""An assignment as its instructor wrote it, run in-process: the solution and its graded items.

The self-test, mutation analysis and the benchmarks of the hidden tests grade the instructor's
own solution (or a changed copy of one of its functions) without a kernel: the setup cell and
the answer cells of the source notebook run in a plain namespace, and each graded test cell's
hidden part runs against it, as :mod:`grader.grade.verdict` runs it against a submission's
stand-ins (``grade("item")`` grading an item of the assignment's spec).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.utils import is_grade, is_solution

from grader.course import Course
from grader.grade.verdict import split_hidden
from grader.hidden import FOLDER, GRADE, Hidden, load_folder, student_names


@dataclass(frozen=True)
class Item:
    """One graded test cell: its grade id, points, hidden code and the student names it uses."""

    grade_id: str
    points: float
    code: str
    uses: tuple[str, ...]


@dataclass
class Assignment:
    """One assignment of a course: its source notebook and its hidden folder, loaded.

    Parameters
    ----------
    course : Course
        The course.
    name : str
        The assignment.
    """

    course: Course
    name: str

    def __post_init__(self) -> None:
        self.course.check_assignment(self.name)
        self._hidden: Hidden | None = None

    @property
    def folder(self) -> Path:
        return self.course.source / self.name

    @property
    def hidden(self) -> Hidden:
        """The hidden folder, imported (its spec, reference and other modules)."""
        if self._hidden is None:
            self._hidden = load_folder(self.folder / FOLDER, self.name)
        return self._hidden

    @property
    def spec(self) -> Any:
        return self.hidden.spec

    def notebook(self) -> nbformat.NotebookNode:
        """The instructor's notebook (the first, when there are several)."""
        return nbformat.read(self.course.source_notebooks(self.name)[0], as_version=4)

    def solution_source(self) -> str:
        """The setup cell and every answer cell of the instructor's notebook, as one module."""
        parts = []
        for cell in self.notebook().cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("grade"):
                continue
            if is_solution(cell) or meta.get("grade_id") == "setup":
                lines = [line for line in cell.source.splitlines() if "### " not in line]
                parts.append("\n".join(lines))
        return "\n\n\n".join(parts) + "\n"

    def items(self) -> list[Item]:
        """Every autograded item of the notebook, in notebook order."""
        nb = self.notebook()
        found = []
        for index, code in split_hidden(nb).items():
            cell = nb.cells[index]
            if not is_grade(cell) or is_solution(cell):
                continue
            meta = cell.metadata.nbgrader
            found.append(Item(meta["grade_id"], float(meta.get("points", 0)), code,
                              tuple(sorted(student_names(code, self.spec)))))
        return found

    def namespace(self, source: str | None = None) -> dict[str, Any]:
        """The names the solution (or ``source``) defines, as a student's kernel holds them."""
        space: dict[str, Any] = {"__name__": "__main__"}
        code = self.solution_source() if source is None else source
        exec(compile(code, "<solution>", "exec"), space)  # noqa: S102 - the instructor's code
        return space

    def run_item(self, item: Item, space: dict[str, Any]) -> str | None:
        """Run one item's hidden test against ``space``; None when it passes, else why not."""
        names = dict(space)
        if self.spec is not None:
            names[GRADE] = lambda item_id: self.spec.run(item_id, space)
        try:
            exec(compile(item.code, f"<hidden {item.grade_id}>", "exec"), names)  # noqa: S102
        except Exception as error:  # the item's verdict: an AssertionError most often
            first = str(error).splitlines()[0] if str(error) else ""
            return f"{type(error).__name__}: {first[:200]}"
        return None


def calls(source: str) -> dict[str, set[str]]:
    """For each function of ``source``, the functions of it that it uses (transitively)."""
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
    """The solution's functions an item exercises: those it is given and those they call."""
    closure = calls(source)
    used = set(item.uses)
    for name in item.uses:
        used |= closure.get(name, set())
    return used
