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
FULL, PARTIAL, ZERO = "#2e7d32", "#f9a825", "#c62828"


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


def item_shares_svg(items: pd.DataFrame, assignment: str) -> str:
    """Stacked bars per item: shares of graded students with full, partial and zero credit.

    Parameters
    ----------
    items : DataFrame
        The report's item table.
    assignment : str
        Which assignment's items to draw.

    Returns
    -------
    str
        An ``<svg>`` element; empty when no item of the assignment is graded.
    """
    block = items[(items["assignment"] == assignment) & (items["graded"] > 0)]
    if block.empty:
        return ""
    labels = [f"{item} ({points:g})" for item, points in zip(block["item"], block["max_score"])]
    y = np.arange(len(block))[::-1]
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 0.6 + 0.26 * len(block)))
        left = np.zeros(len(block))
        for column, color, label in (("full", FULL, "full credit"),
                                     ("partial", PARTIAL, "partial"),
                                     ("zero", ZERO, "no credit")):
            share = 100 * block[column].to_numpy(dtype=float)
            axes.barh(y, share, left=left, color=color, label=label, height=0.75)
            left += share
        axes.set_yticks(y, labels)
        axes.set_xlim(0, 100)
        axes.set_xlabel("share of graded students (%)")
        axes.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        return _svg(figure)
