"""The README's numbers are the project's: item counts from the notebooks, Python from pyproject."""

from __future__ import annotations

import re
import tomllib

import nbformat
from conftest import ASSIGNMENTS, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `(?P<name>\w+)` \|.*\| (?P<auto>\d+) autograded items \((?P<points>\d+) "
                 r"points\) \+ a written derivation \((?P<written>\d+) points", re.MULTILINE)


def counts(assignment: str) -> tuple[int, float, float]:
    """Autograded items, their points, and the points graded by hand, in the source notebook."""
    nb = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    auto = [c for c in graded if c.cell_type == "code" and not c.metadata.nbgrader.get("solution")]
    written = [c for c in graded if c not in auto]
    return (len(auto), sum(c.metadata.nbgrader["points"] for c in auto),
            sum(c.metadata.nbgrader["points"] for c in written))


def test_course_table_counts_match_the_notebooks() -> None:
    rows = {m["name"]: m for m in ROW.finditer(README)}
    assert set(rows) == set(ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        row = rows[assignment]
        stated = (int(row["auto"]), float(row["points"]), float(row["written"]))
        assert stated == counts(assignment), assignment


def test_python_version_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"]).group(1)
    stated = re.findall(r"Python ≥ (\d+\.\d+)", README)
    assert stated and set(stated) == {required}
