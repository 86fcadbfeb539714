"""Assemble every table of the grade report from a course directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grader.report.artifacts import read_artifacts
from grader.report.flags import flag_table
from grader.report.items import (
    cofailure,
    cofailure_pairs,
    failed_mask,
    failure_correlation,
    group_failures,
    item_table,
)
from grader.report.load import GradebookData, load_gradebook
from grader.report.policy import CoursePolicy, load_policy
from grader.report.tables import item_score_table, student_table, submission_table


@dataclass
class Report:
    """Everything the exports and the HTML page show.

    Attributes
    ----------
    course_id : str or None
        Course recorded in the gradebook.
    generated : str
        ISO 8601 UTC time the report was built.
    policy : CoursePolicy
        Weights, cut-offs and late penalty used.
    data : GradebookData
        The gradebook tables the report was built from.
    assignments : DataFrame
        Per assignment: ``assignment, duedate, max_score, weight, students, submitted,
        graded, pending, mean, median``.
    submissions : DataFrame
        Per student and assignment (see :func:`grader.report.tables.submission_table`).
    students : DataFrame
        Per student (see :func:`grader.report.tables.student_table`).
    item_scores : DataFrame
        Students by ``(assignment, item)``; NaN for pending or not submitted.
    items : DataFrame
        Per item (see :func:`grader.report.items.item_table`).
    failures : DataFrame
        Grouped failure messages (see :func:`grader.report.items.group_failures`).
    cofailure : dict of str to DataFrame
        Per assignment, students failing both of two items.
    cofailure_corr : dict of str to DataFrame
        Per assignment, the correlation (phi) of failing two items.
    cofailure_pairs : DataFrame
        The pairs of items most often failed together.
    flags : DataFrame
        Flagged submissions (see :func:`grader.report.flags.flag_table`).
    similarity : dict
        Per assignment, the shared code of its graded notebooks (a
        :class:`grader.similarity.Similarity`) or why there is none; empty unless asked for.
    """

    course_id: str | None
    generated: str
    policy: CoursePolicy
    data: GradebookData
    assignments: pd.DataFrame
    submissions: pd.DataFrame
    students: pd.DataFrame
    item_scores: pd.DataFrame
    items: pd.DataFrame
    failures: pd.DataFrame
    cofailure: dict[str, pd.DataFrame] = field(default_factory=dict)
    cofailure_corr: dict[str, pd.DataFrame] = field(default_factory=dict)
    cofailure_pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)
    similarity: dict[str, Any] = field(default_factory=dict)

    @property
    def assignment_names(self) -> list[str]:
        """Assignments in the report, in nbgrader's order."""
        return self.data.assignment_names


def _assignment_summary(data: GradebookData, submissions: pd.DataFrame,
                        policy: CoursePolicy) -> pd.DataFrame:
    summary = data.assignments.copy()
    weights = policy.normalised_weights(
        [a for a, m in zip(summary["assignment"], summary["max_score"]) if m > 0])
    summary["weight"] = [weights.get(a, 0.0) for a in summary["assignment"]]
    flags = submissions.assign(graded=submissions["status"] == "graded",
                               pending=submissions["pending_items"] > 0)
    counts = flags.groupby("assignment", sort=False).agg(
        students=("student_id", "size"), submitted=("submitted", "sum"),
        graded=("graded", "sum"), pending=("pending", "sum"))
    counts = counts.reindex(summary["assignment"]).astype(float).fillna(0.0).astype(int)
    done = submissions[submissions["submitted"]].groupby("assignment", sort=False)["score"]
    counts["mean"] = done.mean().reindex(counts.index).astype(float)
    counts["median"] = done.median().reindex(counts.index).astype(float)
    summary = summary.join(counts, on="assignment")
    return summary.reset_index(drop=True)


def _without_failed_runs(scores: pd.DataFrame, submissions: pd.DataFrame) -> pd.DataFrame:
    # The zeros of a submission the pipeline could not grade (a damaged notebook) say nothing
    # about the items: item statistics leave them out; the student's grade keeps them.
    failed = submissions[submissions["status"] == "failed"]
    if failed.empty:
        return scores
    measured = scores.copy()
    for student, assignment in zip(failed["student_id"], failed["assignment"]):
        if assignment in measured.columns.get_level_values(0):
            measured.loc[student, assignment] = np.nan
    return measured


def _similarity(course_dir: Path, assignments: list[str]) -> dict[str, Any]:
    # Imported here: only the HTML report compares notebooks.
    from grader.report.similarity import graded_similarity
    return graded_similarity(course_dir, assignments)


def build_report(course_dir: str | Path = ".", assignments: Sequence[str] | None = None,
                 policy: CoursePolicy | None = None,
                 db_path: str | Path | None = None, similarity: bool = False) -> Report:
    """Build the grade report of a course directory.

    Parameters
    ----------
    course_dir : str or Path
        The nbgrader course directory (``gradebook.db``, ``autograded/``, ``course.toml``).
    assignments : sequence of str, optional
        Assignments to include; all in the gradebook when omitted.
    policy : CoursePolicy, optional
        Grading policy; read from ``course.toml`` in ``course_dir`` when omitted.
    db_path : str or Path, optional
        Gradebook to read instead of ``course_dir/gradebook.db``.
    similarity : bool
        Also compare the graded notebooks' answer code (see :mod:`grader.similarity`).

    Returns
    -------
    Report

    Raises
    ------
    KeyError
        If a requested assignment is not in the gradebook.
    """
    course_dir = Path(course_dir)
    policy = policy if policy is not None else load_policy(course_dir=course_dir)
    data = load_gradebook(db_path or course_dir / "gradebook.db", assignments)
    runs, messages = read_artifacts(course_dir, data.assignment_names)

    submissions = submission_table(data, policy, runs)
    students = student_table(data, submissions, policy)
    scores = item_score_table(data)
    measured = _without_failed_runs(scores, submissions)
    failed = failed_mask(measured, data)
    graded = measured.notna()
    failures = group_failures(messages, data, failed)
    items = item_table(data, measured, failures)
    return Report(
        course_id=data.course_id,
        generated=datetime.now(UTC).replace(microsecond=0).isoformat(),
        policy=policy,
        data=data,
        assignments=_assignment_summary(data, submissions, policy),
        submissions=submissions,
        students=students,
        item_scores=scores,
        items=items,
        failures=failures,
        cofailure={name: cofailure(failed, name) for name in data.assignment_names},
        cofailure_corr={name: failure_correlation(failed, graded, name)
                        for name in data.assignment_names},
        cofailure_pairs=cofailure_pairs(failed, graded, data.assignment_names),
        flags=flag_table(submissions, runs, data.grades),
        similarity=_similarity(course_dir, data.assignment_names) if similarity else {},
    )

