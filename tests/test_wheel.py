"""The engine as a wheel: installed into a fresh virtual environment, it grades a course that
holds no copy of it, from another directory; editing one assignment's hidden tests grades that
assignment again, and no other.

The wheel is built from this repository (``pip wheel``) and installed with its dependencies from
the package index, as an instructor would install it; the course is a copy of this one's
``source/``, ``release/`` and configuration, without the ``grader`` package.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import REPO

from grader.course import Course

pytestmark = pytest.mark.notebook
ASSIGNMENTS = ("cross_entropy", "two_layer_net")
STUDENTS = ("ada", "dan")


def _make_examples():
    spec = importlib.util.spec_from_file_location("make_examples",
                                                  REPO / "examples" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_examples", module)
    spec.loader.exec_module(module)
    return sys.modules["make_examples"]


def expected_score(assignment: str, student: str) -> float:
    """The autograded points the student's answers earn: all but those of the lost items."""
    loses = _make_examples().read_expected(
        REPO / "examples" / "answers" / assignment / f"{student}.py").loses
    nb = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return float(sum(c.metadata.nbgrader["points"] for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
                     and c.metadata.nbgrader["grade_id"] not in loses))


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the grader's wheel installed; its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(root / "dist"), str(REPO)], check=True)
    (wheel,) = (root / "dist").glob("grader-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    bin_dir = root / "venv" / "bin"
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", str(wheel)], check=True,
                   timeout=1800)
    return bin_dir


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the course without the engine, and submissions beside it."""
    root = tmp_path_factory.mktemp("term")
    course = root / "course"
    for name in ("source", "release"):
        shutil.copytree(REPO / name, course / name,
                        ignore=shutil.ignore_patterns("__pycache__", "test_*.py"))
    for name in ("nbgrader_config.py", "course.toml"):
        shutil.copy2(REPO / name, course / name)
    submitted = root / "submitted"
    for student in STUDENTS:
        for assignment in ASSIGNMENTS:
            shutil.copytree(REPO / "examples" / "submitted" / student / assignment,
                            submitted / student / assignment)
    return course, submitted


def grader(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([str(bin_dir / "grader"), *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=900)


def records(course: Path, assignment: str) -> dict[str, dict]:
    return {s: json.loads((course / "autograded" / s / assignment / ".grading.json").read_text())
            for s in STUDENTS}


def test_the_wheel_is_the_engine_alone(venv: Path, tmp_path: Path) -> None:
    found = subprocess.run([str(venv / "python"), "-c",
                            "import grader, pathlib; print(pathlib.Path(grader.__file__).parent)"],
                           capture_output=True, text=True, check=True,
                           cwd=tmp_path).stdout.strip()  # not here, where grader/ is
    package = Path(found)
    assert package.is_relative_to(venv.parent)  # the installed copy, not this checkout
    names = Course(REPO).assignments()
    for path in package.rglob("*.py"):
        assert not any(name in path.name for name in names), path
        text = path.read_text()
        # no assignment's reference solution or spec came with it
        assert "def two_layer_loss(" not in text and "def svm_loss(" not in text, path


def test_an_installed_grader_grades_a_course_from_elsewhere(venv: Path, term, tmp_path) -> None:
    course, submitted = term
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = grader(venv, "release", "--course", str(course), cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    for assignment in ASSIGNMENTS:
        result = grader(venv, "grade", assignment, "--submissions", str(submitted),
                        "--workers", "2", "--course", str(course), cwd=elsewhere)
        assert result.returncode == 0, result.stdout + result.stderr
        for student, record in records(course, assignment).items():
            assert record["status"] == "graded", record["reasons"]
            assert record["score"] == expected_score(assignment, student), (assignment, student)

    # One assignment's hidden tests change: it is graded again, the other one is not.
    spec = course / "source" / "two_layer_net" / "hidden" / "spec.py"
    spec.write_text(spec.read_text() + "\n# reviewed again\n")
    before = {a: records(course, a) for a in ASSIGNMENTS}
    outputs = {}
    for assignment in ASSIGNMENTS:
        result = grader(venv, "grade", assignment, "--submissions", str(submitted),
                        "--workers", "2", "--course", str(course), cwd=elsewhere)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs[assignment] = result.stdout + result.stderr
    after = {a: records(course, a) for a in ASSIGNMENTS}
    assert "2 of 2 submission(s) unchanged" in outputs["cross_entropy"]
    assert "unchanged" not in outputs["two_layer_net"]
    for student in STUDENTS:
        assert after["cross_entropy"][student]["graded_at"] == \
            before["cross_entropy"][student]["graded_at"]
        assert after["two_layer_net"][student]["fingerprint"] != \
            before["two_layer_net"][student]["fingerprint"]
        assert after["two_layer_net"][student]["score"] == expected_score("two_layer_net",
                                                                          student)
