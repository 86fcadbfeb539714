"""What grading workers need of the gradebook, copied into a small gradebook of their own.

nbgrader's sanitizing steps restore a submission's graded cells from the gradebook: their
sources, checksums, points and roles, and the notebook's kernel spec. Workers read exactly
that and nothing about students, so each run copies it once, for one assignment, into a
small SQLite gradebook. Workers then never touch the course's gradebook (which may be a
PostgreSQL server the workers cannot reach, or a SQLite file another machine cannot see),
and the copy travels to remote workers as bytes. A worker reads the copy once
(:class:`CellCatalog`) and answers every notebook's look-ups from memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.api import Base, Gradebook, MissingEntry
from sqlalchemy import create_engine, text


def _create_tables(url: str, version: str) -> None:
    """The gradebook's tables, stamped with ``version`` of its schema.

    A new ``Gradebook`` asks the ``alembic`` command which version that is (a process and a
    couple of seconds); the course's gradebook already knows.
    """
    engine = create_engine(url)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version "
                                    "(version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
    finally:
        engine.dispose()


def copy_assignment(db_url: str, assignment: str, target: Path) -> str:
    """Copy ``assignment``'s notebooks and cells from ``db_url`` into a new gradebook.

    Parameters
    ----------
    db_url : str
        The course's gradebook.
    assignment : str
        The assignment (it must be in the gradebook: released).
    target : Path
        File of the new SQLite gradebook (must not exist yet).

    Returns
    -------
    str
        The new gradebook's URL.
    """
    url = f"sqlite:///{target}"
    with Gradebook(db_url) as source:
        _create_tables(url, source.db.execute(text("SELECT version_num FROM alembic_version"))
                       .scalar_one())
    with Gradebook(db_url) as source, Gradebook(url) as copy:
        found = source.find_assignment(assignment)
        copy.update_or_create_assignment(found.name)
        for nb in found.notebooks:
            copy.update_or_create_notebook(nb.name, found.name, kernelspec=nb.kernelspec)
            for cell in nb.grade_cells:
                copy.update_or_create_grade_cell(cell.name, nb.name, found.name,
                                                 max_score=cell.max_score,
                                                 cell_type=cell.cell_type)
            for cell in nb.solution_cells:
                copy.update_or_create_solution_cell(cell.name, nb.name, found.name)
            for cell in nb.task_cells:
                copy.update_or_create_task_cell(cell.name, nb.name, found.name,
                                                max_score=cell.max_score,
                                                cell_type=cell.cell_type)
            # in the source's order: a deleted cell is put back after its predecessor
            for cell in nb.source_cells:
                copy.update_or_create_source_cell(cell.name, nb.name, found.name,
                                                  cell_type=cell.cell_type, locked=cell.locked,
                                                  source=cell.source, checksum=cell.checksum)
    return url


@dataclass(frozen=True)
class SourceCell:
    """A cell as the instructor wrote it (nbgrader's ``SourceCell``, the fields used)."""

    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None


@dataclass(frozen=True)
class GradedCell:
    """A cell that earns points: a test, a written answer or a task."""

    name: str
    max_score: float
    cell_type: str


@dataclass(frozen=True)
class NotebookCells:
    """One notebook's cells, as ``Gradebook.find_notebook`` would give them."""

    name: str
    kernelspec: str | None
    source_cells: list[SourceCell]
    grade_cells: list[GradedCell]
    solution_cells: list[SourceCell]
    task_cells: list[GradedCell]


class CellCatalog:
    """An assignment's cells read from a gradebook once, answering like a ``Gradebook``.

    nbgrader's sanitizing steps open the gradebook several times per notebook and query it
    once per cell; a worker that grades many notebooks of one assignment reads it once.
    It answers the three look-ups those steps make: ``find_notebook``, ``find_source_cell``
    and ``find_graded_cell`` (raising nbgrader's ``MissingEntry`` for an unknown cell).
    """

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._notebooks: dict[tuple[str, str], NotebookCells] = {}
        with Gradebook(db_url) as gb:
            for assignment in gb.assignments:
                for nb in assignment.notebooks:
                    self._notebooks[nb.name, assignment.name] = _read(nb)

    def find_notebook(self, notebook: str, assignment: str) -> NotebookCells:
        try:
            return self._notebooks[notebook, assignment]
        except KeyError:
            raise MissingEntry() from None

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        for cell in self.find_notebook(notebook, assignment).source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry()

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> GradedCell:
        found = self.find_notebook(notebook, assignment)
        for cell in (*found.grade_cells, *found.task_cells):
            if cell.name == name:
                return cell
        raise MissingEntry()


def _read(nb: Any) -> NotebookCells:
    sources = [SourceCell(c.name, c.cell_type, bool(c.locked), c.source, c.checksum)
               for c in nb.source_cells]
    by_name = {c.name: c for c in sources}
    return NotebookCells(
        name=nb.name, kernelspec=nb.kernelspec, source_cells=sources,
        grade_cells=[GradedCell(c.name, float(c.max_score), c.cell_type) for c in nb.grade_cells],
        solution_cells=[by_name[c.name] for c in nb.solution_cells if c.name in by_name],
        task_cells=[GradedCell(c.name, float(c.max_score), c.cell_type) for c in nb.task_cells])
