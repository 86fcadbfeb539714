"""The labelled corpus of ``tests/corpus/``: honest solutions and disguised copies.

Each ``tests/corpus/<assignment>/<student>.py`` holds one student's answers in the format of
``examples/answers`` (one ``# %% <grade_id>`` section per answer cell). The first line of its
docstring is its label: ``honest: ...`` for a solution written independently, or
``copy of <student>: <how it was disguised>``. :func:`build` writes them into the released
notebooks, in nbgrader's ``submitted/`` layout, with ``examples/make_examples.py``.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

CORPUS = Path(__file__).resolve().parent / "corpus"
REPO = CORPUS.parents[1]
_COPY = re.compile(r"^copy of (\w+):")


def _make_examples():
    if "make_examples" in sys.modules:
        return sys.modules["make_examples"]
    spec = importlib.util.spec_from_file_location(
        "make_examples", REPO / "examples" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_examples"] = module  # its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Labels:
    """Who copied whom in one assignment of the corpus."""

    students: list[str]
    copies: dict[str, str]  # copier -> source

    def copied(self, a: str, b: str) -> bool:
        """Whether one of the two copied the other."""
        return self.copies.get(a) == b or self.copies.get(b) == a

    @property
    def copy_pairs(self) -> set[frozenset[str]]:
        return {frozenset(pair) for pair in self.copies.items()}

    @property
    def honest_pairs(self) -> set[frozenset[str]]:
        return {frozenset(p) for p in itertools.combinations(self.students, 2)} - self.copy_pairs


def labels(assignment: str) -> Labels:
    """The labels of one assignment's corpus, read from each file's docstring."""
    students, copies = [], {}
    for path in sorted((CORPUS / assignment).glob("*.py")):
        first = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))).splitlines()[0]
        students.append(path.stem)
        match = _COPY.match(first)
        if match:
            copies[path.stem] = match.group(1)
        elif not first.startswith("honest:"):
            raise ValueError(f"{path}: the docstring must start with 'honest:' or 'copy of X:'")
    return Labels(students, copies)


def assignments() -> list[str]:
    """The assignments that have a labelled corpus (it is optional)."""
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(p.glob("*.py")))


def build(release: Path, out: Path, names: list[str] | None = None) -> Path:
    """Write every corpus student's notebooks into ``out/<student>/<assignment>/``."""
    fill, read_answers = (getattr(_make_examples(), name) for name in ("fill", "read_answers"))
    for assignment in names or assignments():
        for path in sorted((CORPUS / assignment).glob("*.py")):
            nb = nbformat.read(release / assignment / f"{assignment}.ipynb", as_version=4)
            fill(nb, read_answers(path), f"{path.stem}/{assignment}")
            target = out / path.stem / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
    return out
