"""Nothing secret reaches a student: not in feedback, not in what ``grader ci`` prints or writes.

Secret lines are the solutions and hidden tests of the source notebooks and the code of the
assignment's hidden folder (its spec and reference solutions). The release is checked by
``test_selftest``; here the outputs of a real grading run are.
"""

from __future__ import annotations

import html
import json

import pytest
from click.testing import CliRunner
from conftest import REPO

from grader.author.leaks import find_leaks, secret_lines
from grader.cli import main
from grader.course import Course
from grader.feedback import generate_feedback
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "cross_entropy"
EXAMPLES = REPO / "examples" / "submitted"


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    course = Course(REPO)
    found = secret_lines(course, A)
    assert len(found) > 50
    return found


def test_feedback_and_ci_output_leak_nothing(secrets, tmp_path) -> None:
    from conftest import make_course

    course = make_course(tmp_path / "course", (A,))
    grade_assignment(course, A, submissions=EXAMPLES, settings=Settings(workers=2))
    pages = generate_feedback(course, A)
    assert len(pages) == len(list(EXAMPLES.glob(f"*/{A}")))
    for page in pages:
        text = html.unescape(page.read_text())
        assert find_leaks(text, secrets) == [], page

    out = tmp_path / "ci" / "results.json"
    result = CliRunner().invoke(main, ["ci", str(EXAMPLES / "dan" / A / f"{A}.ipynb"),
                                       "--out", str(out), "--course", str(course.root)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["score"] < written["extra_data"]["max_score"]
    texts = [result.output, out.read_text(), (out.parent / "results.md").read_text()]
    texts += [test.get("output", "") for test in written["tests"]]
    for text in texts:
        assert find_leaks(text, secrets) == []
    # the failures are explained, though
    assert any("softmax" in test.get("output", "") for test in written["tests"]
               if test["status"] == "failed")


def test_leak_finder_sees_a_reference_line(secrets) -> None:
    line = next(line for line, kind in secrets.items() if kind == "hidden reference.py")
    assert find_leaks(f"<p>\n  {line}\n</p>", secrets) == [line]
