"""Grading on the platforms courses use: the instructor workflow, the GitHub Classroom starter
repository, and Gradescope's autograder zip, each exercised the way the platform runs it."""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
import yaml
from click.testing import CliRunner
from conftest import ASSIGNMENTS, REPO

from grader.author.leaks import secret_lines
from grader.cli import main
from grader.course import Course, CourseError
from grader.platforms.starter import WORKFLOW, build_starter, leaks_in

SCHEMA = json.loads((REPO / "tests" / "data" / "github-workflow.schema.json").read_text())
INSTRUCTOR_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXAMPLES = REPO / "examples" / "submitted"
PYTHON = Path(sys.executable)


def load_workflow(path: Path) -> dict:
    """A workflow file as GitHub reads it (YAML 1.2: ``on`` is a key, not ``True``)."""
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads YAML 1.1, where a bare `on` is a boolean
        data["on"] = data.pop(True)
    return data


def workflow_problems(data: dict) -> list[str]:
    """Schema violations of a workflow, one line each."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(data)]


def steps(data: dict, job: str) -> list[dict]:
    return data["jobs"][job]["steps"]


def run_script(data: dict, job: str, name: str) -> str:
    [step] = [s for s in steps(data, job) if s.get("name") == name]
    return step["run"]


def without_expressions(script: str) -> str:
    """A run script with each ``${{ ... }}`` replaced by a word, as the runner does first."""
    return re.sub(r"\$\{\{.*?\}\}", "EXPR", script)


# ---------------------------------------------------------------- instructor repository workflow

def test_instructor_workflow_exists_and_is_valid() -> None:
    assert INSTRUCTOR_WORKFLOWS, "the instructor repository has a workflow"
    for path in INSTRUCTOR_WORKFLOWS:
        data = load_workflow(path)
        assert workflow_problems(data) == [], path.name
        for job, spec in data["jobs"].items():
            assert "timeout-minutes" in spec, f"{job} must not run for six hours"
            for step in spec["steps"]:
                if "run" in step:
                    check = subprocess.run(["bash", "-n"], input=without_expressions(step["run"]),
                                           text=True, capture_output=True)
                    assert check.returncode == 0, (job, step.get("name"), check.stderr)


def test_schema_check_catches_mistakes() -> None:
    data = load_workflow(REPO / ".github" / "workflows" / "course.yml")
    data["jobs"]["test"]["runs_on"] = data["jobs"]["test"].pop("runs-on")
    data["jobs"]["grade"]["steps"][0]["uses"] = 3
    problems = workflow_problems(data)
    assert problems, "a misspelt key and a wrong type must be reported"


def test_instructor_workflow_does_what_the_course_promises() -> None:
    data = load_workflow(REPO / ".github" / "workflows" / "course.yml")
    assert "push" in data["on"]
    test_runs = " ; ".join(s.get("run", "") for s in steps(data, "test"))
    for command in ("make system-deps", "make install", "grader release --check",
                    "pytest tests/test_selftest.py",
                    "pytest --deselect tests/test_selftest.py", "ruff check"):
        assert command in test_runs, command
    grade = data["jobs"]["grade"]
    assert set(grade["needs"]) == {"test", "submissions"}
    assert "needs.submissions.outputs.added == 'true'" in grade["if"]
    grade_runs = " ; ".join(s.get("run", "") for s in grade["steps"])
    assert 'grader grade "$assignment"' in grade_runs
    assert "grader report --format html --out reports/index.html" in grade_runs
    assert "GITHUB_STEP_SUMMARY" in grade_runs
    upload = [s for s in grade["steps"] if str(s.get("uses", "")).startswith(
        "actions/upload-artifact@")]
    assert upload and upload[0]["with"]["path"] == "reports/"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, text=True,
                          capture_output=True).stdout.strip()


@pytest.mark.parametrize("change, added", [("submission", "true"), ("other", "false"),
                                           ("new branch", "true")])
def test_workflow_notices_added_submissions(tmp_path: Path, change: str, added: str) -> None:
    data = load_workflow(REPO / ".github" / "workflows" / "course.yml")
    script = run_script(data, "submissions", "Notebooks added under submitted/ by this push")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.org")
    git(repo, "config", "user.name", "t")
    (repo / "notes.txt").write_text("start\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "start")
    before = git(repo, "rev-parse", "HEAD")
    if change == "other":
        (repo / "notes.txt").write_text("more\n")
        git(repo, "add", "notes.txt")
    else:
        notebook = repo / "submitted" / "ada" / "cross_entropy" / "cross_entropy.ipynb"
        notebook.parent.mkdir(parents=True)
        notebook.write_text("{}")
        git(repo, "add", "-f", "submitted")
    git(repo, "commit", "-q", "-m", "push")
    output = tmp_path / "output"
    env = {**os.environ, "GITHUB_OUTPUT": str(output),
           "BEFORE": "0" * 40 if change == "new branch" else before}
    subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, check=True,
                   capture_output=True)
    assert output.read_text().strip() == f"added={added}"


@pytest.mark.notebook
def test_workflow_grades_submissions_and_publishes_the_report(tmp_path: Path, course) -> None:
    """The grade job's own scripts, on a course with one submission."""
    data = load_workflow(REPO / ".github" / "workflows" / "course.yml")
    root = course.root
    (root / ".venv").symlink_to(PYTHON.parent.parent)
    shutil.copy2(REPO / "course.toml", root / "course.toml")
    target = root / "submitted" / "ada" / "cross_entropy"
    target.mkdir(parents=True)
    shutil.copy2(EXAMPLES / "ada" / "cross_entropy" / "cross_entropy.ipynb", target)
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    for name in ("Grade every assignment that has submissions", "Report"):
        done = subprocess.run(["bash", "-e", "-c", run_script(data, "grade", name)], cwd=root,
                              env=env, text=True, capture_output=True)
        assert done.returncode == 0, (name, done.stdout[-2000:], done.stderr[-2000:])
    assert (root / "reports" / "index.html").stat().st_size > 1000
    text = summary.read_text()
    assert text.startswith("### Grades") and "ada" in text


