"""Submissions an instructor has to look at, each with the reason.

Kinds, most urgent first:

``not graded``
    the grading run could not grade the submission (``.grading.json`` status ``failed``),
    or recorded it while the gradebook has no such submission;
``partly graded``
    the grading run graded only part of it (status ``partial``: a cell timed out, the
    kernel died, ...);
``note``
    the grading run graded it but left a remark (e.g. a notebook was not submitted);
``suspicious``
    the grading run found something suspicious (one flag per finding);
``late``
    submitted after the deadline plus extension and grace period, or holding a penalty in
    the gradebook that the course policy does not give (graded before a due date changed);
``flagged``
    flagged by a grader in nbgrader's formgrader;
``review``
    a manual grade stands, but nbgrader asks for it to be checked again because the
    autograder ran after it was given;
``held for review``
    a hidden test could not decide an item and held it for a person (one flag per item,
    with the test's reason: for the staff, never shown to the student);
``pending``
    items still await grading (written answers, and items held for review).
"""

from __future__ import annotations

import pandas as pd

from grader.report.policy import format_duration

KINDS = ("not graded", "partly graded", "suspicious", "note", "late", "flagged", "review",
         "held for review", "pending")
COLUMNS = ["student_id", "assignment", "kind", "reason"]


def _stale(submissions: pd.DataFrame) -> pd.Series:
    """Submissions whose gradebook penalty is not the one the course policy gives."""
    if "policy_penalty" not in submissions:
        return pd.Series(False, index=submissions.index)
    return (submissions["late_penalty"] - submissions["policy_penalty"]).abs() > 1e-6


def _late_reason(row: pd.Series, stale: bool) -> str:
    reason = f"{format_duration(row['seconds_late'])} late" if row["seconds_late"] > 0 \
        else "on time"
    if row["late_penalty"] > 0:
        reason += f", penalty {row['late_penalty']:g} of {row['max_score']:g} points"
    else:
        reason += ", no penalty (within the grace period)" if row["days_late"] == 0 \
            and row["seconds_late"] > 0 else ", no penalty"
    if stale:
        reason += (f"; the course policy gives {row['policy_penalty']:g}: grade "
                   f"{row['assignment']} again (grader grade) to write it in the gradebook")
    return reason


def _items_by_submission(grades: pd.DataFrame | None,
                         column: str) -> dict[tuple[str, str], list[str]]:
    names: dict[tuple[str, str], list[str]] = {}
    if grades is not None and column in grades:
        chosen = grades.loc[grades[column], ["student_id", "assignment", "item"]]
        for student, assignment, item in chosen.itertuples(index=False):
            names.setdefault((student, assignment), []).append(item)
    return names


def flag_table(submissions: pd.DataFrame, runs: pd.DataFrame,
               grades: pd.DataFrame | None = None) -> pd.DataFrame:
    """List flagged submissions.

    Parameters
    ----------
    submissions : DataFrame
        Output of :func:`grader.report.tables.submission_table`.
    runs : DataFrame
        Grading records (``student_id, assignment, status, reason, suspicious``, and
        optionally ``held``).
    grades : DataFrame, optional
        The gradebook's grades (``student_id, assignment, item, pending, review``): names
        the pending items and supplies the grades to review.

    Returns
    -------
    DataFrame
        ``student_id, assignment, kind, reason`` ordered by kind (see module docstring), then
        assignment and student.
    """
    rows: list[tuple[str, str, str, str]] = []
    submitted = set(zip(submissions.loc[submissions["submitted"], "student_id"],
                        submissions.loc[submissions["submitted"], "assignment"]))
    for run in runs.itertuples(index=False):
        key = (run.student_id, run.assignment)
        # pandas turns a missing reason into NaN; only real text counts.
        reason = run.reason if isinstance(run.reason, str) and run.reason else None
        if run.status == "partial":
            rows.append((*key, "partly graded", reason or "graded in part"))
        elif run.status != "graded":
            rows.append((*key, "not graded", reason or f"grading status: {run.status}"))
        elif key not in submitted:
            rows.append((*key, "not graded", "graded by the pipeline but absent from the "
                         "gradebook" + (f" ({reason})" if reason else "")))
        elif reason:
            rows.append((*key, "note", reason))
        rows.extend((*key, "suspicious", finding) for finding in run.suspicious)
        held = getattr(run, "held", None)
        held = held if isinstance(held, dict) else {}
        rows.extend((*key, "held for review", f"{item.split(':')[-1]}: {why}")
                    for item, why in held.items())

    # Lateness inside the grace period is not worth an instructor's attention; a penalty in
    # the gradebook that the policy does not give (graded before a due date changed) is.
    stale = _stale(submissions) & submissions["submitted"]
    late = submissions["submitted"] & (submissions["seconds_late"] > 0) & (
        (submissions["days_late"] > 0) | (submissions["late_penalty"] > 0))
    rows.extend((r["student_id"], r["assignment"], "late", _late_reason(r, stale[i]))
                for i, r in submissions[late | stale].iterrows())

    flagged = submissions[submissions["flagged"]]
    rows.extend((s, a, "flagged", "flagged in the formgrader")
                for s, a in zip(flagged["student_id"], flagged["assignment"]))

    for (s, a), listed in _items_by_submission(grades, "review").items():
        rows.append((s, a, "review", "manual grade(s) to check again after the autograder "
                     f"re-ran: {', '.join(listed)}"))

    pending = submissions[submissions["pending_items"] > 0]
    names = _items_by_submission(grades, "pending")
    for s, a, count in zip(pending["student_id"], pending["assignment"],
                           pending["pending_items"]):
        listed = names.get((s, a))
        detail = f": {', '.join(listed)}" if listed else ""
        rows.append((s, a, "pending", f"{count} item(s) await grading{detail}"))

    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["_kind"] = frame["kind"].map({kind: rank for rank, kind in enumerate(KINDS)})
    frame = frame.sort_values(["_kind", "assignment", "student_id"], kind="stable")
    return frame[COLUMNS].reset_index(drop=True)
