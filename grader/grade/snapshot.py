"""What grading workers need of the gradebook, copied into a small gradebook of their own.

nbgrader's sanitizing steps restore a submission's graded cells from the gradebook: their
sources, checksums, points and roles, and the notebook's kernel spec. Workers read exactly
that and nothing about students, so each run copies it once, for one assignment, into a
small SQLite gradebook. Workers then never touch the course's gradebook (which may be a
PostgreSQL server the workers cannot reach, or a SQLite file another machine cannot see),
and the copy travels to remote workers as bytes.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook


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
