"""Prepare a submitted notebook for execution, the way ``nbgrader autograde`` does.

nbgrader's own sanitizing preprocessors run in order: outputs cleared, duplicated grade ids
dropped, the kernel spec reset, every graded and locked cell restored from the gradebook (test
cells deleted by the student are added back), and the metadata validated. What they report
about the notebook (a changed checksum, a re-added cell) is kept as messages for the record.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
from nbformat import NotebookNode
from nbgrader.nbgraderformat import common as nbgraderformat_common
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    NbGraderPreprocessor,
    OverwriteCells,
)
from traitlets.config import Config

from grader.grade.snapshot import CellCatalog
from grader.logcapture import Capture


def cells_of(resources: dict) -> CellCatalog:
    """The gradebook's cells the steps below read: the catalog given, or read now."""
    info = resources["nbgrader"]
    catalog = info.get("cells")
    if catalog is None or catalog.db_url != info["db_url"]:
        catalog = info["cells"] = CellCatalog(info["db_url"])
    return catalog


class RestoreCellRoles(NbGraderPreprocessor):
    """Give every cell back the nbgrader role the gradebook records for its grade id.

    nbgrader's ``OverwriteCells`` restores sources, points and the locked flag, but trusts the
    grade/solution/task flags it finds, so a test cell re-flagged as an answer stops the whole
    notebook ("Inconsistent checksums"). Cells whose id the gradebook does not know, or whose
    metadata ``DeduplicateIds`` emptied, become plain cells instead of invalid ones.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        notebook = cells_of(resources).find_notebook(info["notebook"], info["assignment"])
        roles = {c.name: {"grade": False, "solution": False, "task": False,
                          "locked": c.locked} for c in notebook.source_cells}
        for kind, cells in (("grade", notebook.grade_cells),
                            ("solution", notebook.solution_cells),
                            ("task", notebook.task_cells)):
            for graded in cells:
                roles[graded.name][kind] = True
        self._roles = roles
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            return cell, resources
        role = self._roles.get(meta.get("grade_id"))
        if role is None:
            if meta:
                self.log.warning("Cell %d has nbgrader metadata the gradebook does not know "
                                 "(grade id %r); graded as a plain cell", index,
                                 meta.get("grade_id"))
            del cell.metadata["nbgrader"]
            return cell, resources
        for flag, value in role.items():
            if bool(meta.get(flag, False)) != value:
                self.log.warning("Attribute '%s' for cell %s has changed! (should be: %s)",
                                 flag, meta["grade_id"], value)
                meta[flag] = value
        return cell, resources


class RestoreMissingCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, re-adding deleted grade cells wherever they belong.

    nbgrader puts a missing cell after the cell that precedes it in the source and fails with a
    KeyError when that cell is gone too (an answer deleted with its test). Here a missing cell
    goes after the nearest earlier cell that is still present, or first.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        # nbgrader's own, with the catalog standing in for a gradebook opened per notebook
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = cells_of(resources)
        nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources

    def add_missing_grade_cells(self, nb: NotebookNode, resources: dict):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [c.name for c in source_nb.source_cells]
        sources = {c.name: c for c in source_nb.source_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        present = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
                   if c.metadata.get("nbgrader", {}).get("grade_id")}
        for grade_cell in source_nb.grade_cells:
            name = grade_cell.name
            if name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
            added = self.missing_cell_transform(sources[name], grade_cell.max_score,
                                                is_solution=name in solutions)
            added["id"] = f"restored-{name}"[:64]
            position = 0
            for earlier in reversed(order[:order.index(name)]):
                if earlier in present:
                    position = 1 + next(i for i, c in enumerate(nb.cells)
                                        if c is present[earlier])
                    break
            nb.cells.insert(position, added)
            present[name] = added
        return nb, resources


class RestoreKernelspec(NbGraderPreprocessor):
    """nbgrader's ``OverwriteKernelspec``: the notebook runs with the instructor's kernel spec."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        kernelspec = cells_of(resources).find_notebook(info["notebook"],
                                                       info["assignment"]).kernelspec
        if kernelspec:
            nb.metadata["kernelspec"] = json.loads(kernelspec)
        return nb, resources


class _CompiledSchemas:
    """``jsonschema`` as nbgrader's metadata validator calls it, with each schema compiled once.

    ``jsonschema.validate`` checks the schema against the meta-schema at every call, and
    nbgrader calls it for every cell: most of the time of sanitizing a notebook.
    """

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def validate(self, instance: Any, schema: dict) -> None:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


_SCHEMAS = _CompiledSchemas()


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata``, its JSON schema compiled once per process."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        original = nbgraderformat_common.jsonschema
        nbgraderformat_common.jsonschema = _SCHEMAS  # this process runs one step at a time
        try:
            return super().preprocess(nb, resources)
        finally:
            nbgraderformat_common.jsonschema = original


STEPS = (ClearOutput, DeduplicateIds, RestoreCellRoles, RestoreKernelspec, RestoreMissingCells,
         CheckCellMetadataOnce)


class DamagedNotebook(Exception):
    """A submitted notebook that cannot be read or repaired; the message says why."""


