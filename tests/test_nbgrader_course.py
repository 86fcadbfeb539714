"""nbgrader's own user-guide course (``ps1``: students ``bitdiddle`` and ``hacker``), graded by
``grader grade`` and by stock ``nbgrader autograde``: the same scores, item by item, and no
flag for what only differs between nbgrader's release and its gradebook.

The course comes from the nbgrader package itself (``docs/source/user_guide``), released the
way its documentation does it (``generate_assignment`` with the header notebook). Its released
test cells say ``locked: false`` while the gradebook records them locked; the students'
submissions carry test cells from an older release. ``untouched`` submits the release as
generated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import nbgrader
import pytest
from nbgrader.api import Gradebook

BIN = Path(sys.executable).parent
GUIDE = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
STUDENTS = ("bitdiddle", "hacker", "untouched")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def guide_course(root: Path, header: bool = True) -> Path:
    """The user guide's course at ``root``: sources, the students' submissions, released as
    the guide releases it, and ``untouched`` holding the release as it was generated."""
    assert (GUIDE / "source" / "ps1").is_dir(), f"nbgrader ships no user-guide course at {GUIDE}"
    root.mkdir(parents=True)
    shutil.copytree(GUIDE / "source", root / "source")
    shutil.copytree(GUIDE / "submitted", root / "submitted")
    (root / "nbgrader_config.py").write_text(
        'c = get_config()  # noqa: F821\nc.CourseDirectory.db_url = "sqlite:///gradebook.db"\n')
    command = [str(BIN / "nbgrader"), "generate_assignment", "ps1", "--force"]
    if header:
        command.append("--IncludeHeaderFooter.header=source/header.ipynb")
    _run(command, root)
    shutil.copytree(root / "release" / "ps1", root / "submitted" / "untouched" / "ps1")
    return root


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The course graded twice: by stock nbgrader and by ``grader grade``."""
    stock = guide_course(tmp_path_factory.mktemp("guide") / "stock")
    mine = tmp_path_factory.mktemp("guide") / "grader"
    shutil.copytree(stock, mine)
    _run([str(BIN / "nbgrader"), "autograde", "ps1", "--force"], stock)
    _run([str(BIN / "grader"), "grade", "ps1", "--workers", "1"], mine)
    return stock, mine


def grades(course: Path) -> dict[tuple, tuple]:
    """Every grade and total of every student, as nbgrader's API reads them."""
    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            submission = gb.find_submission("ps1", student)
            found[student, "total"] = (submission.score, submission.late_submission_penalty)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    found[student, notebook.name, grade.name] = (
                        grade.auto_score, grade.manual_score, grade.needs_manual_grade)
    return found


def record(course: Path, student: str) -> dict:
    return json.loads((course / "autograded" / student / "ps1" / ".grading.json").read_text())


def test_scores_are_stock_nbgraders_item_by_item(graded) -> None:
    stock, mine = graded
    expected, found = grades(stock), grades(mine)
    assert len(expected) == 3 * (1 + 9)  # three students, nine graded items each
    assert found == expected
    assert expected["hacker", "total"] == (3.0, 0.0)


def test_nothing_nbgrader_itself_differs_in_is_flagged(graded) -> None:
    _, mine = graded
    for student in STUDENTS:
        assert record(mine, student)["suspicious"] == [], student
    # what bitdiddle really changed (test cells commented out) stays on record, unflagged
    assert any("checksum" in m for m in record(mine, "bitdiddle")["messages"])
    assert record(mine, "untouched")["messages"] == []


def test_what_a_student_changed_in_the_release_is_still_flagged(graded, tmp_path) -> None:
    _, mine = graded
    course = tmp_path / "course"
    shutil.copytree(mine, course)
    path = course / "submitted" / "tamperer" / "ps1" / "problem1.ipynb"
    shutil.copytree(course / "release" / "ps1", path.parent)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "correct_squares":
            cell.metadata.nbgrader["points"] = 100
    nbformat.write(nb, path)
    _run([str(BIN / "grader"), "grade", "ps1", "--workers", "1"], course)
    assert record(course, "tamperer")["suspicious"] == [
        "problem1.ipynb: edited graded cells or their metadata (restored: Attribute 'points')"]


def test_a_notebook_without_code_raises_no_isolation_warning(tmp_path) -> None:
    """Released without the header, ``problem2`` has no code cell: no kernel runs for it."""
    course = guide_course(tmp_path / "course", header=False)
    release = nbformat.read(course / "release" / "ps1" / "problem2.ipynb", as_version=4)
    assert not [c for c in release.cells if c.cell_type == "code"]
    done = _run([str(BIN / "grader"), "grade", "ps1", "--workers", "1"], course)
    assert "not started" not in done.stderr
    statuses = {record(course, student)["sandbox"] for student in STUDENTS}
    if os.geteuid() == 0:  # kernels are isolated: nothing to warn of
        assert statuses == {"isolated"}
        assert "not isolated" not in done.stderr
    else:
        assert all(status.startswith("not isolated") for status in statuses)
