"""Release checks: ``release/`` is what the source makes, and no secret line leaks into it.

A released notebook must be exactly what ``nbgrader generate_assignment`` makes from the
current source, and must not contain a single line of a solution or of a hidden test, nor any
code line of the assignment's hidden folder (nor any of its files: nbgrader never copies it).
"""

from __future__ import annotations

import ast
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.course import Course
from grader.hidden import FOLDER as HIDDEN
from grader.hidden import folder_files

REGIONS = {
    "solution": ("BEGIN SOLUTION", "END SOLUTION"),
    "hidden test": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
}
# A line must say something to count as a leak: not blank, not a lone bracket or keyword.
_MEANINGFUL = re.compile(r"[A-Za-z0-9_]{2,}.*[^\s]|[^\s].*[A-Za-z0-9_]{2,}")
_TRIVIAL = {"pass", "else:", "try:", "finally:", "return", "break", "continue", '"""', "'''"}


@dataclass(frozen=True)
class Problem:
    """Something wrong with a released assignment; ``where`` names file and cell."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def region_lines(nb: NotebookNode, kind: str) -> set[str]:
    """Stripped, meaningful lines inside the ``kind`` regions ("solution", "hidden test")."""
    begin, end = REGIONS[kind]
    lines: set[str] = set()
    for cell in nb.cells:
        inside = False
        for raw in cell.source.splitlines():
            line = raw.strip()
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside and line not in _TRIVIAL and _MEANINGFUL.search(line):
                lines.add(line)
    return lines


def code_lines(text: str) -> set[str]:
    """Stripped code lines of a Python file that say something of their own: docstrings,
    comments, imports and lines under 20 characters left out."""
    lines = text.splitlines()
    docstrings: set[int] = set()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        tree = None
    for node in ast.walk(tree) if tree is not None else []:
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    found = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if number in docstrings or len(line) < 20 or line.startswith(("#", "import", "from")):
            continue
        found.add(line)
    return found


def secret_lines(course: Course, assignment: str) -> dict[str, str]:
    """Every solution and hidden-test line of an assignment, and every code line of its
    hidden folder (spec, reference solutions), mapped to which kind it is."""
    secrets: dict[str, str] = {}
    public: set[str] = set()  # what the notebook shows students anyway
    for path in course.source_notebooks(assignment):
        nb = nbformat.read(path, as_version=4)
        hidden_regions = set()
        for kind in REGIONS:
            for line in region_lines(nb, kind):
                secrets.setdefault(line, kind)
                hidden_regions.add(line)
        public |= {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
        public -= hidden_regions
    folder = course.source / assignment / HIDDEN
    for name, data in sorted(folder_files(folder).items()):
        if name.endswith(".py"):
            for line in code_lines(data.decode("utf-8", errors="replace")) - public:
                secrets.setdefault(line, f"hidden {name}")
    return secrets


def find_leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """The secret lines that appear as a line of ``text`` (whitespace around ignored)."""
    present = {line.strip() for line in text.splitlines()}
    return sorted(line for line in secrets if line in present)


def leaks_in_release(course: Course, assignment: str) -> list[Problem]:
    """Solution or hidden-test lines found in any file of ``release/<assignment>/``."""
    secrets = secret_lines(course, assignment)
    problems = []
    for path in sorted((course.release / assignment).rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            # Compare cell by cell, so JSON escaping cannot hide a line.
            nb = nbformat.reads(text, as_version=4)
            text = "\n".join(cell.source for cell in nb.cells)
        for line in find_leaks(text, secrets):
            problems.append(Problem(str(path.relative_to(course.root)),
                                    f"contains a {secrets[line]} line: {line!r}"))
    return problems


def _comparable(nb: NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


def stale_release(course: Course, assignment: str) -> list[Problem]:
    """Differences between ``release/<assignment>`` and a fresh release of the source."""
    from grader.release import release_copy

    problems = []
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        scratch = release_copy(course, [assignment], Path(tmp))
        fresh_dir, committed_dir = scratch.release / assignment, course.release / assignment
        fresh = {p.relative_to(fresh_dir) for p in fresh_dir.rglob("*") if p.is_file()}
        committed = {p.relative_to(committed_dir) for p in committed_dir.rglob("*")
                     if p.is_file()} if committed_dir.is_dir() else set()
        where = f"release/{assignment}"
        for name in sorted(fresh - committed):
            problems.append(Problem(f"{where}/{name}", "missing: run `grader release`"))
        for name in sorted(committed - fresh):
            problems.append(Problem(f"{where}/{name}", "not made from source/ any more"))
        for name in sorted(fresh & committed):
            new, old = fresh_dir / name, committed_dir / name
            if name.suffix == ".ipynb":
                same = _comparable(nbformat.read(new, as_version=4)) == \
                    _comparable(nbformat.read(old, as_version=4))
            else:
                same = new.read_bytes() == old.read_bytes()
            if not same:
                problems.append(Problem(f"{where}/{name}",
                                        "out of date with source/: run `grader release`"))
    return problems


def check_release(course: Course, assignment: str) -> list[Problem]:
    """Every problem of the released ``assignment``: stale files and leaked lines."""
    return stale_release(course, assignment) + leaks_in_release(course, assignment)
