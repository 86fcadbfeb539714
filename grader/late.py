"""The course's late penalty, written into nbgrader's gradebook where nbgrader keeps it.

nbgrader keeps a late penalty per submitted notebook (``SubmittedNotebook.
late_submission_penalty``), written by its ``AssignLatePenalties`` step through a
``LateSubmissionPlugin``; ``nbgrader export``, formgrader's gradebook and the feedback pages
(``GetGrades``) read it from there, and so do ``grader report`` and ``grader ci``. This module
is that plugin for the ``[late]`` policy of ``course.toml``
(:class:`grader.report.policy.LatePolicy`, the rule's one implementation), and the step the
grading run calls: a grade is then the same number in every view.

The lateness is nbgrader's: the submission's timestamp (``timestamp.txt``, written by
``nbgrader submit`` and kept by ``collect``) after the assignment's due date (``nbgrader db
assignment add NAME --duedate ...``) plus the student's extension.
"""

from __future__ import annotations

import copy
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from nbgrader.api import SubmittedNotebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Unicode
from traitlets.config import Config

from grader.course import CourseError
from grader.report.policy import CONFIG_NAME, LatePolicy, format_duration, load_policy


class CourseLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin applying ``course.toml``'s ``[late]`` policy.

    A notebook loses its share of the assignment's penalty: the policy's fraction of the
    notebook's own maximum score, so that an assignment's notebooks together lose the
    fraction of the assignment's maximum. No ``[late]`` table: no penalty. A
    ``LateSubmissionPlugin.penalty_method`` other than ``none`` is nbgrader's and wins.

    Set ``c.AssignLatePenalties.plugin_class = "grader.late.CourseLatePenalty"`` in
    ``nbgrader_config.py`` and stock ``nbgrader autograde`` applies it too (``grader grade``
    does whenever ``course.toml`` has a ``[late]`` table).
    """

    course_dir = Unicode("", help="The directory holding course.toml (default: the course "
                                  "directory, CourseDirectory.root).").tag(config=True)

    def policy(self) -> LatePolicy | None:
        """The course's late policy, read now (None: the course has none)."""
        root = self.course_dir or self.config.CourseDirectory.get("root") or os.getcwd()
        return load_policy(course_dir=Path(root)).late

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        if self.penalty_method != "none":  # nbgrader's own method, configured, wins
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        late = self.policy()
        if late is None:
            return None
        # the step holds the gradebook and the notebook it is assigning the penalty of
        step = self.parent
        notebook = step.gradebook.find_submission_notebook(
            step.notebook_id, step.assignment_id, step.student_id)
        return late.penalty(total_seconds_late, notebook.max_score)


class AssignCoursePenalties(AssignLatePenalties):
    """nbgrader's ``AssignLatePenalties``, without capping a penalty at the notebook's score.

    nbgrader caps the penalty at the notebook's score at the moment of autograding, before the
    written answers are graded by hand: a late student whose autograded items earned less than
    the penalty would keep that smaller penalty once the written answers add their points.
    Uncapped, the penalty is the policy's; every view floors the final score at 0
    (``nbgrader export`` does: ``max(0, score - penalty)``).
    """

    def _check_late_penalty(self, notebook: SubmittedNotebook, penalty: float) -> float:
        return max(0.0, float(penalty))


def penalty_config(config: Config, course_root: Path) -> Config | None:
    """The configuration to run :class:`AssignCoursePenalties` with, or None when the course
    applies no late penalty.

    nbgrader's own settings win (``AssignLatePenalties.plugin_class``,
    ``LateSubmissionPlugin.penalty_method``); otherwise ``course.toml``'s ``[late]`` policy
    applies through :class:`CourseLatePenalty`.
    """
    nbgrader_own = ("plugin_class" in config.get("AssignLatePenalties", {})
                    or config.LateSubmissionPlugin.get("penalty_method", "none") != "none")
    if nbgrader_own:
        return config
    if course_policy(course_root) is None:
        return None
    configured = copy.deepcopy(config)
    configured.AssignLatePenalties.plugin_class = CourseLatePenalty
    configured.CourseLatePenalty.course_dir = str(course_root)
    return configured


def course_policy(course_root: Path) -> LatePolicy | None:
    """``course.toml``'s late policy (None: none); a :class:`CourseError` if unreadable."""
    try:
        return load_policy(course_dir=course_root).late
    except (OSError, ValueError) as error:  # tomllib's errors are ValueErrors
        raise CourseError(f"{course_root / CONFIG_NAME}: {error}") from None


def fingerprint(course_root: Path) -> dict[str, Any] | None:
    """What of ``course.toml`` a grade's late penalty depends on (for re-grading)."""
    late = course_policy(course_root)
    return None if late is None else {"grace_minutes": late.grace_minutes,
                                      "per_day": late.per_day,
                                      "max_fraction": late.max_fraction}


def late_note(seconds_late: float, duedate: datetime | None, penalty: float,
              rule: str = "") -> str:
    """What a page says of a submission's lateness (empty when it was on time)."""
    if seconds_late <= 0:
        return ""
    due = f" ({duedate:%Y-%m-%d %H:%M} UTC)" if duedate is not None else ""
    note = f"Submitted {format_duration(seconds_late)} after the due date{due}: "
    note += (f"late penalty −{penalty:g} points" if penalty > 0
             else "within the grace period, no late penalty")
    return note + (f" ({rule})." if rule else ".")