# ---------------------------------------------------------------- GitHub Classroom starter

@pytest.fixture(scope="module")
def starters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The starter repository of every assignment, built from the repository's release/."""
    base = tmp_path_factory.mktemp("starters")
    built = {}
    for assignment in ASSIGNMENTS:
        result = CliRunner().invoke(main, ["starter", assignment, "--out",
                                           str(base / assignment), "--course", str(REPO)])
        assert result.exit_code == 0, result.output
        built[assignment] = base / assignment
    return built


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_students_are_told_the_check_that_always_runs(starters: dict, assignment: str) -> None:
    # Run All stops at the first failing cell, so a check() cell at the end is often never
    # reached: the README and the notebook lead with the runner that always gets there.
    readme = (starters[assignment] / "README.md").read_text()
    shell = f"python selfcheck.py {assignment}.ipynb"
    assert shell in readme and "Run All stops at the first cell" in readme
    assert readme.index(shell) < readme.index("from selfcheck import check")
    notebook = "".join(
        "".join(cell.source) for cell in
        nbformat.read(starters[assignment] / f"{assignment}.ipynb", as_version=4).cells
        if cell.cell_type == "markdown")
    assert "Run All stops at the first cell" in notebook and shell in notebook
    assert "Validate" in notebook


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_starter_holds_the_release_and_nothing_secret(starters: dict, assignment: str) -> None:
    out = starters[assignment]
    assert files(out) == {f"{assignment}.ipynb", "selfcheck.py", "README.md", "requirements.txt",
                          ".gitignore", WORKFLOW}
    written = [p for p in out.rglob("*") if p.is_file()]
    assert leaks_in(written, secret_lines(Course(REPO), assignment)) == []
    for path in written:
        text = path.read_text()
        if path.name != "selfcheck.py":  # the runner names the marker in order to cut there
            assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path.name
        assert not re.search(r"(from|import)\s+grader\b", text), path.name
        assert "grader.hidden" not in text and "grader.reference" not in text, path.name
    # The only file that comes from the grader package is the student runner itself.
    package = {p.read_bytes() for p in (REPO / "grader").rglob("*.py")
               if p.name != "selfcheck.py"}
    assert not [p.name for p in written if p.read_bytes() in package]
    assert (out / "selfcheck.py").read_bytes() == (REPO / "grader" / "selfcheck.py").read_bytes()
    assert (out / f"{assignment}.ipynb").read_bytes() == \
        (REPO / "release" / assignment / f"{assignment}.ipynb").read_bytes()


