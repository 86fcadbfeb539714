"""Stock ``nbgrader autograde`` on this course: the hidden tests in the student's kernel.

``grader grade`` never runs a hidden test in the student's kernel. nbgrader's own ``autograde``
(and formgrader's autograde button) does: it runs each test cell whole, hidden part included,
in the kernel. A hidden part that grades an item of the assignment's spec, ``grade("item")``,
needs the spec there, so :class:`ExecuteWithSpec` (nbgrader's ``Execute``, listed in its place
in ``Autograde.autograde_preprocessors`` by the course's ``nbgrader_config.py``) first runs a
cell that imports the assignment's hidden folder into the kernel and defines ``grade``, and
takes that cell out of the notebook again before nbgrader saves it.

This is stock nbgrader's trust model, kept for comparison and for formgrader: the student's
code shares the kernel with the hidden tests and the reference, and can change what they see.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from grader.hidden import FOLDER

#: Marks the cell :class:`ExecuteWithSpec` adds (and removes).
MARK = "grader-stock-spec"


class ExecuteWithSpec(Execute):
    """nbgrader's ``Execute``, with ``grade`` defined in the kernel before the first cell."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple:
        assignment = resources.get("nbgrader", {}).get("assignment")
        root = self.config.get("CourseDirectory", {}).get("root") or os.getcwd()
        folder = Path(root, "source", str(assignment), FOLDER)
        if not assignment or not (folder / "spec.py").is_file():
            return super().preprocess(nb, resources)
        setup = nbformat.v4.new_code_cell(
            "from grader.hidden import kernel_grade as _kernel_grade\n"
            f"grade = _kernel_grade({str(folder)!r}, {assignment!r})\n"
            "del _kernel_grade")
        setup.metadata[MARK] = True
        nb.cells.insert(0, setup)
        try:
            return super().preprocess(nb, resources)
        finally:
            nb.cells = [c for c in nb.cells if not c.metadata.get(MARK)]


def autograde_preprocessors() -> list[type]:
    """nbgrader's own ``Autograde.autograde_preprocessors``, with ``ExecuteWithSpec`` for
    ``Execute``."""
    from nbgrader.converters import Autograde

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    return [ExecuteWithSpec if step is Execute else step for step in default]
