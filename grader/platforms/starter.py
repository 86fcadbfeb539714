"""``grader starter``: the student repository of one assignment, for GitHub Classroom.

It holds the released notebook(s), ``selfcheck.py`` (the public-test runner, standard library
only), a workflow that runs only the public tests and reports ``Points X/Y`` the way GitHub
Classroom reads it, ``requirements.txt`` and a README for students. Everything written is
scanned for solution and hidden-test lines before it is put in place.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
import tempfile
from pathlib import Path

import click

from grader import selfcheck
from grader.author.leaks import find_leaks, leaks_in_release, secret_lines
from grader.course import Course, CourseError

WORKFLOW = ".github/workflows/classroom.yml"
# What the notebooks import, as pip names; lower bounds follow the course's own.
PIP_NAMES = {"numpy": "numpy>=1.26", "sklearn": "scikit-learn>=1.3",
             "matplotlib": "matplotlib>=3.8", "pandas": "pandas>=2.1", "scipy": "scipy"}

# GitHub Classroom only reads a workflow named "Autograding Tests" with one job named
# "run-autograding-tests"; its score is the "Points X/Y" notice titled "Autograding complete".
WORKFLOW_TEXT = """\
name: Autograding Tests
'on':
  push:
  workflow_dispatch:
  repository_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 15
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: '3.11'
      - name: Install the notebook's packages
        run: python -m pip install -r requirements.txt
      - name: Public tests
        id: public-tests
        run: python selfcheck.py {notebooks} --github
"""

README_TEXT = """\
# {assignment}

Your work is in {notebook_list}. Open it in Jupyter, fill in every cell that says
`YOUR CODE HERE` (or `YOUR ANSWER HERE`), save, commit and push.

```sh
python -m pip install -r requirements.txt jupyter
jupyter lab {first}
```

## Check your work as you go

From a terminal, in this folder:

```sh
python selfcheck.py {first}
```

runs the notebook from top to bottom like the grader does — every cell, even after one fails —
then the public tests of every item, and prints which pass. This always works; use it before
you push.

In JupyterLab, **Run All stops at the first cell that raises an error** (a failing test, or an
answer you have not written yet), so a cell at the end of the notebook is often never reached.
To check from inside the notebook, run your answer cells, then run a cell like this one on its
own (Shift+Enter; delete it before you submit, if you like):

```python
from selfcheck import check
check()  # every public test
check("{example_answer}")  # the public tests of one function
check("{example_item}")  # one item
```

It runs the public tests — the asserts you can already see in the notebook's test cells — on
your current variables.

**Passing the public tests does not mean full marks.** When your notebook is graded, hidden tests
check more cases than the public ones (other inputs and shapes, numerical stability, speed,
exact values), and written answers are graded by hand.

## What GitHub shows

Every push runs the public tests in GitHub Actions (the *Autograding Tests* workflow). Its
`Points X/Y` counts the points of the items whose **public** tests pass; it is not your grade.

| item | points |
| --- | ---: |
{items}

## Rules

