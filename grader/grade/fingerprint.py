"""What a grade depends on, as one hash, so that a re-run grades only what changed.

A submission's grade depends on its files, on the grading engine (the ``grader`` package), and
on the assignment as the instructor wrote it: ``source/<assignment>/`` with its notebooks
(hidden parts of test cells, points), data files and hidden folder (spec, reference
solutions). The fingerprint hashes all three; a grade is reused only while it is the same, so
editing one assignment's hidden tests grades that assignment again and no other. The engine's
hash also tells whether the workers of a cluster run exactly the grader this process runs.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import grader
from grader.course import Course
from grader.grade.discover import Submission
from grader.hidden import FOLDER as HIDDEN
from grader.hidden import folder_files
from grader.hidden import version as hidden_version


def _hash_files(digest: hashlib._Hash, root: Path, files: list[Path]) -> None:
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


@cache
def code_version() -> str:
    """Hash of the ``grader`` package's version and every module of it (the engine)."""
    root = Path(grader.__file__).parent
    digest = hashlib.sha256(grader.__version__.encode())
    _hash_files(digest, root, [p for p in root.rglob("*.py") if "__pycache__" not in p.parts])
    return digest.hexdigest()


def assignment_version(course: Course, assignment: str, settings: object = None) -> str:
    """Hash of the assignment's instructor files (notebooks, data, hidden folder) and
    of ``settings``: what else a grade depends on (budgets, limits, isolation, penalties),
    as JSON-like data."""
    root = course.source / assignment
    digest = hashlib.sha256(code_version().encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    _hash_files(digest, root, [p for p in root.rglob("*") if p.is_file()
                               and ".ipynb_checkpoints" not in p.parts
                               and p.relative_to(root).parts[0] != HIDDEN])
    # the hidden folder as the workers get it: its own tests play no part in a grade
    digest.update(hidden_version(folder_files(root / HIDDEN)).encode())
    return digest.hexdigest()


def submission_fingerprint(submission: Submission, version: str) -> str:
    """Hash of a submission's files with ``version`` (:func:`assignment_version`)."""
    digest = hashlib.sha256(version.encode())
    _hash_files(digest, submission.directory,
                [p for p in submission.directory.iterdir() if p.is_file()])
    return digest.hexdigest()
