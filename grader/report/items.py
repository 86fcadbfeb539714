"""Per-item statistics: difficulty, spread, credit shares, discrimination, failures.

Statistics describe graded work: a student counts for an item when they submitted the
assignment, the item is not pending and the grading run did not fail on the submission (its
zeros would measure a damaged notebook, not the item). An item is *failed* when it earned
less than full credit (nbgrader's test cells earn all or nothing: "the test did not pass").

Discrimination is the **corrected item-total correlation**: the Pearson correlation, over the
students graded on the item, between the item's score and the rest of the assignment's score
(the assignment's raw total minus this item). Excluding the item from the total keeps an item
from correlating with itself. Values near 0 or below mean the item does not separate strong from
weak students. The Kelley upper/lower 27 % index is given as well: the mean fraction of the
item's points earned by the top 27 % of students by assignment total minus that of the bottom
27 %.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from grader.report.load import GradebookData

TOP_MESSAGES = 3
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# A printed NumPy array: brackets around numbers, nan, inf and whitespace only.
_ARRAY = re.compile(r"\[[\[\]\s\d.eE+\-,naifNAIF]*\]")
_TOLERANCE = 1e-9


def _corrected_correlation(item: np.ndarray, rest: np.ndarray) -> float:
    if len(item) < 3 or np.ptp(item) <= _TOLERANCE or np.ptp(rest) <= _TOLERANCE:
        return float("nan")
    return float(np.corrcoef(item, rest)[0, 1])


def _upper_lower(item: np.ndarray, total: np.ndarray, max_score: float) -> float:
    group = int(round(0.27 * len(item)))
    if group < 1 or 2 * group > len(item) or max_score <= 0:
        return float("nan")
    order = np.argsort(total, kind="stable")
    lower, upper = item[order[:group]], item[order[-group:]]
    return float((upper.mean() - lower.mean()) / max_score)


def item_table(data: GradebookData, scores: pd.DataFrame,
               failures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Statistics of every item.

    Parameters
    ----------
    data : GradebookData
        Item definitions.
    scores : DataFrame
        Output of :func:`grader.report.tables.item_score_table`.
    failures : DataFrame, optional
        Output of :func:`group_failures`; its most common patterns fill ``common_failures``.

    Returns
    -------
    DataFrame
        ``assignment, item, max_score, manual, graded, pending, mean, std, mean_percent,
        full, partial, zero, discrimination, upper_lower, common_failures``. ``std`` is the
        sample standard deviation; ``full``, ``partial``, ``zero`` are shares of the graded
        students.
    """
    pending = data.grades.groupby(["assignment", "item"])["pending"].sum()
    spec = data.items.set_index(["assignment", "item"])
    # Assignment raw totals over graded items, computed once per assignment.
    totals = {name: scores[name].sum(axis=1, min_count=1).to_numpy(dtype=float)
              for name in dict.fromkeys(scores.columns.get_level_values(0))}
    table = []
    for assignment, item in scores.columns:
        values = scores[(assignment, item)].to_numpy(dtype=float)
        graded = ~np.isnan(values)
        x, t = values[graded], totals[assignment][graded]
        max_score = float(spec.at[(assignment, item), "max_score"])
        n = len(x)
        full = float(np.mean(x >= max_score - _TOLERANCE)) if n else np.nan
        # A zero-point item cannot be failed: everyone who has it has "full" credit.
        zero = float(np.mean(x <= _TOLERANCE)) if n and max_score > 0 else (0.0 if n else np.nan)
        table.append({
            "assignment": assignment,
            "item": item,
            "max_score": max_score,
            "manual": bool(spec.at[(assignment, item), "manual"]),
            "graded": n,
            "pending": int(pending.get((assignment, item), 0)),
            "mean": float(x.mean()) if n else np.nan,
            "std": float(x.std(ddof=1)) if n > 1 else np.nan,
            "mean_percent": float(100 * x.mean() / max_score) if n and max_score > 0 else np.nan,
            "full": full,
            "partial": float(np.mean((x > _TOLERANCE) & (x < max_score - _TOLERANCE)))
            if n else np.nan,
            "zero": zero,
            "discrimination": _corrected_correlation(x, t - x),
            "upper_lower": _upper_lower(x, t, max_score),
        })
    columns = ["assignment", "item", "max_score", "manual", "graded", "pending", "mean", "std",
               "mean_percent", "full", "partial", "zero", "discrimination", "upper_lower"]
    frame = pd.DataFrame(table, columns=columns)
    frame["common_failures"] = _common(frame, failures)
    return frame


def _common(items: pd.DataFrame, failures: pd.DataFrame | None) -> list[str]:
    if failures is None or failures.empty:
        return [""] * len(items)
    top = failures.groupby(["assignment", "item"], sort=False).head(TOP_MESSAGES)
    text = top.assign(entry=top["pattern"] + " (" + top["count"].astype(str) + ")")
    joined = text.groupby(["assignment", "item"], sort=False)["entry"].agg(" | ".join)
    return [joined.get((a, i), "") for a, i in zip(items["assignment"], items["item"])]


def failed_mask(scores: pd.DataFrame, data: GradebookData) -> pd.DataFrame:
    """True where a graded item earned less than full credit (pending and missing are False)."""
    maxima = data.items.set_index(["assignment", "item"])["max_score"].reindex(scores.columns)
    return scores.lt(maxima.to_numpy() - _TOLERANCE, axis=1) & scores.notna()


def message_pattern(message: str) -> str:
    """A failure message with printed arrays replaced by ``[…]`` and numbers by ``#``, so that
    the same failure on different data groups together."""
    return _NUMBER.sub("#", _ARRAY.sub("[…]", message))


