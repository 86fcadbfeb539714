"""The pairs of a :class:`Similarity` as JSON, CSV or terminal tables.

Every format lists the pairs that share any answer code, most similar first (or the ``top``
of them); a pair that is not listed shares nothing. Scores are rounded to 3 decimals.
"""

from __future__ import annotations

import io
import json

import pandas as pd
from rich.console import Console
from rich.table import Table

from grader.similarity.score import Similarity

VERDICT_NOTE = ("A flag is evidence for a person to weigh, never a verdict: it changes no score. "
                "Look at the passages before deciding anything.")


def _listed(result: Similarity, top: int | None) -> pd.DataFrame:
    return result.pairs if top is None else result.pairs.head(top)


def records(result: Similarity, top: int | None = None) -> list[dict]:
    """One dict per pair: ``a, b, score, flagged, shared, past, functions``.

    ``functions`` maps each answer cell's function name (or grade id) to that cell's score.
    """
    out = []
    for _, row in _listed(result, top).iterrows():
        out.append({"a": row["a"], "b": row["b"], "score": round(float(row["score"]), 3),
                    "flagged": bool(row["flagged"]), "shared": int(row["shared"]),
                    "past": row["past"],
                    "functions": {name: round(value, 3)
                                  for name, value in result.functions(row).items()}})
    return out


def json_text(result: Similarity, top: int | None = None) -> str:
    """The pairs as a JSON list (see :func:`records`)."""
    return json.dumps(records(result, top), indent=1) + "\n"


def csv_text(result: Similarity, top: int | None = None) -> str:
    """One CSV row per pair: ``a, b, past, score, shared, flagged`` and one column per cell."""
    frame = _listed(result, top)
    labels = result.assignment.labels
    out = frame[["a", "b", "past", "score", "shared", "flagged", *result.assignment.order]]
    out = out.rename(columns=labels).round(3)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def summary(result: Similarity) -> str:
    """One line: students, pairs sharing code, flagged pairs, and the rule."""
    s = result.settings
    students = len(result.students)
    earlier = len(result.submissions) - students
    return (f"{result.assignment.name}: {students} students"
            + (f" (+ {earlier} from earlier terms)" if earlier else "")
            + f", {len(result.pairs)} pairs share some answer code, "
            f"{int(result.pairs['flagged'].sum())} flagged "
            f"(score ≥ {s.threshold:g} and ≥ {s.min_shared} shared fingerprints)")


def table_text(result: Similarity, top: int | None = 20, width: int | None = None) -> str:
    """Terminal tables: the most similar pairs (every flagged one included), and the rules."""
    frame = result.pairs
    shown = frame[frame["flagged"] | (frame.index < (top if top is not None else len(frame)))]
    table = Table(title=summary(result), title_justify="left")
    for column, justify in (("a", "left"), ("b", "left"), ("score", "right"),
                            ("shared", "right"), ("flag", "left"), ("most shared cells", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for _, row in shown.iterrows():
        cells = sorted(result.functions(row).items(), key=lambda kv: -kv[1])
        best = ", ".join(f"{name} {value:.2f}" for name, value in cells[:3] if value > 0)
        table.add_row(row["a"], row["b"], f"{row['score']:.2f}", str(row["shared"]),
                      "[bold red]FLAG[/]" if row["flagged"] else "", best)
    console = Console(file=io.StringIO(), width=width or 120, force_terminal=False)
    if frame.empty:
        console.print(summary(result))
        console.print("No two submissions share any answer code beyond what was given.")
    else:
        console.print(table)
    for problem in result.problems:
        console.print(f"[yellow]not read:[/] {problem}")
    console.print(VERDICT_NOTE)
    return console.file.getvalue()
