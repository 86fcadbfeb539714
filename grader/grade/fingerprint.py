"""What a grade depends on, as one hash, so that a re-run grades only what changed.

A submission's grade depends on its files, on the grading code with the hidden tests and the
reference solutions (the ``grader`` package), and on the assignment as the instructor wrote it
(the hidden parts of its test cells, points, data files). The fingerprint hashes all three; a
grade is reused only while it is the same. The code's hash also tells whether the workers of a
cluster run exactly the grader this process runs.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import grader
from grader.course import Course
from grader.grade.discover import Submission


def _hash_files(digest: hashlib._Hash, root: Path, files: list[Path]) -> None:
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


@cache
def code_version() -> str:
    """Hash of the ``grader`` package's version and every module of it (hidden tests included)."""
    root = Path(grader.__file__).parent
    digest = hashlib.sha256(grader.__version__.encode())
    _hash_files(digest, root, [p for p in root.rglob("*.py") if "__pycache__" not in p.parts])
    return digest.hexdigest()


def assignment_version(course: Course, assignment: str, settings: object = None) -> str:
    """Hash of the assignment's instructor files (notebooks with hidden tests, and data) and
    of ``settings``: what else a grade depends on (budgets, limits, isolation, penalties),
    as JSON-like data."""
    root = course.source / assignment
    digest = hashlib.sha256(code_version().encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    _hash_files(digest, root, [p for p in root.rglob("*") if p.is_file()
                               and ".ipynb_checkpoints" not in p.parts])
    return digest.hexdigest()


def submission_fingerprint(submission: Submission, version: str) -> str:
    """Hash of a submission's files with ``version`` (:func:`assignment_version`)."""
    digest = hashlib.sha256(version.encode())
    _hash_files(digest, submission.directory,
                [p for p in submission.directory.iterdir() if p.is_file()])
    return digest.hexdigest()
