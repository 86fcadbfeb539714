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


def test_the_released_selfcheck_leaks_nothing(secrets, tmp_path) -> None:
    """``grader release`` ships the students' self-check beside the notebook; it is the
    package's own file, and the release check reads it like every released file."""
    from conftest import make_course

    from grader.author.leaks import leaks_in_release
    from grader.selfcheck import __file__ as selfcheck_file

    shipped = REPO / "release" / A / "selfcheck.py"
    assert shipped.read_bytes() == open(selfcheck_file, "rb").read()
    assert find_leaks(shipped.read_text(), secrets) == []
    course = make_course(tmp_path / "course", (A,))
    assert (course.release / A / "selfcheck.py").is_file()
    assert leaks_in_release(course, A) == []
    hidden = next(line for line, kind in secrets.items() if kind == "hidden test")
    with (course.release / A / "selfcheck.py").open("a") as handle:
        handle.write(f"\n{hidden}\n")
    [problem] = leaks_in_release(course, A)
    assert problem.where == f"release/{A}/selfcheck.py" and "hidden test" in problem.what


def test_the_submission_secret_is_never_published(tmp_path) -> None:
    """nbgrader's ``submission_secret.txt`` names a student's feedback in the exchange: git
    ignores it wherever it is, and nothing ``grader ci`` writes or prints holds it."""
    import subprocess

    from conftest import make_course

    ignored = subprocess.run(["git", "check-ignore", "-q", f"submitted/ada/{A}/"
                              "submission_secret.txt"], cwd=REPO)
    assert ignored.returncode == 0, "git would commit submission_secret.txt"
    course = make_course(tmp_path / "course", (A,))
    folder = tmp_path / "submission"
    folder.mkdir()
    secret = "5c1e7e" * 20
    (folder / "submission_secret.txt").write_text(secret)
    (folder / f"{A}.ipynb").write_bytes((EXAMPLES / "ada" / A / f"{A}.ipynb").read_bytes())
    out = tmp_path / "ci" / "results.json"
    result = CliRunner().invoke(main, ["ci", str(folder / f"{A}.ipynb"), "--out", str(out),
                                       "--course", str(course.root)])
    assert result.exit_code == 0, result.output
    written = [result.output, *(p.read_text() for p in out.parent.iterdir())]
    assert len(written) == 3 and not any(secret in text for text in written)