- Do not edit or delete the test cells: they are restored from the original when grading.
- Keep the notebook's file name; the grader looks for {notebook_list}.
"""


def requirements(notebooks: list[Path]) -> list[str]:
    """pip requirements of the modules the notebooks' code cells import (the standard
    library aside)."""
    modules: set[str] = set()
    for path in notebooks:
        for kind, code in selfcheck.load(path).cells:
            if kind != "code":
                continue
            try:
                tree = ast.parse(selfcheck.without_magics(code))
            except SyntaxError:  # a student's half-written cell; the release has none
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names)
    return [PIP_NAMES.get(m, m) for m in third_party]


def _items_table(notebooks: list[Path]) -> tuple[str, list[selfcheck.Item]]:
    items = [i for path in notebooks for i in selfcheck.load(path).items]
    rows = [f"| `{i.name}` | {i.points:g} |" for i in items]
    return "\n".join(rows), items


def write_files(course: Course, assignment: str, out: Path) -> list[Path]:
    """Write the starter repository of ``assignment`` into the empty directory ``out``."""
    released = course.release / assignment
    if not released.is_dir():
        raise CourseError(f"{released} does not exist: run `grader release {assignment}`")
    leaks = leaks_in_release(course, assignment)
    if leaks:
        raise CourseError("the release leaks: " + "; ".join(map(str, leaks)))
    for path in sorted(released.rglob("*")):
        if path.is_file():
            target = out / path.relative_to(released)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    notebooks = sorted(p.relative_to(out) for p in out.rglob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"{released} has no notebook")
    # The runner is this very module's source: the starter and a notebook use the same code.
    (out / "selfcheck.py").write_text(Path(selfcheck.__file__).read_text(encoding="utf-8"),
                                      encoding="utf-8")
    names = " ".join(str(n) for n in notebooks)
    workflow = out / WORKFLOW
    workflow.parent.mkdir(parents=True)
    workflow.write_text(WORKFLOW_TEXT.format(notebooks=names), encoding="utf-8")
    (out / "requirements.txt").write_text(
        "\n".join(requirements([out / n for n in notebooks])) + "\n", encoding="utf-8")
    table, items = _items_table([out / n for n in notebooks])
    example = next((i for i in items if i.answer), items[0]) if items else None
    (out / "README.md").write_text(README_TEXT.format(
        assignment=assignment, first=notebooks[0], items=table,
        notebook_list=", ".join(f"`{n}`" for n in notebooks),
        example_answer=example.answer if example else "NAME",
        example_item=example.name if example else "NAME"), encoding="utf-8")
    (out / ".gitignore").write_text(".ipynb_checkpoints/\n__pycache__/\n", encoding="utf-8")
    return sorted(p for p in out.rglob("*") if p.is_file())


def leaks_in(paths: list[Path], secrets: dict[str, str]) -> list[str]:
    """``path: line`` for every solution or hidden-test line found in one of ``paths``."""
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            # Cell by cell, so JSON escaping cannot hide a line.
            text = "\n".join(selfcheck.source_of(c) for c in json.loads(text).get("cells", []))
        found += [f"{path.name}: {line}" for line in find_leaks(text, secrets)]
    return found


def build_starter(course: Course, assignment: str, out: Path, force: bool = False) -> list[Path]:
    """Write the student starter repository of ``assignment`` to ``out``.

    Parameters
    ----------
    course : Course
        The course (``release/<assignment>`` must exist).
    assignment : str
        The assignment.
    out : Path
        Destination directory; it must be empty or missing unless ``force``.
    force : bool
        Replace a non-empty ``out``.

    Returns
    -------
    list of Path
        The files written, under ``out``.

    Raises
    ------
    CourseError
        On an unknown assignment, a missing release, a non-empty ``out``, or a leak.
    """
    course.check_assignment(assignment)
    if out.exists() and any(out.iterdir()) and not force:
        raise CourseError(f"{out} is not empty (use --force to replace it)")
    secrets = secret_lines(course, assignment)
    with tempfile.TemporaryDirectory(prefix="grader-starter-") as tmp:
        staged = Path(tmp) / "starter"
        staged.mkdir()
        written = write_files(course, assignment, staged)
        leaks = leaks_in(written, secrets)
        if leaks:
            raise CourseError("refusing to write a starter that leaks: " + "; ".join(leaks))
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staged, out)
    return sorted(p for p in out.rglob("*") if p.is_file())


@click.command("starter")
@click.argument("assignment")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write the student repository to.")
@click.option("--force", is_flag=True, help="Replace a non-empty --out directory.")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def starter_command(assignment: str, out: Path, force: bool, course_dir: str | None) -> None:
    """Write the GitHub Classroom starter repository of ASSIGNMENT to --out.

    It holds the released notebook, selfcheck.py, a workflow running only the public tests
    (reporting Points X/Y to GitHub Classroom), requirements.txt and a README for students.
    """
    try:
        written = build_starter(Course.find(course_dir), assignment, out, force)
    except CourseError as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(2) from error
    for path in written:
        click.echo(path.relative_to(out))
    click.echo(f"starter repository of {assignment}: {out}")
