"""Charts of the HTML report, drawn with matplotlib as inline SVG text.

SVG keeps the page self-contained and sharp at any zoom; text stays text (``svg.fonttype =
"none"``), so the browser renders it in the page's font and it can be searched.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib

matplotlib.use("Agg")  # no display on a grading server

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "grader-report",  # stable ids: the same report gives the same page
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
FULL, PARTIAL, ZERO, PENDING = "#2e7d32", "#f9a825", "#c62828", "#90a4ae"


def _svg(figure: plt.Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    # Drop the XML prolog, DOCTYPE and RDF metadata (full of URLs): the SVG is embedded in an
    # HTML page, which should name no address at all.
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    return text[text.index("<svg"):]


def histogram_svg(percent: pd.Series, cutoffs: dict[str, float]) -> str:
    """Histogram of course grades (percent) with the letter cut-offs marked.

    Parameters
    ----------
    percent : Series
        Course grade of each student, in percent.
    cutoffs : dict of str to float
        Minimum percentage per letter.

    Returns
    -------
    str
        An ``<svg>`` element; empty when there is no grade.
    """
    values = percent.dropna().to_numpy(dtype=float)
    if values.size == 0:
        return ""
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 2.8))
        top = max(100.0, math.ceil(values.max() / 5) * 5)
        axes.hist(values, bins=np.arange(0, top + 5, 5), color="#1565c0", edgecolor="white")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        for letter, minimum in cutoffs.items():
            if 0 < minimum <= top:
                axes.axvline(minimum, color="#555555", linestyle="--", linewidth=0.8)
            # Letters above the plot, centred on their band, so that no bar hides them.
            upper = min([m for m in cutoffs.values() if m > minimum] + [top])
            if minimum < top:
                axes.text((max(minimum, 0) + upper) / 2, 1.02, letter, ha="center",
                          va="bottom", color="#333333", fontweight="bold",
                          transform=axes.get_xaxis_transform())
        axes.set_xlabel("course grade (%)")
        axes.set_ylabel("students")
        axes.set_xlim(0, top)
        return _svg(figure)


SHARES = (("full", FULL, "full credit"), ("partial", PARTIAL, "partial"),
          ("zero", ZERO, "no credit"), ("pending", PENDING, "pending (not graded yet)"))


def item_shares(items: pd.DataFrame, assignment: str) -> pd.DataFrame:
    """Per item of ``assignment``: percent of students with full, partial, no credit, pending.

    Parameters
    ----------
    items : DataFrame
        The report's item table (``graded``, ``pending`` and the ``full``, ``partial``,
        ``zero`` shares of the graded students).
    assignment : str
        The assignment.

    Returns
    -------
    DataFrame
        ``item, max_score, full, partial, zero, pending``: percentages of the students graded
        on the item or pending on it (they add up to 100), for items with any such student.
    """
    block = items[(items["assignment"] == assignment)
                  & ((items["graded"] > 0) | (items["pending"] > 0))]
    graded = block["graded"].to_numpy(dtype=float)
    counted = graded + block["pending"].to_numpy(dtype=float)
    shares = {"item": block["item"].to_numpy(), "max_score": block["max_score"].to_numpy()}
    for column in ("full", "partial", "zero"):  # shares of the graded students, rescaled
        shares[column] = 100 * np.nan_to_num(block[column].to_numpy(dtype=float)) * graded \
            / counted
    shares["pending"] = 100 * block["pending"].to_numpy(dtype=float) / counted
    return pd.DataFrame(shares)


def item_shares_svg(items: pd.DataFrame, assignment: str) -> str:
    """Stacked bars per item: shares of students with full, partial, no credit, or pending.

    Pending is its own state, never "no credit": a written answer nobody has graded yet, or a
    tested item held for review, is drawn in its own colour, hatched.

    Parameters
    ----------
    items : DataFrame
        The report's item table.
    assignment : str
        Which assignment's items to draw.

    Returns
    -------
    str
        An ``<svg>`` element; empty when the assignment has no graded or pending item.
    """
    shares = item_shares(items, assignment)
    if shares.empty:
        return ""
    labels = [f"{item} ({points:g})" for item, points in zip(shares["item"],
                                                             shares["max_score"])]
    y = np.arange(len(shares))[::-1]
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 0.6 + 0.26 * len(shares)))
        left = np.zeros(len(shares))
        for column, color, label in SHARES:
            share = shares[column].to_numpy(dtype=float)
            hatch = {"hatch": "///", "edgecolor": "white"} if column == "pending" else {}
            axes.barh(y, share, left=left, color=color, label=label, height=0.75, **hatch)
            left += share
        axes.set_yticks(y, labels)
        axes.set_xlim(0, 100)
        axes.set_xlabel("share of students (%)")
        axes.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        return _svg(figure)
