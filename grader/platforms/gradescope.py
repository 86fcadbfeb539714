"""``grader gradescope``: the autograder zip of one assignment, in Gradescope's format.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build the
image, and for every submission copies the student's files to ``/autograder/submission`` and
runs ``/autograder/run_autograder``, which must leave ``/autograder/results/results.json``.
The zip holds this package's source, ``nbgrader_config.py``, ``course.toml`` (its late penalty
applies, from Gradescope's submission time and due date) and ``source/<assignment>`` (so the
hidden tests and the reference are inside: the zip is for the instructor's Gradescope account
only). ``run_autograder`` grades with ``grader ci`` through :mod:`grader.platforms.autograder`.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import click

import grader
from grader.course import Course, CourseError
from grader.report.policy import CONFIG_NAME as POLICY_FILE

# The package is installed from the zip by setup.sh, so the zip carries what pip needs.
PROJECT_FILES = ("pyproject.toml", "README.md")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image: install Python and the grader.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
/autograder/venv/bin/pip install --quiet /autograder/source
"""

# AUTOGRADER_ROOT and AUTOGRADER_PYTHON exist so the zip can be run outside Gradescope
# (a local dry run, the test suite); Gradescope itself sets neither.
RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; it always leaves results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
cd "$ROOT/source"
exec "$PYTHON" -c 'import sys; from grader.platforms.autograder import main; sys.exit(main())' \\
    --root "$ROOT" --assignment {assignment}
"""


def _package_files() -> list[Path]:
    """The grader package's source files (no caches)."""
    package = Path(grader.__file__).parent
    return sorted(p for p in package.rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_autograder(course: Course, assignment: str, out: Path) -> list[str]:
    """Write Gradescope's autograder zip of ``assignment`` to ``out``.

    Parameters
    ----------
    course : Course
        The course (its ``nbgrader_config.py`` and ``source/<assignment>`` go in the zip).
    assignment : str
        The assignment to grade.
    out : Path
        The zip file to write.

    Returns
    -------
    list of str
        The names in the zip.

    Raises
    ------
    CourseError
        On an unknown assignment or a missing project file.
    """
    course.check_assignment(assignment)
    package_root = Path(grader.__file__).parent
    project_root = package_root.parent
    missing = [name for name in PROJECT_FILES if not (project_root / name).is_file()]
    if missing:
        raise CourseError(f"cannot find {', '.join(missing)} beside the grader package "
                          f"({project_root}); build the zip from a checkout of the course")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Fixed dates and sorted names: the same course gives the same zip.
    with zipfile.ZipFile(out, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(archive, "run_autograder", RUN_AUTOGRADER.format(assignment=assignment).encode(),
             executable=True)
        for name in PROJECT_FILES:
            _add(archive, name, (project_root / name).read_bytes())
        _add(archive, "nbgrader_config.py", (course.root / "nbgrader_config.py").read_bytes())
        if (course.root / POLICY_FILE).is_file():  # its late penalty applies on Gradescope
            _add(archive, POLICY_FILE, (course.root / POLICY_FILE).read_bytes())
        for path in _package_files():
            _add(archive, f"grader/{path.relative_to(package_root).as_posix()}",
                 path.read_bytes())
        for path in sorted((course.source / assignment).rglob("*")):
            if path.is_file() and not {".ipynb_checkpoints", "__pycache__"} & set(path.parts):
                _add(archive, path.relative_to(course.root).as_posix(), path.read_bytes())
        return archive.namelist()


@click.command("gradescope")
@click.argument("assignment")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The zip to write (default: autograder-ASSIGNMENT.zip).")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def gradescope_command(assignment: str, out: Path | None, course_dir: str | None) -> None:
    """Build Gradescope's autograder zip of ASSIGNMENT (setup.sh, run_autograder, grader).

    Upload it as the assignment's autograder ("Zip file upload"); students upload their
    notebook. The zip contains the hidden tests: keep it to the course staff.
    """
    out = out or Path(f"autograder-{assignment}.zip")
    try:
        names = build_autograder(Course.find(course_dir), assignment, out)
    except CourseError as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(2) from error
    click.echo(f"{out}: {len(names)} files (setup.sh, run_autograder, grader/, "
               f"source/{assignment}/)")
