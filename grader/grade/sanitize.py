"""Prepare a submitted notebook for execution, the way ``nbgrader autograde`` does.

nbgrader's own sanitizing preprocessors run in order: outputs cleared, duplicated grade ids
dropped, the kernel spec reset, every graded and locked cell restored from the gradebook (test
cells deleted by the student are added back), and the metadata validated. What they report
about the notebook (a changed checksum, a re-added cell) is kept as messages for the record.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)
from traitlets.config import Config

from grader.logcapture import Capture

STEPS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)


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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedNotebook(f"{path.name}: cannot be read ({error})") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DamagedNotebook(
            f"{path.name}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise DamagedNotebook(f"{path.name}: JSON but not a notebook (no list of cells)")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for malformed structure
        raise DamagedNotebook(f"{path.name}: not a valid notebook ({error})") from error


def sanitize(nb: NotebookNode, resources: dict, config: Config) -> Sanitized:
    """Run nbgrader's sanitizing preprocessors on ``nb``.

    Parameters
    ----------
    nb : NotebookNode
        The submitted notebook (modified in place).
    resources : dict
        nbgrader resources: ``{"nbgrader": {"notebook", "assignment", "student", "db_url"}}``.
    config : Config
        The course's nbgrader configuration.

    Raises
    ------
    DamagedNotebook
        If nbgrader cannot repair the notebook.
    """
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
    return Sanitized(nb, collect.messages)
