"""What a student is handed back: pending items said as such, nothing of the grader's own.

One class of one: the solution, graded in a course whose ``test_sigmoid_values`` cannot decide
(its hidden test raises ``grader.checks.Review``), with the written derivation answered and not
graded yet. The pages are then read as text and in headless Chromium with every host name
resolving to nothing (offline).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import course_holding_an_item, submit
from nbgrader.api import Gradebook
from test_report_html import dom_and_console

from grader.course import Course
from grader.feedback import HELD_NOTE, generate_feedback
from grader.grade.ci import gradescope_results, markdown_summary
from grader.grade.results import item_results
from grader.grade.run import Settings, grade_assignment

A = "cross_entropy"
WHY = "the gradient matches finite differences of the student's own loss"

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Course, object]:
    course, nb = course_holding_an_item(tmp_path_factory.mktemp("feedback") / "course", WHY)
    submit(course, "kim", A, nb)
    [outcome] = grade_assignment(course, A, settings=Settings(workers=1))
    return course, outcome


def page(course: Course) -> str:
    [written] = generate_feedback(course, A)
    return written.read_text(encoding="utf-8")


def test_pending_items_say_so_in_feedback(graded) -> None:
    course, outcome = graded
    assert outcome.pending == 5  # the derivation (3) and the held item (2)
    text = page(course)
    assert f"Score so far: {outcome.score:.1f} / 36.0; 5.0 points awaiting grading" in text
    assert "Written response</a> (<span class=\"pending\">Awaiting grading</span>\n(3.0 points)" \
        in text
    assert "Test cell</a> (<span class=\"pending\">Held for review</span>\n(2.0 points)" in text
    assert "Score: 0.0 / 3.0" not in text and "Score: 0.0 / 2.0" not in text
    # the held item says it was held, never why: that is for the person who decides
    assert HELD_NOTE.strip() in text and WHY not in text and "HeldForReview" not in text


def test_feedback_follows_manual_grading(graded) -> None:
    course, _ = graded
    with Gradebook(course.db_url) as gb:
        gb.find_grade("derivation_reduction", A, A, "kim").manual_score = 2
        gb.find_grade("test_sigmoid_values", A, A, "kim").manual_score = 2
        gb.db.commit()
    try:
        text = page(course)
        assert "Score: 2.0 / 3.0" in text and "Awaiting grading" not in text
        assert "Score so far" not in text and "Held for review</span>" not in text
    finally:
        with Gradebook(course.db_url) as gb:
            for item in ("derivation_reduction", "test_sigmoid_values"):
                gb.find_grade(item, A, A, "kim").manual_score = None
            gb.db.commit()


def test_feedback_holds_the_pages_and_nothing_else(graded) -> None:
    course, _ = graded
    assert (course.autograded / "kim" / A / ".grading.json").is_file()
    page(course)
    folder = course.feedback / "kim" / A
    assert sorted(p.name for p in folder.iterdir()) == [f"{A}.html"]


def test_pending_items_are_not_gradescope_tests(graded) -> None:
    course, outcome = graded
    items = item_results(course.db_url, course.autograded / "kim" / A, A, "kim")
    results = gradescope_results(outcome, items)
    names = [t["name"] for t in results["tests"]]
    assert len(names) == 23 and f"{A}: test_sigmoid_values" not in names
    assert not any("derivation" in name for name in names)
    assert "derivation_reduction (3 points, awaiting grading)" in results["output"]
    assert "test_sigmoid_values (2 points, held for review)" in results["output"]
    assert [p["state"] for p in results["extra_data"]["pending"]] == [
        "held for review", "awaiting grading"]
    assert WHY not in json.dumps(results)
    summary = markdown_summary(outcome, items, A)
    assert "| test_sigmoid_values | pending / 2 | ⏳ held for review |" in summary
    assert WHY not in summary


def test_formulas_render_offline(graded, tmp_path: Path) -> None:
    course, _ = graded
    text = page(course)
    assert "cdnjs" not in text and "<script src=" not in text
    dom, console = dom_and_console(course.feedback / "kim" / A / f"{A}.html", tmp_path)
    assert console == []
    # MathJax turned the notebook's LaTeX into MathML: dozens of formulas
    assert dom.count('class="MathJax_MathML" id="MathJax-Element-') > 50
    assert "<math" in dom
