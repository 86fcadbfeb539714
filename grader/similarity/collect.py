"""Where an assignment's submissions are, read into a :class:`Similarity`.

By default the notebooks students submitted (``submitted/``, nbgrader's layout); when the
class was graded from elsewhere (``grader grade --submissions DIR``), the copies grading made
in ``autograded/``. An LMS zip is unpacked as ``grader grade`` does. Earlier terms' submissions,
each a directory in the same layout, are a reference corpus: current students are compared
with them, they are not compared with each other.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from grader.course import Course, CourseError
from grader.similarity.answers import read_submissions, released_assignment
from grader.similarity.score import Settings, Similarity, score_pairs


def _has_submissions(root: Path, assignment: str) -> bool:
    return root.is_dir() and any(root.glob(f"*/{assignment}/*.ipynb"))


def default_root(course: Course, assignment: str) -> Path:
    """``submitted/`` if it holds the assignment, else ``autograded/``.

    Raises
    ------
    CourseError
        If neither holds a notebook of the assignment.
    """
    for root in (course.submitted, course.autograded):
        if _has_submissions(root, assignment):
            return root
    raise CourseError(
        f"no submissions of {assignment!r}: neither {course.submitted} nor {course.autograded} "
        f"holds <student>/{assignment}/*.ipynb (grade the class first, or pass --submissions "
        "DIR or an LMS zip)")


def similarity(course: Course, assignment: str, submissions: Path | None = None,
               past: Sequence[Path] = (), settings: Settings | None = None) -> Similarity:
    """Score every pair of an assignment's submissions.

    Parameters
    ----------
    course : Course
        The course (its ``release/`` is the boilerplate).
    assignment : str
        Assignment name.
    submissions : Path, optional
        ``DIR/<student>/<assignment>/*.ipynb`` or an LMS zip (default: :func:`default_root`).
    past : sequence of Path
        Earlier terms' submissions, each in nbgrader's layout; their directory name names the
        term.
    settings : Settings, optional
        Threshold and fingerprinting.

    Raises
    ------
    CourseError
        For an unknown or unreleased assignment, a missing directory, or no submissions.
    """
    course.check_assignment(assignment)
    given = released_assignment(course.release, assignment, course.source)
    with tempfile.TemporaryDirectory(prefix="grader-similarity-") as scratch:
        root = Path(submissions) if submissions is not None else default_root(course, assignment)
        if root.is_file() and root.suffix.lower() == ".zip":
            from grader.grade.discover import unpack_zip
            root = unpack_zip(root, assignment, given.notebooks, Path(scratch))
        found, problems = read_submissions(root, given)
        for term in past:
            term = Path(term)
            if not term.is_dir():
                raise CourseError(f"earlier term {term} is not a directory")
            earlier, unread = read_submissions(term, given, past=term.resolve().name)
            found += earlier
            problems += unread
    if not any(s.past is None for s in found):
        raise CourseError(f"no readable notebook of {assignment!r} in {root}"
                          + (f": {'; '.join(problems)}" if problems else ""))
    return score_pairs(given, found, settings, problems)
