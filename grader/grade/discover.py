"""Find the submissions of an assignment: nbgrader's ``submitted/`` layout or an LMS zip.

Layout: ``DIR/<student>/<assignment>/*.ipynb`` (plus an optional ``timestamp.txt``). An LMS
export is a zip either in that layout or flat, with the student in each file name the way
Canvas and Moodle name them (``<student>_[LATE_]<ids>_<file>``).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.course import CourseError

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
# Canvas: "doejane_12345_6789012_cross_entropy.ipynb", "doejane_LATE_12345_6789012_…";
# a re-submission gets "-1", "-2" … before the extension.
FLAT_NAME = re.compile(
    r"^(?P<student>[A-Za-z0-9.@+-]+)_(?:LATE_|late_)?(?:\d+_)+(?P<file>.+?)(?:-\d+)?(?P<ext>\.[^.]+)$"
)


@dataclass(frozen=True)
class Submission:
    """One student's submission of one assignment.

    Attributes
    ----------
    student : str
        Student id (the directory name).
    assignment : str
        Assignment name.
    directory : Path
        Directory holding the submitted notebooks.
    """

    student: str
    assignment: str
    directory: Path

    def notebook(self, name: str) -> Path:
        """Path of the submitted notebook ``name`` (which may not exist)."""
        return self.directory / f"{name}.ipynb"


def find_submissions(root: Path, assignment: str) -> list[Submission]:
    """Every ``root/<student>/<assignment>/`` directory, sorted by student.

    Raises
    ------
    CourseError
        If ``root`` is missing or holds no submission of ``assignment``.
    """
    if not root.exists():
        raise CourseError(f"submissions directory {root} does not exist")
    if not root.is_dir():
        raise CourseError(f"submissions path {root} is not a directory (or a .zip file)")
    found = []
    for student_dir in sorted(root.iterdir()):
        directory = student_dir / assignment
        if student_dir.is_dir() and directory.is_dir():
            if not STUDENT_ID.match(student_dir.name):
                raise CourseError(f"{student_dir}: {student_dir.name!r} is not a usable student id")
            found.append(Submission(student_dir.name, assignment, directory))
    if not found:
        raise CourseError(
            f"no submissions of {assignment!r} in {root} "
            f"(expected {root}/<student>/{assignment}/*.ipynb)"
        )
    return found


def unpack_zip(archive: Path, assignment: str, notebooks: list[str], dest: Path) -> Path:
    """Unpack an LMS export into ``dest/<student>/<assignment>/`` and return ``dest``.

    Parameters
    ----------
    archive : Path
        The zip file.
    assignment : str
        Assignment the zip holds submissions of.
    notebooks : list of str
        Notebook names of the assignment (``cross_entropy`` for ``cross_entropy.ipynb``);
        a flat file is kept only when its name, once the LMS decorations are removed, is one.
    dest : Path
        Empty directory to unpack into.

    Raises
    ------
    CourseError
        If the file is not a zip, or holds no notebook of the assignment.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise CourseError(f"{archive}: not a readable zip file ({error})") from error
    with bundle:
        for info in bundle.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir() or path.suffix != ".ipynb" or ".." in path.parts or path.is_absolute():
                continue
            target = _target(path, assignment, notebooks, dest)
            if target is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    if not any(dest.glob(f"*/{assignment}/*.ipynb")):
        raise CourseError(
            f"{archive}: no notebook of {assignment!r} found (expected <student>/{assignment}/"
            f"NAME.ipynb or LMS file names like student_123_456_NAME.ipynb, NAME in {notebooks})"
        )
    return dest


def _target(path: PurePosixPath, assignment: str, notebooks: list[str], dest: Path) -> Path | None:
    parts = path.parts
    # nbgrader layout, possibly under one top-level folder
    for start in range(len(parts) - 2):
        if parts[start + 1] == assignment and len(parts) - start == 3:
            student = parts[start]
            if STUDENT_ID.match(student):
                return dest / student / assignment / parts[-1]
    match = FLAT_NAME.match(path.name)
    if match and match["file"] in notebooks and match["ext"] == ".ipynb":
        return dest / match["student"].lower() / assignment / f"{match['file']}.ipynb"
    return None