def group_failures(messages: pd.DataFrame, data: GradebookData,
                   failed: pd.DataFrame) -> pd.DataFrame:
    """Group the failure messages of failed items.

    Parameters
    ----------
    messages : DataFrame
        ``student_id, assignment, notebook, item, message`` from the autograded notebooks.
    data : GradebookData
        Item labels (a cell name shared by two notebooks is labelled ``notebook:name``).
    failed : DataFrame
        Output of :func:`failed_mask`; messages of items that did not fail are dropped.

    Returns
    -------
    DataFrame
        ``assignment, item, pattern, count, example`` sorted by assignment and item order, most
        frequent pattern first.
    """
    columns = ["assignment", "item", "pattern", "count", "example"]
    if messages.empty or failed.empty:
        return pd.DataFrame(columns=columns)
    known = set(zip(data.items["assignment"], data.items["item"]))
    label = [item if (a, item) in known else f"{nb}:{item}"
             for a, nb, item in zip(messages["assignment"], messages["notebook"],
                                    messages["item"])]
    messages = messages.assign(item=label)
    long = failed.stack(["assignment", "item"], future_stack=True)
    long = long[long].reset_index()[["student_id", "assignment", "item"]]
    kept = messages.merge(long, on=["student_id", "assignment", "item"])
    if kept.empty:
        return pd.DataFrame(columns=columns)
    kept = kept.assign(pattern=kept["message"].map(message_pattern))
    grouped = (kept.groupby(["assignment", "item", "pattern"], sort=False)
               .agg(count=("student_id", "nunique"), example=("message", "first"))
               .reset_index())
    order = {key: rank for rank, key in enumerate(failed.columns)}
    grouped["_rank"] = [order.get((a, i), len(order))
                        for a, i in zip(grouped["assignment"], grouped["item"])]
    grouped = grouped.sort_values(["_rank", "count", "pattern"], ascending=[True, False, True])
    return grouped[columns].reset_index(drop=True)


def cofailure(failed: pd.DataFrame, assignment: str) -> pd.DataFrame:
    """How many students failed both of two items of one assignment.

    Returns
    -------
    DataFrame
        Square, items by items; the diagonal is the number of students who failed the item.
    """
    if failed.empty or assignment not in failed.columns.get_level_values(0):
        return pd.DataFrame()
    block = failed[assignment].to_numpy(dtype=np.int64)
    counts = block.T @ block
    return pd.DataFrame(counts, index=failed[assignment].columns,
                        columns=failed[assignment].columns)


def failure_correlation(failed: pd.DataFrame, graded: pd.DataFrame,
                        assignment: str) -> pd.DataFrame:
    """Correlation (phi coefficient) of failing two items, over students graded on both.

    Counting students who fail both items mostly measures how hard the items are; the phi
    coefficient measures how much more often they are failed together than chance predicts
    from their failure rates: 0 for independent items, 1 for items failed by exactly the same
    students. NaN when an item is failed by all or none of the students graded on both.

    Parameters
    ----------
    failed : DataFrame
        Output of :func:`failed_mask`.
    graded : DataFrame
        True where a student was graded on an item (same shape as ``failed``).
    assignment : str
        The assignment whose items are compared.

    Returns
    -------
    DataFrame
        Square, items by items, with NaN on the diagonal.
    """
    if failed.empty or assignment not in failed.columns.get_level_values(0):
        return pd.DataFrame()
    f = failed[assignment].to_numpy(dtype=float)
    g = graded[assignment].to_numpy(dtype=float)
    n = g.T @ g  # graded on both
    fail_i = f.T @ g  # failed i, graded on j
    fail_j = g.T @ f  # graded on i, failed j
    both = f.T @ f
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = (both * n - fail_i * fail_j) / np.sqrt(
            fail_i * (n - fail_i) * fail_j * (n - fail_j))
    phi[~np.isfinite(phi)] = np.nan
    np.fill_diagonal(phi, np.nan)
    items = failed[assignment].columns
    return pd.DataFrame(phi, index=items, columns=items)


def cofailure_pairs(failed: pd.DataFrame, graded: pd.DataFrame, assignments: list[str],
                    limit: int = 15) -> pd.DataFrame:
    """The item pairs most strongly failed together.

    Parameters
    ----------
    failed, graded : DataFrame
        Failed and graded masks (see :func:`failure_correlation`).
    assignments : list of str
        Assignments whose items are paired (never across assignments).
    limit : int
        Number of pairs returned.

    Returns
    -------
    DataFrame
        ``assignment, item_a, item_b, both, jaccard, correlation`` for at most ``limit``
        pairs failed together by at least one student, highest correlation (phi) first.
        ``jaccard`` is failed both / failed either.
    """
    rows = []
    for assignment in assignments:
        counts = cofailure(failed, assignment)
        if counts.empty:
            continue
        phi = failure_correlation(failed, graded, assignment).to_numpy()
        values = counts.to_numpy()
        diagonal = np.diag(values)
        upper_i, upper_j = np.triu_indices(len(values), k=1)
        for i, j in zip(upper_i, upper_j):
            both = int(values[i, j])
            if both:
                either = int(diagonal[i] + diagonal[j] - both)
                rows.append((assignment, counts.index[i], counts.columns[j], both,
                             both / either, float(phi[i, j])))
    frame = pd.DataFrame(rows, columns=["assignment", "item_a", "item_b", "both", "jaccard",
                                        "correlation"])
    frame = frame.sort_values(["correlation", "both"], ascending=False, kind="stable",
                              na_position="last")
    return frame.head(limit).reset_index(drop=True)
