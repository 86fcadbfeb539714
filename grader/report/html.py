"""The report as one self-contained HTML page.

Everything is inline: styles, a small script that sorts and filters tables, and the charts as
SVG. The page loads nothing from the network, so it opens from a mail attachment or an
offline laptop. Co-failure is drawn as a colour-graded table rather than a chart, so that each
cell carries its exact count and a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

import pandas as pd

from grader.report.build import Report
from grader.report.charts import histogram_svg, item_shares_svg

_STYLE = """
:root { --fg: #1a1a1a; --muted: #5f6368; --line: #dadce0; --head: #f1f3f4; --accent: #1565c0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 16px 20px 48px; max-width: 1360px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px;
     border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.muted { color: var(--muted); } .note { color: var(--muted); font-size: 12.5px; max-width: 900px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card b { display: block; font-size: 20px; }
.scroll { overflow-x: auto; max-width: 100%; }
.tall { max-height: 560px; overflow: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left;
         vertical-align: top; }
th { background: var(--head); position: sticky; top: 0; z-index: 1; }
th.sortable { cursor: pointer; } th.sortable::after { content: " \\2195"; color: #9aa0a6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pending { color: #8a5a00; font-style: italic; } .missing { color: var(--muted); }
.failed { color: #b71c1c; font-weight: 600; } .late { color: #8a5a00; }
.kind { font-weight: 600; white-space: nowrap; }
.filter { margin: 4px 0; padding: 4px 8px; width: 260px; font: inherit; }
.chart svg { max-width: 100%; height: auto; }
table.heat td { width: 34px; min-width: 34px; text-align: center; padding: 2px;
                font-size: 11px; border: 1px solid #fff; }
table.heat th { background: none; position: static; }
table.heat th.rot { height: 150px; white-space: nowrap; vertical-align: bottom;
                    padding: 0 2px; background: none; position: static; }
table.heat th.rot div { writing-mode: vertical-rl; transform: rotate(180deg);
                        font-weight: normal; font-size: 11.5px; }
table.heat th.row { font-weight: normal; font-size: 11.5px; background: none; position: static; }
td.msg { min-width: 240px; max-width: 360px; font-size: 12px; }
td.msg div + div { margin-top: 3px; padding-top: 3px; border-top: 1px dotted var(--line); }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
"""

# Sorting by clicking a header (numbers by their data-v value) and filtering rows by text.
_SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-v');
    if (v !== null && v !== '') { return parseFloat(v); }
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, index) {
      th.classList.add('sortable');
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var up = th.getAttribute('data-order') !== 'asc';
        heads.forEach(function (h) { h.removeAttribute('data-order'); });
        th.setAttribute('data-order', up ? 'asc' : 'desc');
        rows.sort(function (a, b) {
          var x = key(a.cells[index]), y = key(b.cells[index]);
          var nx = typeof x === 'number' && !isNaN(x), ny = typeof y === 'number' && !isNaN(y);
          if (nx !== ny) { return nx ? -1 : 1; }
          var c = x < y ? -1 : (x > y ? 1 : 0);
          return up ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function (input) {
    var table = document.getElementById(input.getAttribute('data-table'));
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  });
  document.body.setAttribute('data-ready', 'yes');
})();
"""


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _fmt(value: object, digits: int = 1) -> str:
    if _missing(value):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _num_cell(value: object, digits: int = 1, css: str = "num", text: str | None = None) -> str:
    sort = "" if _missing(value) else f"{float(value):.6g}"
    shown = escape(text if text is not None else _fmt(value, digits))
    return f'<td class="{css}" data-v="{sort}">{shown}</td>'


def _text_cell(value: object, css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return f"<td{attr}>{escape('' if _missing(value) else str(value))}</td>"


def _messages_cell(joined: str) -> str:
    # One line per grouped message, in a column of bounded width so the table fits a laptop.
    lines = "".join(f"<div>{escape(part)}</div>" for part in joined.split(" | ") if part)
    return f'<td class="msg">{lines}</td>'


def _table(headers: Sequence[str], rows: Iterable[str], table_id: str = "",
           sortable: bool = True, css: str = "") -> str:
    classes = " ".join(c for c in ("sortable" if sortable else "", css) if c)
    ident = f' id="{table_id}"' if table_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "\n".join(f"<tr>{row}</tr>" for row in rows)
    return (f'<div class="scroll"><table{ident} class="{classes}"><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>")


def _percent(share: object) -> str:
    return "—" if _missing(share) else f"{100 * float(share):.0f}%"


def _header(report: Report) -> str:
    policy = report.policy
    weights = ", ".join(f"{a} {w:.0%}" for a, w in zip(report.assignments["assignment"],
                                                          report.assignments["weight"]))
    letters = ", ".join(f"{k} ≥ {v:g}%" for k, v in sorted(policy.letters.items(),
                                                             key=lambda kv: -kv[1]))
    if policy.late is None:
        late = "late penalty: as stored in the gradebook (nbgrader)"
    else:
        late = f"late penalty: {policy.late.describe()} (as the gradebook holds it)"
    source = escape(policy.source or "defaults (no course.toml)")
    students = report.students
    mean = students["percent"].mean() if len(students) else float("nan")
    cards = [("students", str(len(students))),
             ("assignments", str(len(report.assignment_names))),
             ("mean course grade", "—" if _missing(mean) else f"{mean:.1f}%"),
             ("awaiting manual grading", str(int((report.submissions["pending_items"] > 0)
                                                 .sum()))),
             ("flags", str(len(report.flags)))]
    card_html = "".join(f'<div class="card"><span class="muted">{escape(k)}</span>'
                        f'<b id="card-{escape(k.replace(" ", "-"))}">{escape(v)}</b></div>'
                        for k, v in cards)
    return (f"<h1>Grade report · {escape(report.course_id or 'course')}</h1>"
            f'<p class="muted">Generated {escape(report.generated)} · policy: {source}<br>'
            f"weights: {escape(weights or '—')} · letters: {escape(letters)} · "
            f"{escape(late)}</p><div class=\"cards\">{card_html}</div>")


def _assignments(report: Report) -> str:
    rows = []
    for r in report.assignments.itertuples(index=False):
        due = "" if _missing(r.duedate) else r.duedate.strftime("%Y-%m-%d %H:%M")
        rows.append(_text_cell(r.assignment) + _text_cell(due) + _num_cell(r.max_score)
                    + _num_cell(r.weight, text=f"{r.weight:.0%}")
                    + _num_cell(r.submitted, text=f"{r.submitted}/{r.students}")
                    + _num_cell(r.pending, text=str(r.pending))
                    + _num_cell(r.mean) + _num_cell(r.median))
    return "<h2>Assignments</h2>" + _table(
        ["assignment", "due (UTC)", "max", "weight", "submitted", "pending manual",
         "mean score", "median score"], rows, "assignments")


def _distribution(report: Report) -> str:
    svg = histogram_svg(report.students["percent"], report.policy.letters)
    counts = report.students["letter"].value_counts()
    letters = " · ".join(f"{letter}: {int(counts.get(letter, 0))}"
                         for letter in sorted(report.policy.letters,
                                              key=lambda k: -report.policy.letters[k]))
    body = f'<div class="chart" id="histogram">{svg}</div>' if svg else \
        '<p class="muted">No grades yet.</p>'
    return (f"<h2>Course grades</h2>{body}<p>Letters: {escape(letters)}</p>"
            '<p class="note">Weighted course grade: the weighted mean over assignments of score '
            "after late penalty divided by the maximum; a missing submission counts 0; manual "
            "items not graded yet count neither way (the grade is provisional, marked *).</p>")


def _flags(report: Report) -> str:
    if report.flags.empty:
        return "<h2>Flagged submissions</h2><p>No flagged submissions.</p>"
    rows = [_text_cell(r.kind, "kind") + _text_cell(r.student_id) + _text_cell(r.assignment)
            + _text_cell(r.reason) for r in report.flags.itertuples(index=False)]
    table = _table(["kind", "student", "assignment", "reason"], rows, "flags")
    return ("<h2>Flagged submissions</h2>"
            '<input class="filter" data-table="flags" placeholder="filter flags…">'
            f'<div class="tall">{table}</div>')


def _student_rows(report: Report) -> list[str]:
    subs = report.submissions.set_index(["student_id", "assignment"])
    rows = []
    for s in report.students.itertuples(index=False):
        name = ", ".join(p for p in (s.last_name, s.first_name) if isinstance(p, str))
        cells = [_text_cell(s.student_id), _text_cell(name)]
        for assignment in report.assignment_names:
            sub = subs.loc[(s.student_id, assignment)]
            if sub["status"] == "missing":
                cells.append(_num_cell(0.0, css="num missing", text="missing"))
                continue
            text = _fmt(sub["score"])
            css = "num"
            if sub["late_penalty"] > 0:
                text += f" (−{sub['late_penalty']:g} late)"
                css += " late"
            if sub["pending_items"] > 0:
                text += " *"
                css += " pending"
            if sub["status"] in ("failed", "partial"):
                text += " !"
                css += " failed"
            cells.append(_num_cell(sub["score"], css=css, text=text))
        letter = s.letter + (" *" if s.pending_items else "")
        cells += [_num_cell(s.total), _num_cell(s.late_penalty, text=_fmt(s.late_penalty)),
                  _num_cell(s.percent), _text_cell(letter)]
        rows.append("".join(cells))
    return rows


def _students(report: Report) -> str:
    if report.students.empty:
        return "<h2>Students</h2><p>No students in the gradebook.</p>"
    headers = ["student", "name", *report.assignment_names, "total", "late penalty",
               "course %", "letter"]
    return ("<h2>Students</h2>"
            '<p class="note">Scores after late penalty. * manual items pending (provisional), '
            "! the submission could not be graded, or only in part (see flags). "
            "Click a header to sort.</p>"
            '<input class="filter" data-table="students" placeholder="filter students…">'
            f'<div class="tall">{_table(headers, _student_rows(report), "students")}</div>')


def _items(report: Report) -> str:
    parts = ["<h2>Items</h2>",
             '<p class="note">Charts: every student with a submission, pending items (a '
             "written answer awaiting grading, a tested item held for review) in hatched grey, "
             "never as no credit. Table: shares are of students graded on the item (submitted, "
             "not pending). Discrimination: corrected item-total correlation — the correlation of "
             "the item's score with the rest of the assignment's score; near 0 or negative "
             "means the item does not separate strong from weak students. U−L 27%: share of "
             "the item's points earned by the top 27% minus the bottom 27% by assignment "
             "total.</p>"]
    for assignment in report.assignment_names:
        svg = item_shares_svg(report.items, assignment)
        parts.append(f"<h3>{escape(assignment)}</h3>")
        if svg:
            parts.append(f'<div class="chart" id="items-{escape(assignment)}">{svg}</div>')
        rows = []
        block = report.items[report.items["assignment"] == assignment]
        for r in block.itertuples(index=False):
            rows.append(_text_cell(r.item) + _num_cell(r.max_score, 0)
                        + _num_cell(r.graded, text=str(r.graded))
                        + _num_cell(r.pending, text=str(r.pending))
                        + _num_cell(r.mean, 2) + _num_cell(r.std, 2)
                        + _num_cell(r.full, text=_percent(r.full))
                        + _num_cell(r.partial, text=_percent(r.partial))
                        + _num_cell(r.zero, text=_percent(r.zero))
                        + _num_cell(r.discrimination, 2) + _num_cell(r.upper_lower, 2)
                        + _messages_cell(r.common_failures))
        parts.append(_table(["item", "max", "graded", "pending", "mean", "sd", "full",
                             "partial", "zero", "discrim\u00adination", "U−L 27%",
                             "most common failures (students)"], rows,
                            f"items-table-{assignment}"))
    return "".join(parts)


def _failures(report: Report) -> str:
    head = "<h2>Failure messages</h2>"
    if report.failures.empty:
        return head + ('<p class="muted">No failure messages found in the autograded '
                       "notebooks.</p>")
    rows = [_text_cell(r.assignment) + _text_cell(r.item) + _num_cell(r.count, text=str(r.count))
            + _text_cell(r.pattern) + _text_cell(r.example)
            for r in report.failures.itertuples(index=False)]
    table = _table(["assignment", "item", "students", "message", "example"], rows, "failures")
    return (head + '<p class="note">From the error outputs of failed test cells, grouped with '
            f'numbers replaced by #.</p><div class="tall">{table}</div>')


def _colour(phi: float) -> str:
    # Red for items failed together more than chance, blue for less; full colour at |0.6|,
    # a strong association for pass/fail data.
    if math.isnan(phi):
        return ""
    strength = min(abs(phi) / 0.6, 1.0)
    rgb = "198, 40, 40" if phi > 0 else "21, 101, 192"
    style = f"background: rgba({rgb}, {0.06 + 0.94 * strength:.2f});"
    return style + (" color: #fff;" if strength > 0.55 else "")


def _heat(counts: pd.DataFrame, phi: pd.DataFrame, assignment: str) -> str:
    size = len(counts)
    values = counts.to_numpy()
    correlation = phi.to_numpy(dtype=float)
    head = "<th></th>" + "".join(f'<th class="rot"><div>{escape(str(c))}</div></th>'
                                 for c in counts.columns)
    rows = []
    for i in range(size):
        cells = [f'<th class="row">{escape(str(counts.index[i]))}</th>']
        for j in range(size):
            both = int(values[i, j])
            if i == j:
                title = f"{counts.index[i]}: failed by {both} students"
                style = "background: #e8eaed; font-weight: 600;"
            else:
                r = correlation[i, j]
                title = (f"{counts.index[i]} & {counts.columns[j]}: {both} students failed "
                         f"both; correlation {'n/a' if math.isnan(r) else f'{r:.2f}'}")
                style = _colour(r)
            cells.append(f'<td style="{style}" title="{escape(title)}">{both}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="heat" id="heat-{escape(assignment)}"><thead>'
            f'<tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _cofailure(report: Report) -> str:
    parts = ["<h2>Items failed together</h2>",
             '<p class="note">Cell: number of students who failed both items (less than full '
             "credit); diagonal: students who failed the item. Colour: correlation (phi) of "
             "failing the two items, over students graded on both — red: failed together more "
             "often than their failure rates predict (a shared misconception or a shared "
             "bug), blue: less often, pale: unrelated. Hover a cell for details.</p>"]
    pairs = report.cofailure_pairs
    if not pairs.empty:
        rows = [_text_cell(r.assignment) + _text_cell(r.item_a) + _text_cell(r.item_b)
                + _num_cell(r.both, text=str(r.both)) + _num_cell(r.jaccard, 2)
                + _num_cell(r.correlation, 2)
                for r in pairs.itertuples(index=False)]
        parts.append("<h3>Pairs most strongly failed together</h3>" + _table(
            ["assignment", "item", "item", "failed both", "Jaccard", "correlation"], rows,
            "pairs"))
    for assignment, counts in report.cofailure.items():
        if counts.empty or not counts.to_numpy().any():
            continue
        phi = report.cofailure_corr[assignment]
        parts.append(f"<h3>{escape(assignment)}</h3>{_heat(counts, phi, assignment)}")
    if len(parts) == 2:
        parts.append('<p class="muted">No failed items.</p>')
    return "".join(parts)


def _item_scores(report: Report) -> str:
    scores = report.item_scores
    if scores.empty or not len(scores.columns):
        return ""
    pending = report.data.grades.loc[report.data.grades["pending"]]
    pending_keys = set(zip(pending["student_id"], pending["assignment"], pending["item"]))
    headers = ["student"] + [f"{a}/{i}" for a, i in scores.columns]
    rows = []
    values = scores.to_numpy(dtype=float)
    for r, student in enumerate(scores.index):
        cells = [_text_cell(student)]
        for c, (assignment, item) in enumerate(scores.columns):
            if (student, assignment, item) in pending_keys:
                cells.append('<td class="num pending" data-v="">pending</td>')
            else:
                cells.append(_num_cell(values[r, c], 0 if values[r, c].is_integer() else 2))
        rows.append("".join(cells))
    return ("<h2>Scores per item</h2><details><summary>Show every student's score on every "
            "item (— not submitted)</summary>"
            f'<div class="tall">{_table(headers, rows, "item-scores")}</div></details>')


def html_page(report: Report) -> str:
    """Render the report as a self-contained HTML document.

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    str
        The HTML text: summary, assignments, course grade histogram, flags, shared code
        (when the report was built with ``similarity=True``), students, item
        statistics and charts, failure messages, co-failure tables and per-item scores.
    """
    from grader.report.similarity import similarity_section

    if report.assignment_names:
        sections = [_assignments(report), _distribution(report), _flags(report),
                    similarity_section(report.similarity), _students(report), _items(report),
                    _failures(report), _cofailure(report), _item_scores(report)]
    else:
        sections = ['<p id="empty">The gradebook has no assignments yet.</p>']
    return page(f"Grade report · {report.course_id or 'course'}",
                _header(report) + "".join(sections))


def page(title: str, body: str, style: str = "") -> str:
    """A self-contained HTML document: the report's styles and table script around ``body``.

    Parameters
    ----------
    title : str
        The document's title (plain text).
    body : str
        HTML of the page's content.
    style : str
        Extra CSS for the page.

    Returns
    -------
    str
    """
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}{style}</style></head><body>"
            + body + f"<script>{_SCRIPT}</script></body></html>\n")