def test_selfcheck_needs_only_the_standard_library() -> None:
    tree = ast.parse((REPO / "grader" / "selfcheck.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_starter_lists_what_the_notebook_imports(starters: dict) -> None:
    assert (starters["cross_entropy"] / "requirements.txt").read_text().split() == ["numpy>=1.26"]
    svm = (starters["svm_hinge"] / "requirements.txt").read_text().split()
    assert "numpy>=1.26" in svm and "scikit-learn>=1.3" in svm


def test_starter_workflow_is_what_github_classroom_reads(starters: dict) -> None:
    data = load_workflow(starters["cross_entropy"] / WORKFLOW)
    assert workflow_problems(data) == []
    # Classroom only collects scores from this workflow name and this single job.
    assert data["name"] == "Autograding Tests"
    assert list(data["jobs"]) == ["run-autograding-tests"]
    runs = [s["run"] for s in steps(data, "run-autograding-tests") if "run" in s]
    assert runs[-1] == "python selfcheck.py cross_entropy.ipynb --github"


def test_starter_refuses_a_leaking_release(tmp_path: Path) -> None:
    root = tmp_path / "course"
    shutil.copytree(REPO / "source", root / "source")
    shutil.copytree(REPO / "release", root / "release")
    shutil.copy2(REPO / "nbgrader_config.py", root)
    course = Course(root)
    hidden = next(line for line, kind in secret_lines(course, "cross_entropy").items()
                  if kind == "hidden test")
    path = root / "release" / "cross_entropy" / "cross_entropy.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][-1]["source"] = hidden
    path.write_text(json.dumps(nb))
    with pytest.raises(CourseError, match="leaks"):
        build_starter(course, "cross_entropy", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def python_without_grader(bindir: Path) -> dict[str, str]:
    """An environment whose ``python`` cannot import the grader package, as on a student's
    runner (this test environment has it installed)."""
    bindir.mkdir(parents=True, exist_ok=True)
    blocker = bindir / "no_grader.py"
    blocker.write_text("import runpy, sys\nsys.modules['grader'] = None\nsys.argv = sys.argv[1:]\n"
                       "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    shim = bindir / "python"
    shim.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{blocker}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.notebook
@pytest.mark.parametrize("student, points, status", [("finn", "Points 0/33", 1),
                                                     ("eve", "Points 17/33", 1),
                                                     ("ada", "Points 33/33", 0)])
def test_starter_workflow_reports_points(starters: dict, tmp_path: Path, student: str,
                                         points: str, status: int) -> None:
    """The workflow's public-test step, run as written, on a student's pushed notebook."""
    repo = tmp_path / "repo"
    shutil.copytree(starters["cross_entropy"], repo)
    shutil.copy2(EXAMPLES / student / "cross_entropy" / "cross_entropy.ipynb", repo)
    data = load_workflow(repo / WORKFLOW)
    step = run_script(data, "run-autograding-tests", "Public tests")
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = python_without_grader(tmp_path / "bin")
    env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
    done = subprocess.run(["bash", "-e", "-c", step], cwd=repo, env=env, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == status, done.stderr
    assert f"::notice title=Autograding complete::{points}\n" in done.stdout
    total, maximum = map(float, points.split()[1].split("/"))
    report = json.dumps({"totalPoints": total, "maxPoints": maximum})
    assert f"::notice title=Autograding report::{report}\n" in done.stdout
    assert "does not mean full marks" in done.stdout
    [line] = output.read_text().splitlines()
    runner = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert runner["max_score"] == maximum
    assert sum(t["score"] for t in runner["tests"]) == total
    assert runner["status"] == ("pass" if status == 0 else "fail")
    assert "public tests only" in summary.read_text()


# ---------------------------------------------------------------- Gradescope autograder

RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "score", "max_score", "output", "visibility"],
            "properties": {
                "name": {"type": "string"},
                "score": {"type": "number", "minimum": 0},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "output": {"type": "string"},
                "visibility": {"enum": ["hidden", "after_due_date", "after_published",
                                        "visible"]},
            },
        }},
    },
}


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cross_entropy autograder zip, built by the command."""
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope", "cross_entropy", "--out", str(out),
                                       "--course", str(REPO)])
    assert result.exit_code == 0, result.output
    return out


def unpack(zip_path: Path, root: Path) -> Path:
    """Lay the zip out like Gradescope's /autograder; return ``root``."""
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops the permission bits
            (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    return root


def run_autograder(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(PYTHON)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run([str(root / "source" / "run_autograder")], env=env, text=True,
                          capture_output=True, timeout=300)


def test_autograder_zip_layout(autograder: Path) -> None:
    with zipfile.ZipFile(autograder) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    for name in ("setup.sh", "run_autograder", "pyproject.toml", "nbgrader_config.py",
                 "course.toml", "source/cross_entropy/hidden/spec.py",
                 "source/cross_entropy/hidden/reference.py", "grader/cli.py",
                 "source/cross_entropy/cross_entropy.ipynb"):
        assert name in names, name
    assert not any(n.startswith("source/svm_hinge") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111


def test_autograder_scripts_are_valid_shell(autograder: Path, tmp_path: Path) -> None:
    root = unpack(autograder, tmp_path / "autograder")
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(root / "source" / script)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


@pytest.mark.notebook
def test_run_autograder_grades_a_real_submission(autograder: Path, tmp_path: Path) -> None:
    root = unpack(autograder, tmp_path / "autograder")
    # Gradescope keeps the upload's own name; the autograder grades it under the expected one.
    shutil.copy2(EXAMPLES / "ada" / "cross_entropy" / "cross_entropy.ipynb",
                 root / "submission" / "my_homework.ipynb")
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    tests = results["tests"]
    assert len(tests) == 24 and all(t["status"] == "passed" for t in tests), tests
    assert results["score"] == sum(t["max_score"] for t in tests) == 33
    # ada's derivation awaits grading: not a test Gradescope would show as lost (0 / 3) or
    # passed (0 / 0), but named with its points in the submission's output
    assert not any("derivation" in t["name"] for t in tests)
    assert "derivation_reduction (3 points, awaiting grading)" in results["output"]
    assert results["extra_data"]["pending"] == [
        {"name": "cross_entropy: derivation_reduction", "max_score": 3.0,
         "state": "awaiting grading"}]


@pytest.mark.notebook
def test_run_autograder_applies_the_late_penalty(autograder: Path, tmp_path: Path) -> None:
    """Gradescope's submission time, 1 d 12 h after its due date: the course's penalty (two
    started days at 10% of 36 points), as the course's gradebook would hold it."""
    root = unpack(autograder, tmp_path / "autograder")
    shutil.copy2(EXAMPLES / "ada" / "cross_entropy" / "cross_entropy.ipynb",
                 root / "submission" / "cross_entropy.ipynb")
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 1, "created_at": "2025-03-03T05:00:00.000000-08:00",
        "assignment": {"due_date": "2025-03-01T17:00:00.000000-08:00", "late_due_date": None,
                       "title": "cross_entropy", "total_points": "36.0"},
        "users": [{"email": "ada@example.edu", "id": 1, "name": "Ada"}]}))
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert sum(t["score"] for t in results["tests"]) == 33
    assert results["score"] == pytest.approx(33 - 7.2)
    assert results["extra_data"]["late_penalty"] == pytest.approx(7.2)
    assert "Submitted 1 d 12 h after the due date: late penalty −7.2 points" in results["output"]


def test_run_autograder_without_a_notebook_still_writes_results(autograder: Path,
                                                                 tmp_path: Path) -> None:
    root = unpack(autograder, tmp_path / "autograder")
    (root / "submission" / "answers.txt").write_text("I forgot the notebook")
    done = run_autograder(root)
    assert done.returncode == 1
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["score"] == 0 and "cross_entropy.ipynb" in results["output"]
