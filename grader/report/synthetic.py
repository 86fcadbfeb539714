"""A synthetic class in a real nbgrader gradebook, for benchmarks and demonstrations.

The assignments, notebooks and cells are a course's own (grade ids and points, read from its
source notebooks) and are created through ``nbgrader.api.Gradebook``. Students, submissions and
grades are inserted in bulk into nbgrader's own tables: creating a thousand submissions one
``Gradebook.add_submission`` call (one transaction) at a time takes minutes, and the rows are
exactly those that call creates. Scores follow a two-skill item-response model, so that item
statistics, discrimination and co-failure look like a real class's.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import nbformat
import numpy as np
from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy import insert

from grader.course import Course

#: The first assignment's due date; each next one is due two weeks later.
FIRST_DUE = datetime(2025, 3, 3, 23, 59)


def course_items(course: Course) -> dict[str, list[tuple[str, float, bool]]]:
    """``{assignment: [(grade_id, points, graded by hand), ...]}`` in notebook order, from the
    course's source notebooks."""
    items = {}
    for assignment in course.assignments():
        nb = nbformat.read(course.source_notebooks(assignment)[0], as_version=4)
        items[assignment] = [(c.metadata.nbgrader["grade_id"], float(c.metadata.nbgrader["points"]),
                              c.cell_type == "markdown")
                             for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    return items


def ensure_alembic_on_path() -> None:
    """Let nbgrader find ``alembic``, which it runs to stamp a new gradebook.

    The venv's ``bin`` is not on ``PATH`` when Python is started by its full path.
    """
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def create_assignments(gradebook: Gradebook,
                       course: dict[str, list[tuple[str, float, bool]]]) -> None:
    """Create assignments, one notebook each, with their grade and solution cells.

    Parameters
    ----------
    gradebook : nbgrader.api.Gradebook
        An open gradebook.
    course : dict
        ``{assignment: [(grade_id, points, manual), ...]}``; a manual item is a markdown
        answer (grade and solution cell), the others are code test cells.
    """
    for index, (assignment, items) in enumerate(course.items()):
        gradebook.add_assignment(assignment, duedate=FIRST_DUE + timedelta(days=14 * index))
        gradebook.add_notebook(assignment, assignment)
        for name, points, manual in items:
            gradebook.add_grade_cell(name, assignment, assignment, max_score=points,
                                     cell_type="markdown" if manual else "code")
            if manual:
                gradebook.add_solution_cell(name, assignment, assignment)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def synthetic_gradebook(db_path: str | Path, n_students: int = 1000, seed: int = 0,
                        missing: float = 0.03, late: float = 0.08,
                        pending: float = 0.2, course: Course | None = None) -> Path:
    """Write a gradebook of ``n_students`` students who took every assignment of a course.

    Parameters
    ----------
    db_path : str or Path
        The SQLite file to create (it must not exist).
    n_students : int
        Class size.
    seed : int
        Seed of the random scores.
    missing, late, pending : float
        Shares of submissions that are missing, late (1 to 72 hours), and whose manual answer
        is not graded yet.
    course : Course, optional
        Whose assignments, items and points (default: the course holding the working
        directory).

    Returns
    -------
    Path
        ``db_path``.
    """
    ensure_alembic_on_path()
    db_path = Path(db_path)
    rng = np.random.default_rng(seed)
    items = course_items(course or Course.find())
    with Gradebook(f"sqlite:///{db_path}", course_id="synthetic") as gradebook:
        create_assignments(gradebook, items)
        ids = [f"s{index:04d}" for index in range(n_students)]
        gradebook.db.execute(insert(Student.__table__), [
            {"id": sid, "first_name": f"First{index}", "last_name": f"Last{index:04d}",
             "email": f"{sid}@example.edu", "lms_user_id": str(100000 + index)}
            for index, sid in enumerate(ids)])
        ability = rng.normal(size=n_students)
        stability = rng.normal(size=n_students)  # a second skill: numerically stable code
        rows: dict[type, list[dict]] = {SubmittedAssignment: [], SubmittedNotebook: [],
                                        Grade: [], Comment: []}
        for assignment in gradebook.assignments:
            notebook = assignment.notebooks[0]
            cells = {cell.name: cell for cell in notebook.grade_cells}
            solutions = {cell.name: cell for cell in notebook.solution_cells}
            difficulty = rng.uniform(-3.0, 0.5, size=len(items[assignment.name]))
            for index, sid in enumerate(ids):
                if rng.random() < missing:
                    continue
                hours = rng.uniform(1, 72) if rng.random() < late else -rng.uniform(0, 48)
                sub_id, nb_id = uuid4().hex, uuid4().hex
                rows[SubmittedAssignment].append({
                    "id": sub_id, "assignment_id": assignment.id, "student_id": sid,
                    "timestamp": assignment.duedate + timedelta(hours=hours)})
                rows[SubmittedNotebook].append({
                    "id": nb_id, "assignment_id": sub_id, "notebook_id": notebook.id,
                    "flagged": False, "late_submission_penalty": 0.0})
                for (name, points, manual), b in zip(items[assignment.name], difficulty):
                    skill = ability[index] + (stability[index] if "stable" in name else 0.0)
                    p = _logistic(1.7 * skill - b)
                    grade = {"id": uuid4().hex, "notebook_id": nb_id,
                             "cell_id": cells[name].id, "auto_score": None,
                             "manual_score": None, "extra_credit": None,
                             "needs_manual_grade": False}
                    if not manual:
                        grade["auto_score"] = float(points) if rng.random() < p else 0.0
                    elif rng.random() < pending:
                        grade["needs_manual_grade"] = True
                    else:
                        grade["manual_score"] = float(rng.binomial(int(points), p))
                    rows[Grade].append(grade)
                for cell in solutions.values():
                    rows[Comment].append({"id": uuid4().hex, "notebook_id": nb_id,
                                          "cell_id": cell.id})
        for table in (SubmittedAssignment, SubmittedNotebook, Grade, Comment):
            if rows[table]:
                gradebook.db.execute(insert(table.__table__), rows[table])
        gradebook.db.commit()
    return db_path
