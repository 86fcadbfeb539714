"""Shared code in a real browser: ``grader similarity --format html`` and the report's section.

Both pages are loaded in Debian's headless Chromium with the helpers of
``test_report_html.py``: the DOM after the page's script ran, the browser console, and a
screenshot at a laptop's size.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import similarity_corpus
from click.testing import CliRunner
from test_report_html import assert_readable, dom_and_console, parse, screenshot

from grader.cli import main
from grader.course import Course
from grader.report.command import write_report
from grader.report.synthetic import synthetic_gradebook

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, released_template: Course) -> Path:
    return similarity_corpus.build(released_template.release,
                                   tmp_path_factory.mktemp("corpus") / "submitted")


def _flagged_pairs(table: list[list[str]]) -> set[frozenset[str]]:
    return {frozenset(row[:2]) for row in table[1:] if row[4] == "FLAG"}


def test_similarity_page_in_the_browser(course: Course, corpus: Path, tmp_path: Path) -> None:
    page = tmp_path / "shared.html"
    result = CliRunner().invoke(main, ["similarity", "svm_hinge", "--course", str(course.root),
                                       "--submissions", str(corpus), "--format", "html",
                                       "--out", str(page)])
    assert result.exit_code == 0, result.output
    dom, console = dom_and_console(page, tmp_path)
    assert console == []
    assert 'data-ready="yes"' in dom
    tables = parse(dom)
    table = tables.tables["similarity-svm_hinge"]
    assert table[0][:5] == ["student", "student", "score", "shared", "flag"]
    assert "train_linear_classifier" in table[0]
    labels = similarity_corpus.labels("svm_hinge")
    assert _flagged_pairs(table) == labels.copy_pairs
    assert "it changes no score" in tables.ids["similarity-note"]
    # Each listed pair has its passages side by side, the shared ones highlighted.
    assert dom.count('<details class="pair flagged"') == len(labels.copy_pairs)
    assert dom.count("<mark>") > 20
    assert '<pre data-student="hana">' in dom and '<pre data-student="pia">' in dom
    assert_readable(screenshot(page, tmp_path))


def test_report_has_a_shared_code_section(course: Course, corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "gradebook.db"
    synthetic_gradebook(db, n_students=12, seed=3)
    # The report reads the graded notebooks, as grading leaves them in autograded/.
    for student in ("kofi", "rosa", "jules", "mei"):
        shutil.copytree(corpus / student, course.autograded / student)
    shutil.copy(db, course.db_path)
    page = write_report(tmp_path / "report" / "index.html", "html", course.root)
    dom, console = dom_and_console(page, tmp_path)
    assert console == []
    assert '<h2 id="similarity">Shared code</h2>' in dom
    tables = parse(dom)
    assert "never a verdict" in tables.ids["similarity-note"]
    for assignment in ("cross_entropy", "svm_hinge"):
        table = tables.tables[f"similarity-{assignment}"]
        assert _flagged_pairs(table) == {frozenset(("kofi", "rosa"))}, table
    # Flags of shared code never reach the grade tables.
    assert "kofi" not in {row[1] for row in tables.tables["flags"][1:]}
