"""The report's section on shared code: pairs of students and the passages they share.

For each assignment, the pairs of graded notebooks that share the most answer code (every
flagged pair, then the next most similar), a score per answer cell, and for each pair the two
students' cells side by side with the shared passages highlighted. The section says what a
flag is: evidence for a person to weigh, which never changes a score.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path

from grader.course import Course, CourseError
from grader.similarity.answers import read_submissions, released_assignment
from grader.similarity.export import VERDICT_NOTE, summary
from grader.similarity.score import Similarity, score_pairs

SHOWN = 12
"""Pairs shown per assignment beyond the flagged ones."""

STYLE = """
.pair { border: 1px solid var(--line); border-radius: 6px; padding: 2px 10px; margin: 6px 0; }
.pair.flagged { border-color: #c62828; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.side pre { margin: 0; padding: 6px 8px; background: #f8f9fa; border: 1px solid var(--line);
            font-size: 12px; line-height: 1.35; overflow-x: auto; white-space: pre; }
.side mark { background: #ffcc80; }
.side h5 { margin: 4px 0; font-size: 12.5px; font-weight: 600; }
td.flag { color: #b71c1c; font-weight: 700; }
"""


def graded_similarity(course_dir: str | Path, assignments: list[str]) -> dict[str, object]:
    """Shared code of the graded notebooks (``autograded/``) of each assignment.

    Returns
    -------
    dict
        Per assignment, a :class:`~grader.similarity.Similarity`, or a sentence saying why
        there is none (not released, no graded notebooks).
    """
    course = Course(Path(course_dir))
    out: dict[str, object] = {}
    for name in assignments:
        try:
            given = released_assignment(course.release, name, course.source)
            found, problems = read_submissions(course.autograded, given)
        except CourseError as error:
            out[name] = str(error)
            continue
        out[name] = score_pairs(given, found, problems=problems) if found else \
            f"no readable graded notebook of {name!r} in {course.autograded}"
    return out


def _score_cell(value: float, flagged: bool = False) -> str:
    # Orange deepens with the share of code in common.
    alpha = 0.08 + 0.8 * min(max(value, 0.0), 1.0)
    style = f' style="background: rgba(239, 108, 0, {alpha:.2f})"' if value > 0 else ""
    return f'<td class="num"{style} data-v="{value:.4f}">{value:.2f}</td>'


def _marked(code: str, spans: list[tuple[int, int]]) -> str:
    parts, at = [], 0
    for start, end in spans:
        parts.append(escape(code[at:start]) + "<mark>" + escape(code[start:end]) + "</mark>")
        at = end
    return "".join(parts) + escape(code[at:])


def _pair_details(result: Similarity, row, ident: str) -> str:
    blocks = []
    for key in result.assignment.order:
        if row[key] <= 0:
            continue
        code_a, code_b, spans_a, spans_b = result.passages(row["a"], row["b"], key)
        label = escape(result.assignment.labels[key])
        blocks.append(
            f'<h5>{label} · {row[key]:.2f}</h5><div class="side">'
            f'<pre data-student="{escape(row["a"])}">{_marked(code_a, spans_a)}</pre>'
            f'<pre data-student="{escape(row["b"])}">{_marked(code_b, spans_b)}</pre></div>')
    css = "pair flagged" if row["flagged"] else "pair"
    verdict = " · flagged" if row["flagged"] else ""
    return (f'<details class="{css}" id="{ident}"><summary>{escape(row["a"])} and '
            f'{escape(row["b"])}: {row["score"]:.2f}{verdict}</summary>'
            f'<p class="note">Left {escape(row["a"])}, right {escape(row["b"])}; highlighted: '
            "passages the other also has, once names, comments and layout are set "
            f"aside.</p>{''.join(blocks)}</details>")


def assignment_block(result: Similarity, shown: int = SHOWN) -> str:
    """The table of the most similar pairs of one assignment and their passages."""
    from grader.report.html import _table, _text_cell

    name = result.assignment.name
    head = f'<h3>{escape(name)}</h3><p class="muted">{escape(summary(result))}</p>'
    for problem in result.problems:
        head += f'<p class="failed">not read: {escape(problem)}</p>'
    pairs = result.pairs
    if pairs.empty:
        return head + "<p>No two submissions share any answer code beyond what was given.</p>"
    chosen = pairs[pairs["flagged"] | (pairs.index < shown)]
    labels = [result.assignment.labels[k] for k in result.assignment.order]
    rows, details = [], []
    for number, (_, row) in enumerate(chosen.iterrows()):
        ident = f"pair-{name}-{number}"
        flag = '<td class="flag">FLAG</td>' if row["flagged"] else "<td></td>"
        rows.append(_text_cell(row["a"]) + _text_cell(row["b"] + (f" ({row['past']})"
                                                                    if row["past"] else ""))
                    + _score_cell(row["score"]) + f'<td class="num">{row["shared"]}</td>' + flag
                    + "".join(_score_cell(row[k]) for k in result.assignment.order)
                    + f'<td><a href="#{ident}">passages</a></td>')
        details.append(_pair_details(result, row, ident))
    table = _table(["student", "student", "score", "shared", "flag", *labels, ""], rows,
                   f"similarity-{name}")
    more = len(pairs) - len(chosen)
    tail = f'<p class="muted">{more} more pairs share less.</p>' if more > 0 else ""
    return head + table + tail + "".join(details)


def _explanation(results: list[Similarity]) -> str:
    settings = results[0].settings if results else None
    rule = "" if settings is None else (
        f" A pair is flagged when its score is at least {settings.threshold:g} and it shares at "
        f"least {settings.min_shared} fingerprints.")
    return ('<p class="note" id="similarity-note"><b>' + escape(VERDICT_NOTE) + "</b> Score: "
            "the share of two students' answer code that they have in common (winnowed "
            "fingerprints of their answer cells, by copydetect, with identifiers, strings, "
            "comments and layout normalised), per answer cell and over the notebook. What "
            "everyone was given — the released notebook, docstrings, def lines — is left out. "
            "Code that matches the instructor's solution (the obvious way, which independent "
            "students find on their own) and passages found in more than 5% of the class count "
            "in the size of an answer, never as shared." + escape(rule) + "</p>")


def similarity_section(results: Mapping[str, object]) -> str:
    """The report's "Shared code" section (empty when the report was built without it)."""
    if not results:
        return ""
    computed = [r for r in results.values() if isinstance(r, Similarity)]
    parts = ['<h2 id="similarity">Shared code</h2>', _explanation(computed)]
    for name, result in results.items():
        if isinstance(result, Similarity):
            parts.append(assignment_block(result))
        else:
            parts.append(f'<h3>{escape(name)}</h3><p class="muted">{escape(str(result))}</p>')
    return f"<style>{STYLE}</style>" + "".join(parts)


def similarity_page(result: Similarity) -> str:
    """A page of its own for one assignment (``grader similarity --format html``)."""
    from grader.report.html import page

    body = (f"<h1>Shared code · {escape(result.assignment.name)}</h1>"
            + similarity_section({result.assignment.name: result}))
    return page(f"Shared code · {result.assignment.name}", body)
