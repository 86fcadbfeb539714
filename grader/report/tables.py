"""Per-student tables: one row per student and assignment, the course grade, item scores.

Conventions shared by every table:

* a manual item that nobody has graded yet is *pending*: its score is NaN, never 0, and it
  counts neither for nor against the student until it is graded;
* a missing submission scores 0 towards the course grade (as ``nbgrader export`` does), but
  its items stay NaN so that item statistics describe submitted work only;
* the late penalty is the one the gradebook holds, as in every other view (``grader grade``
  writes the course policy's there: :mod:`grader.late`); ``policy_penalty`` is what
  ``course.toml``'s ``[late]`` table gives, so that a stale gradebook can be told.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from grader.report.load import GradebookData
from grader.report.policy import CoursePolicy


def _late_days(frame: pd.DataFrame, policy: CoursePolicy) -> tuple[pd.Series, pd.Series]:
    """Started days late (after the policy's grace period), and the penalty the policy gives:
    the gradebook should hold it (grading writes it there, :mod:`grader.late`)."""
    if policy.late is None:
        days = np.ceil(frame["seconds_late"] / 86400.0).astype(int)
        return days, frame["stored_penalty"]
    seconds = frame["seconds_late"].to_numpy()
    return (pd.Series(policy.late.days_late(seconds), index=frame.index),
            pd.Series(policy.late.penalty(seconds, frame["max_score"].to_numpy()),
                      index=frame.index))


def submission_table(data: GradebookData, policy: CoursePolicy,
                     runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per student and assignment, missing submissions included.

    Parameters
    ----------
    data : GradebookData
        The loaded gradebook.
    policy : CoursePolicy
        Its late policy tells the days late and the penalty the gradebook should hold.
    runs : DataFrame, optional
        Grading records from :func:`grader.report.artifacts.read_artifacts`.

    Returns
    -------
    DataFrame
        ``student_id, assignment, status, submitted, timestamp, raw_score, nbgrader_raw_score,
        pending_items, pending_points, max_score, seconds_late, days_late, late_penalty,
        stored_penalty, policy_penalty, flagged, score``. ``status`` is ``missing``,
        ``failed`` (the grading run could not grade it), ``partial`` (graded only in part,
        e.g. a cell timed out), ``pending`` (manual items await grading) or ``graded``.
        ``score`` is the raw score minus the late penalty (the gradebook's), floored at 0, and
        0 for a missing submission.
    """
    roster = pd.MultiIndex.from_product(
        [data.students["student_id"], data.assignment_names], names=["student_id", "assignment"])
    frame = pd.DataFrame(index=roster).reset_index()
    frame = frame.merge(data.assignments[["assignment", "max_score"]], on="assignment",
                        how="left")
    frame = frame.merge(data.submissions, on=["student_id", "assignment"], how="left",
                        indicator=True)
    frame["submitted"] = frame.pop("_merge") == "both"

    grades = data.grades.copy()
    item_max = data.items.set_index(["assignment", "item"])["max_score"]
    keys = pd.MultiIndex.from_frame(grades[["assignment", "item"]])
    grades["pending_points"] = np.where(grades["pending"], item_max.reindex(keys).to_numpy(), 0.0)
    sums = grades.groupby(["student_id", "assignment"]).agg(
        raw_score=("score", "sum"), nbgrader_raw_score=("nbgrader_score", "sum"),
        pending_items=("pending", "sum"), pending_points=("pending_points", "sum"))
    frame = frame.join(sums, on=["student_id", "assignment"])

    submitted = frame["submitted"]
    for column in ("raw_score", "nbgrader_raw_score", "pending_points"):
        frame[column] = frame[column].where(submitted, np.nan)
        frame.loc[submitted, column] = frame.loc[submitted, column].fillna(0.0)
    frame["pending_items"] = frame["pending_items"].fillna(0).astype(int)
    frame["seconds_late"] = frame["seconds_late"].fillna(0.0)
    frame["stored_penalty"] = frame["stored_penalty"].fillna(0.0)
    frame["flagged"] = frame["flagged"].fillna(False).astype(bool)
    days, expected = _late_days(frame, policy)
    frame["days_late"] = days.where(submitted, 0).astype(int)
    # the gradebook's penalty, which every other view shows too; the policy's own figure
    # tells a gradebook not graded since the policy or a due date changed
    frame["late_penalty"] = frame["stored_penalty"].where(submitted, 0.0).astype(float)
    frame["policy_penalty"] = expected.where(submitted, 0.0).astype(float)
    frame["score"] = (frame["raw_score"] - frame["late_penalty"]).clip(lower=0.0).fillna(0.0)

    status = np.where(frame["pending_items"] > 0, "pending", "graded")
    status = np.where(submitted, status, "missing")
    if runs is not None and len(runs):
        # The grading run's verdict wins, so that a submission the pipeline could not grade
        # is never mistaken for one graded zero.
        verdict = runs.set_index(["student_id", "assignment"])["status"]
        verdict = verdict[~verdict.index.duplicated()]
        run_status = verdict.reindex(pd.MultiIndex.from_frame(
            frame[["student_id", "assignment"]])).to_numpy()
        status = np.where(np.isin(run_status, ["failed", "unknown"]), "failed", status)
        status = np.where(run_status == "partial", "partial", status)
    frame["status"] = status
    return frame[["student_id", "assignment", "status", "submitted", "timestamp", "raw_score",
                  "nbgrader_raw_score", "pending_items", "pending_points", "max_score",
                  "seconds_late", "days_late", "late_penalty", "stored_penalty",
                  "policy_penalty", "flagged", "score"]]


def student_table(data: GradebookData, submissions: pd.DataFrame,
                  policy: CoursePolicy) -> pd.DataFrame:
    """One row per student: score per assignment, total, course grade and letter.

    Parameters
    ----------
    data : GradebookData
        The loaded gradebook (names and roster order).
    submissions : DataFrame
        Output of :func:`submission_table`.
    policy : CoursePolicy
        Weights and letter cut-offs.

    Returns
    -------
    DataFrame
        ``student_id, last_name, first_name, email``, one score column per assignment (after
        late penalty), ``total, max_total, late_penalty, percent, letter, pending_items,
        missing``. ``percent`` is the weighted course grade in percent: the weighted mean over
        assignments of score / max score. It is provisional while ``pending_items > 0``.
    """
    names = data.assignment_names
    students = data.students[["student_id", "last_name", "first_name", "email"]].copy()
    scores = submissions.pivot(index="student_id", columns="assignment", values="score")
    scores = scores.reindex(index=students["student_id"], columns=names)
    for name in names:
        students[name] = scores[name].to_numpy(dtype=float)

    by_student = submissions.groupby("student_id", sort=False)
    totals = by_student.agg(total=("score", "sum"), max_total=("max_score", "sum"),
                            late_penalty=("late_penalty", "sum"),
                            pending_items=("pending_items", "sum"),
                            missing=("submitted", lambda s: int((~s).sum())))
    totals = totals.reindex(students["student_id"])
    for column in totals.columns:
        students[column] = totals[column].to_numpy()

    maxima = data.assignments.set_index("assignment")["max_score"]
    graded = [name for name in names if maxima.get(name, 0.0) > 0]
    weights = policy.normalised_weights(graded)
    if graded:
        percent = sum(weights[name] * scores[name].to_numpy(dtype=float) / maxima[name]
                      for name in graded) * 100.0
    else:
        percent = np.full(len(students), np.nan)
    students["percent"] = percent
    students["letter"] = [policy.letter(value) for value in students["percent"]]
    students["pending_items"] = students["pending_items"].fillna(0).astype(int)
    students["missing"] = students["missing"].fillna(0).astype(int)
    return students.reset_index(drop=True)


def item_score_table(data: GradebookData) -> pd.DataFrame:
    """Score of every student on every item, NaN for pending or not submitted.

    Returns
    -------
    DataFrame
        Indexed by ``student_id`` in roster order, with ``(assignment, item)`` columns in
        assignment and notebook order.
    """
    columns = pd.MultiIndex.from_frame(data.items[["assignment", "item"]])
    order = {name: rank for rank, name in enumerate(data.assignment_names)}
    columns = columns[np.argsort([order[a] for a in columns.get_level_values(0)], kind="stable")]
    # Grades are unique per (student, assignment, item), so a plain unstack suffices.
    wide = data.grades.set_index(["student_id", "assignment", "item"])["score"]
    wide = wide.unstack(["assignment", "item"]) if len(wide) else pd.DataFrame(
        index=pd.Index([], name="student_id"))
    return wide.reindex(index=pd.Index(data.students["student_id"], name="student_id"),
                        columns=columns)