@dataclass
class Sanitized:
    """A notebook ready to execute and what sanitizing it revealed."""

    notebook: NotebookNode
    messages: list[str] = field(default_factory=list)


def read_notebook(path: Path) -> NotebookNode:
    """Read a submitted notebook, turning every way it can be unreadable into DamagedNotebook."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DamagedNotebook(f"{path.name}: cannot be read ({error})") from error
    return parse_notebook(data, path.name)


def parse_notebook(data: bytes, name: str) -> NotebookNode:
    """Parse the bytes of a submitted notebook called ``name`` (see :func:`read_notebook`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DamagedNotebook(f"{name}: cannot be read ({error})") from error
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise DamagedNotebook(
            f"{name}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    if not isinstance(parsed, dict) or not isinstance(parsed.get("cells"), list):
        raise DamagedNotebook(f"{name}: JSON but not a notebook (no list of cells)")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for malformed structure
        raise DamagedNotebook(f"{name}: not a valid notebook ({error})") from error


# What nbgrader reports about a cell, and which of the cell's properties each report is about:
# the attribute it restored (a checksum is about the cell's content), or a cell it re-added.
_ATTRIBUTE = re.compile(r"Attribute '(?P<attr>\w+)' for cell (?P<cell>\S+) has changed!")
_MISSING = re.compile(r"Missing grade cell (?P<cell>\S+) encountered")
_UNKNOWN = re.compile(r"the gradebook does not know \(grade id (?P<cell>'[^']*'|\"[^\"]*\")\)")
_ROLES = ("grade", "solution", "task", "locked")


def _given(cell: NotebookNode) -> dict[str, Any]:
    """The properties of an nbgrader cell that nbgrader checks and restores."""
    meta = cell.metadata.get("nbgrader", {})
    try:
        points = float(meta.get("points", 0) or 0)
    except (TypeError, ValueError):  # an edited value: never equal to a released one
        points = repr(meta.get("points"))
    content = hashlib.sha256(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()
    return {"cell_type": cell.cell_type, "points": points, "checksum": content,
            **{role: bool(meta.get(role, False)) for role in _ROLES}}


def released_cells(nb: NotebookNode) -> dict[str, dict[str, Any]]:
    """What a student is given of each nbgrader cell, by grade id: its type, roles, points
    and a hash of its content (the first cell of an id, as nbgrader keeps it)."""
    given: dict[str, dict[str, Any]] = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and grade_id not in given:
            given[grade_id] = _given(cell)
    return given


def _as_given(message: str, submitted: dict[str, dict], released: dict[str, dict]) -> bool:
    """Whether nbgrader's ``message`` is about something the student left as it was given.

    Such a report describes a difference between the release and the gradebook (a test cell
    released without its hidden part; a release whose test cells say unlocked where the
    gradebook records them locked): nbgrader's own, never evidence about the student.
    """
    if match := _ATTRIBUTE.search(message):
        cell, attribute = match["cell"], match["attr"]
        mine, given = submitted.get(cell), released.get(cell)
        return (mine is not None and given is not None and attribute in given
                and mine[attribute] == given[attribute])
    if match := _MISSING.search(message):
        return match["cell"] not in released  # the release lacks it too
    if match := _UNKNOWN.search(message):
        cell = ast.literal_eval(match["cell"])
        return cell in released and submitted.get(cell) == released[cell]
    return False


def sanitize(nb: NotebookNode, resources: dict, config: Config,
             released: dict[str, str] | None = None,
             catalog: CellCatalog | None = None) -> Sanitized:
    """Run nbgrader's sanitizing preprocessors on ``nb``.

    Parameters
    ----------
    nb : NotebookNode
        The submitted notebook (modified in place).
    resources : dict
        nbgrader resources: ``{"nbgrader": {"notebook", "assignment", "student", "db_url"}}``.
    config : Config
        The course's nbgrader configuration.
    released : dict, optional
        :func:`released_cells` of the released notebook: what nbgrader restores in a cell the
        student left as it was released is restored without a message (only the student's
        changes are reported, never the differences between the release and the gradebook).
    catalog : CellCatalog, optional
        The gradebook's cells, already read (a worker reads them once for all its notebooks).

    Raises
    ------
    DamagedNotebook
        If nbgrader cannot repair the notebook.
    """
    submitted = released_cells(nb)  # before any repair: what the student handed in
    resources = {**resources, "nbgrader": {**resources["nbgrader"], "cells": catalog}}
    collect = Capture(logging.WARNING)
    log = logging.getLogger(f"grader.sanitize.{id(collect)}")
    log.propagate = False
    log.addHandler(collect)
    try:
        for step in STEPS:
            try:
                nb, resources = step(config=config, log=log)(nb, resources)
            except Exception as error:
                raise DamagedNotebook(
                    f"{resources['nbgrader']['notebook']}.ipynb: nbgrader could not repair it "
                    f"({step.__name__}: {error})"
                ) from error
    finally:
        log.removeHandler(collect)
    return Sanitized(nb, [m for m in collect.messages
                          if not _as_given(m, submitted, released or {})])
