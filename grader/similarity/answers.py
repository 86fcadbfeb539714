"""The code students wrote: answer cells of submitted notebooks, and what they were given.

Answer cells are the code cells nbgrader marks ``solution: true``, keyed by their ``grade_id``;
everything else in a notebook (instructions, test cells, set-up code) was given to every
student. What was given inside the answer cells too — the ``def`` line, the docstring, the
``# YOUR CODE HERE`` stub — is in the released notebook, which is the boilerplate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import CourseError

_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")


@dataclass
class Submission:
    """The answer code of one student's submission.

    Attributes
    ----------
    student : str
        Student id (for an earlier term: ``TERM/student``).
    answers : dict of str to str
        Code of each answer cell, by cell key (the ``grade_id``, prefixed ``NOTEBOOK:`` when
        the assignment has several notebooks).
    past : str or None
        The earlier term's directory name for a reference submission, else ``None``.
    """

    student: str
    answers: dict[str, str]
    past: str | None = None


@dataclass
class Assignment:
    """What every student of an assignment was given.

    Attributes
    ----------
    name : str
        Assignment name.
    notebooks : list of str
        Notebook names (``cross_entropy`` for ``cross_entropy.ipynb``).
    given : list of str
        All code of the released notebooks, answer-cell stubs included, and code quoted in
        their Markdown.
    expected : list of str
        Code of the instructor's notebooks (the reference solutions): the obvious way to write
        an answer, which independent students find on their own. It counts in the size of an
        answer but never as shared.
    labels : dict of str to str
        Cell key to what the report calls it: the function the cell defines, else the key.
    order : list of str
        Cell keys in notebook order.
    stubs : dict of str to str
        Cell key to the answer cell as released (``def`` line, docstring, stub).
    """

    name: str
    notebooks: list[str]
    given: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    stubs: dict[str, str] = field(default_factory=dict)


def _read_json(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            notebook = json.load(handle)
    except json.JSONDecodeError as error:
        raise CourseError(f"{path}: not a readable notebook (invalid JSON at line "
                          f"{error.lineno}, column {error.colno})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path}: cannot be read ({error})") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise CourseError(f"{path}: not a notebook (no list of cells)")
    return notebook


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _key(notebook: str, grade_id: str, several: bool) -> str:
    return f"{notebook}:{grade_id}" if several else grade_id


def answer_cells(path: Path, notebook: str = "", several: bool = False) -> dict[str, str]:
    """Code of every answer cell of one notebook, by cell key.

    A cell copied by the student (two cells with one ``grade_id``) contributes both copies.

    Raises
    ------
    CourseError
        If the file is not a readable notebook.
    """
    answers: dict[str, str] = {}
    for cell in _read_json(path)["cells"]:
        meta = _nbgrader(cell)
        if cell.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            key = _key(notebook, str(meta["grade_id"]), several)
            answers[key] = (answers[key] + "\n" if key in answers else "") + _source(cell)
    return answers


def released_assignment(release: Path, name: str,
                        instructor: Path | None = None) -> Assignment:
    """What students of ``name`` were given: the notebooks in ``release/<name>/``.

    With ``instructor`` (the course's ``source/``), the code of the instructor's notebooks is
    :attr:`Assignment.expected`: matching the reference solution is no evidence that one
    student copied another.

    Raises
    ------
    CourseError
        If the assignment has not been released.
    """
    folder = release / name
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise CourseError(f"{folder} holds no released notebook: run `grader release {name}`")
    assignment = Assignment(name, [p.stem for p in paths])
    several = len(paths) > 1
    for path in paths:
        for cell in _read_json(path)["cells"]:
            source = _source(cell)
            if cell.get("cell_type") == "markdown":
                assignment.given += _FENCE.findall(source) + _INLINE.findall(source)
                continue
            assignment.given.append(source)
            meta = _nbgrader(cell)
            if meta.get("solution") and meta.get("grade_id") and cell.get("cell_type") == "code":
                key = _key(path.stem, str(meta["grade_id"]), several)
                defined = _DEF.search(source)
                assignment.labels[key] = defined.group(1) if defined else str(meta["grade_id"])
                assignment.order.append(key)
                assignment.stubs[key] = source
    if instructor is not None:
        for path in sorted((instructor / name).glob("*.ipynb")):
            assignment.expected += [_source(cell) for cell in _read_json(path)["cells"]
                                 if cell.get("cell_type") == "code"]
    return assignment


def read_submissions(root: Path, assignment: Assignment,
                     past: str | None = None) -> tuple[list[Submission], list[str]]:
    """The answer code of every ``root/<student>/<assignment>/`` submission.

    Parameters
    ----------
    root : Path
        A directory in nbgrader's ``submitted/`` layout.
    assignment : Assignment
        The released assignment.
    past : str, optional
        Name of an earlier term: students become ``past/student``.

    Returns
    -------
    submissions : list of Submission
        Sorted by student; a student with no readable notebook is left out.
    problems : list of str
        One line per notebook that could not be read, saying which and why.
    """
    from grader.grade.discover import find_submissions

    several = len(assignment.notebooks) > 1
    submissions, problems = [], []
    for found in find_submissions(root, assignment.name):
        answers: dict[str, str] = {}
        for name in assignment.notebooks:
            path = found.notebook(name)
            if not path.exists():
                continue
            try:
                answers.update(answer_cells(path, name, several))
            except CourseError as error:
                problems.append(str(error))
        if answers:
            student = f"{past}/{found.student}" if past else found.student
            submissions.append(Submission(student, answers, past))
    return submissions, problems
