"""Grade report numbers against hand-computed values on a small, real nbgrader gradebook.

The class (points in brackets; ``essay`` is a markdown answer graded by hand):

hw1, due 2025-01-10 12:00: test_a [2], test_b [1], essay [3]
    alice   2  1  3      on time
    bob     0  1  —      25 h late, essay not graded yet (pending): penalty 1.2, score 0
    carol   2  0  1.5    on time; the grading run found something suspicious; the essay's
                         manual grade is marked for review (as after re-running the grader)
    erin    2  1  2      10 min late (inside the 15 min grace period)
    dave    no submission
hw2, due 2025-01-20 12:00: test_c [4], test_d [2]
    alice   4  0         on time
    bob     4  2         on time
    carol   4  0         1 day late, but granted a 2-day extension
    erin    0  0         the grading run failed ("kernel died")
    dave    no submission

Policy: weights hw1 2, hw2 1; letters 90/80/70/60; 10 % per started day late after 15 min grace.
The late penalties are in the gradebook as grading writes them (nbgrader's step with the
course's plugin, :mod:`grader.late`).
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import datetime
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbgrader.api import Gradebook, SubmittedAssignment
from traitlets.config import Config

from grader.late import AssignCoursePenalties, penalty_config
from grader.report import build_report
from grader.report.artifacts import failure_message
from grader.report.charts import PENDING, item_shares, item_shares_svg
from grader.report.items import message_pattern
from grader.report.policy import CoursePolicy, LatePolicy, load_policy
from grader.report.synthetic import ensure_alembic_on_path

# nbgrader's own add_submission triggers SQLAlchemy autoflush warnings; they are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

POLICY_TOML = """
[grades]
weights = { hw1 = 2, hw2 = 1 }
[grades.letters]
A = 90
B = 80
C = 70
D = 60
F = 0
[late]
grace_minutes = 15
per_day = 0.1
max_fraction = 0.5
[canvas]
section = "L01"
columns = { hw1 = "Homework 1 (101)" }
"""

HW1 = [("test_a", 2, False), ("test_b", 1, False), ("essay", 3, True)]
HW2 = [("test_c", 4, False), ("test_d", 2, False)]
STUDENTS = [("alice", "Alice", "Adams"), ("bob", "Bob", "Brown"), ("carol", "Carol", "Clark"),
            ("dave", "Dave", "Davis"), ("erin", "Erin", "Evans")]
# (assignment, student): (timestamp, {item: score or None for pending})
SUBMISSIONS = {
    ("hw1", "alice"): (datetime(2025, 1, 10, 11, 0), {"test_a": 2, "test_b": 1, "essay": 3}),
    ("hw1", "bob"): (datetime(2025, 1, 11, 13, 0), {"test_a": 0, "test_b": 1, "essay": None}),
    ("hw1", "carol"): (datetime(2025, 1, 9, 9, 0), {"test_a": 2, "test_b": 0, "essay": 1.5}),
    ("hw1", "erin"): (datetime(2025, 1, 10, 12, 10), {"test_a": 2, "test_b": 1, "essay": 2}),
    ("hw2", "alice"): (datetime(2025, 1, 19, 8, 0), {"test_c": 4, "test_d": 0}),
    ("hw2", "bob"): (datetime(2025, 1, 20, 11, 0), {"test_c": 4, "test_d": 2}),
    ("hw2", "carol"): (datetime(2025, 1, 21, 12, 0), {"test_c": 4, "test_d": 0}),
    ("hw2", "erin"): (datetime(2025, 1, 20, 9, 0), {"test_c": 0, "test_d": 0}),
}


def _test_cell(grade_id: str, points: float, outputs: list[dict]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f"hidden.{grade_id}()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": points, "schema_version": 3}
    cell.outputs = [nbformat.from_dict(output) for output in outputs]
    return cell


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]}


# Error outputs in autograded notebooks, per (assignment, student).
OUTPUTS = {
    ("hw1", "alice"): {"test_a": [_error("AssertionError", "ignored: the cell scored full")]},
    ("hw1", "bob"): {"test_a": [_error("AssertionError",
                                       "sigmoid is wrong\nsigmoid(0) should be 0.5, got 0.4")]},
    ("hw1", "carol"): {"test_b": [_error("AssertionError",
                                         "sigmoid(3) should be 0.95, got 0.9")]},
    ("hw2", "alice"): {"test_d": [_error("ValueError", "shapes (3,2) and (3,2) not aligned")]},
    ("hw2", "carol"): {"test_d": [_error("ValueError", "shapes (5,4) and (5,4) not aligned")]},
    ("hw2", "erin"): {"test_d": [{"output_type": "stream", "name": "stderr",
                                  "text": "RuntimeWarning: overflow in exp\n"}]},
}
RUNS = {
    ("hw1", "carol"): {"status": "graded", "reason": None,
                       "suspicious": ["a hidden test cell was edited"], "timing": {}},
    ("hw2", "erin"): {"status": "failed", "reason": "kernel died", "suspicious": [],
                      "timing": {}},
    # The grading pipeline's own record layout: a list of reasons, no single reason.
    ("hw2", "alice"): {"student": "alice", "assignment": "hw2", "status": "partial",
                       "score": 4.0, "max_score": 6.0,
                       "reasons": ["hw2.ipynb: a cell timed out after 60 s"],
                       "messages": [], "suspicious": [], "seconds": 61.2},
}


def build_gradebook(course: Path) -> Path:
    """Create the class above with nbgrader's Gradebook API, plus autograded artifacts."""
    db = course / "gradebook.db"
    with Gradebook(f"sqlite:///{db}", course_id="demo-course") as gb:
        for name, due, items in (("hw1", datetime(2025, 1, 10, 12), HW1),
                                 ("hw2", datetime(2025, 1, 20, 12), HW2)):
            gb.add_assignment(name, duedate=due)
            gb.add_notebook(name, name)
            for item, points, manual in items:
                gb.add_grade_cell(item, name, name, max_score=points,
                                  cell_type="markdown" if manual else "code")
                if manual:
                    gb.add_solution_cell(item, name, name)
        for sid, first, last in STUDENTS:
            gb.add_student(sid, first_name=first, last_name=last, email=f"{sid}@uni.edu",
                           lms_user_id=f"9{len(sid)}{sid[0]}")
        manual_items = {item for item, _, manual in HW1 + HW2 if manual}
        for (assignment, sid), (timestamp, scores) in SUBMISSIONS.items():
            gb.add_submission(assignment, sid, timestamp=timestamp)
            for item, score in scores.items():
                grade = gb.find_grade(item, assignment, assignment, sid)
                if score is None:
                    continue  # needs_manual_grade stays True: pending
                if item in manual_items:
                    grade.manual_score = score
                else:
                    grade.auto_score = score
                grade.needs_manual_grade = False
        gb.grant_extension("hw2", "carol", days=2)
        # What nbgrader leaves after the autograder re-runs on a manually graded answer.
        gb.find_grade("essay", "hw1", "hw1", "carol").needs_manual_grade = True
        gb.db.commit()
    config = penalty_config(Config(), course)  # course.toml's policy, as grading applies it
    for assignment, sid in SUBMISSIONS:
        AssignCoursePenalties(config=config)(nbformat.v4.new_notebook(), {"nbgrader": {
            "notebook": assignment, "assignment": assignment, "student": sid,
            "db_url": f"sqlite:///{db}"}})
    for (assignment, sid), (_, scores) in SUBMISSIONS.items():
        folder = course / "autograded" / sid / assignment
        folder.mkdir(parents=True)
        outputs = OUTPUTS.get((assignment, sid), {})
        points = dict((item, p) for item, p, _ in HW1 + HW2)
        cells = [_test_cell(item, points[item], outputs.get(item, [])) for item in scores]
        nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / f"{assignment}.ipynb")
        if (assignment, sid) in RUNS:
            (folder / ".grading.json").write_text(json.dumps(RUNS[(assignment, sid)]))
    return db


def make_small_course(folder: Path) -> Path:
    """The class above in ``folder``: gradebook, autograded artifacts, policy, nbgrader config."""
    ensure_alembic_on_path()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.toml").write_text(POLICY_TOML)
    build_gradebook(folder)
    (folder / "nbgrader_config.py").write_text('c = get_config()  # noqa: F821\n')
    return folder


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Building through nbgrader's API takes seconds (a commit per call); build once, copy.
    return make_small_course(tmp_path_factory.mktemp("small") / "course")


@pytest.fixture
def small_course(small_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(small_template, target)
    return target


@pytest.fixture
def report(small_course: Path):
    return build_report(small_course)


def test_policy_file_is_read(small_course: Path) -> None:
    policy = load_policy(course_dir=small_course)
    assert policy.normalised_weights(["hw1", "hw2"]) == pytest.approx({"hw1": 2 / 3,
                                                                        "hw2": 1 / 3})
    assert policy.late == LatePolicy(grace_minutes=15, per_day=0.1, max_fraction=0.5)
    assert [policy.letter(p) for p in (95, 90, 89.99, 61.1, 59.9, float("nan"))] == [
        "A", "A", "B", "D", "F", ""]


def test_late_policy_days_and_cap() -> None:
    late = LatePolicy(grace_minutes=15, per_day=0.1, max_fraction=0.5)
    assert late.days_late(15 * 60) == 0
    assert late.days_late(15 * 60 + 1) == 1
    assert late.days_late(25 * 3600) == 2  # 24 h 45 min after the grace period
    assert late.penalty(25 * 3600, 6) == pytest.approx(1.2)
    assert late.penalty(30 * 86400, 6) == pytest.approx(3.0)  # capped at half


def test_submission_rows(report) -> None:
    subs = report.submissions.set_index(["student_id", "assignment"])
    bob = subs.loc[("bob", "hw1")]
    assert bob["status"] == "pending"
    assert bob["raw_score"] == 1.0 and bob["pending_items"] == 1 and bob["pending_points"] == 3
    assert bob["days_late"] == 2 and bob["late_penalty"] == pytest.approx(1.2)
    assert bob["score"] == 0.0  # 1 - 1.2, floored at 0
    erin = subs.loc[("erin", "hw1")]
    assert erin["seconds_late"] == 600 and erin["late_penalty"] == 0 and erin["score"] == 5
    carol = subs.loc[("carol", "hw2")]
    assert carol["seconds_late"] == 0  # one day late, inside a two-day extension
    assert subs.loc[("erin", "hw2"), "status"] == "failed"
    assert subs.loc[("alice", "hw2"), "status"] == "partial"
    assert subs.loc[("alice", "hw1"), "status"] == "graded"
    dave = subs.loc[("dave", "hw1")]
    assert dave["status"] == "missing" and not dave["submitted"]
    assert math.isnan(dave["raw_score"]) and dave["score"] == 0


def test_student_totals_grades_and_letters(report) -> None:
    students = report.students.set_index("student_id")
    expected = {  # (hw1, hw2, total, percent, letter)
        "alice": (6, 4, 10, 100 * (2 / 3 * 6 / 6 + 1 / 3 * 4 / 6), "B"),
        "bob": (0, 6, 6, 100 * (2 / 3 * 0 + 1 / 3 * 6 / 6), "F"),
        "carol": (3.5, 4, 7.5, 100 * (2 / 3 * 3.5 / 6 + 1 / 3 * 4 / 6), "D"),
        "dave": (0, 0, 0, 0.0, "F"),
        "erin": (5, 0, 5, 100 * (2 / 3 * 5 / 6 + 1 / 3 * 0), "F"),
    }
    for sid, (hw1, hw2, total, percent, letter) in expected.items():
        row = students.loc[sid]
        assert (row["hw1"], row["hw2"], row["total"]) == pytest.approx((hw1, hw2, total)), sid
        assert row["percent"] == pytest.approx(percent), sid
        assert row["letter"] == letter, sid
        assert row["max_total"] == 12
    assert students.loc["bob", "pending_items"] == 1
    assert students.loc["bob", "late_penalty"] == pytest.approx(1.2)
    assert students.loc["dave", "missing"] == 2
    # nbgrader's roster order: last name, then first name.
    assert report.students["student_id"].tolist() == ["alice", "bob", "carol", "dave", "erin"]


def test_pending_is_not_zero(report) -> None:
    scores = report.item_scores
    assert math.isnan(scores.loc["bob", ("hw1", "essay")])
    assert math.isnan(scores.loc["dave", ("hw1", "test_a")])  # not submitted
    essay = report.items.set_index("item").loc["essay"]
    assert essay["graded"] == 3 and essay["pending"] == 1 and bool(essay["manual"])
    assert essay["mean"] == pytest.approx((3 + 1.5 + 2) / 3)
    assert essay["zero"] == 0  # the pending answer is not counted as a zero


def test_pending_has_its_own_share_in_the_item_chart(report) -> None:
    # bob's essay is not graded yet: a quarter of the essay's bar is pending, not "no credit"
    shares = item_shares(report.items, "hw1").set_index("item")
    assert shares.loc["essay", ["full", "partial", "zero", "pending"]].tolist() == \
        pytest.approx([25, 50, 0, 25])
    assert shares.loc["test_a", ["full", "zero", "pending"]].tolist() == \
        pytest.approx([75, 25, 0])
    svg = item_shares_svg(report.items, "hw1")
    assert "pending (not graded yet)" in svg and PENDING in svg


def test_an_item_held_for_review_is_pending_with_its_reason(small_course: Path) -> None:
    # A hidden test could not decide bob's test_c: no automatic score, a person decides.
    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("test_c", "hw2", "hw2", "bob")
        grade.auto_score, grade.needs_manual_grade = None, True
        gb.db.commit()
    record = small_course / "autograded" / "bob" / "hw2" / ".grading.json"
    record.write_text(json.dumps({"status": "graded", "reasons": [], "suspicious": [],
                                  "held": {"hw2:test_c": "the gradient looks numeric"}}))
    report = build_report(small_course)
    flags = report.flags[["student_id", "assignment", "kind", "reason"]].values.tolist()
    assert ["bob", "hw2", "held for review", "test_c: the gradient looks numeric"] in flags
    assert ["bob", "hw2", "pending", "1 item(s) await grading: test_c"] in flags
    assert math.isnan(report.item_scores.loc["bob", ("hw2", "test_c")])
    shares = item_shares(report.items, "hw2").set_index("item")
    # alice and carol graded (erin's run failed and is left out), bob pending
    assert shares.loc["test_c", ["full", "zero", "pending"]].tolist() == \
        pytest.approx([200 / 3, 0, 100 / 3])


def test_header_names_the_policy_file_as_the_course_knows_it(small_course: Path) -> None:
    from grader.report.html import html_page

    page = html_page(build_report(small_course))
    assert "policy: course.toml" in page
    assert str(small_course) not in page
    outside = small_course.parent / "elsewhere.toml"
    outside.write_text(POLICY_TOML)
    assert load_policy(outside, course_dir=small_course).source == str(outside)


def test_item_statistics(report) -> None:
    items = report.items.set_index("item")
    a = items.loc["test_a"]  # alice 2, bob 0, carol 2, erin 2
    assert a["graded"] == 4 and a["mean"] == 1.5 and a["mean_percent"] == 75
    assert a["std"] == pytest.approx(1.0)  # sample sd: sqrt((3 * 0.25 + 2.25) / 3)
    assert (a["full"], a["partial"], a["zero"]) == (0.75, 0.0, 0.25)
    # Corrected item-total correlation: item [2, 0, 2, 2] against the rest of hw1 over
    # graded items, [6-2, 1-0, 3.5-2, 5-2] = [4, 1, 1.5, 3]. Deviations from the means
    # (1.5 and 2.375): [.5, -1.5, .5, .5] and [1.625, -1.375, -.875, .625].
    assert a["discrimination"] == pytest.approx(2.75 / math.sqrt(3 * 5.6875))
    # Upper/lower 27 %: one student each; top by total alice (2 of 2), bottom bob (0).
    assert a["upper_lower"] == pytest.approx(1.0)
    essay = items.loc["essay"]
    assert (essay["full"], essay["partial"], essay["zero"]) == pytest.approx((1 / 3, 2 / 3, 0))
    # Erin's hw2 could not be graded: its zeros stay out of the item statistics.
    d = items.loc["test_d"]  # alice 0, bob 2, carol 0
    assert d["graded"] == 3 and d["mean"] == pytest.approx(2 / 3)
    assert (d["full"], d["zero"]) == pytest.approx((1 / 3, 2 / 3))
    c = items.loc["test_c"]  # 4, 4, 4: everyone got it, nothing to discriminate
    assert c["graded"] == 3 and c["full"] == 1 and math.isnan(c["discrimination"])
    b = items.loc["test_b"]  # [1, 1, 0, 1] against the rest [6-1, 1-1, 3.5-0, 5-1]
    assert b["discrimination"] == pytest.approx(np.corrcoef([1, 1, 0, 1], [5, 0, 3.5, 4])[0, 1])


def test_constant_item_has_no_discrimination(small_course: Path) -> None:
    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        gb.find_grade("test_a", "hw1", "hw1", "bob").auto_score = 2
        gb.db.commit()
    a = build_report(small_course).items.set_index("item").loc["test_a"]
    assert a["full"] == 1 and math.isnan(a["discrimination"])


def test_failure_messages_grouped(report) -> None:
    failures = report.failures
    d = failures[failures["item"] == "test_d"].reset_index(drop=True)
    # Alice's and carol's messages differ only in numbers; erin's stderr output belongs to a
    # submission that could not be graded and is left out.
    assert d["pattern"].tolist() == ["ValueError: shapes (#,#) and (#,#) not aligned"]
    assert d["count"].tolist() == [2]
    a = failures[failures["item"] == "test_a"]
    # The whole message on one line; alice's error output on a full-credit cell is ignored.
    assert a["example"].tolist() == [
        "AssertionError: sigmoid is wrong sigmoid(0) should be 0.5, got 0.4"]
    items = report.items.set_index("item")
    assert items.loc["test_d", "common_failures"] == (
        "ValueError: shapes (#,#) and (#,#) not aligned (2)")


def test_failure_message_forms() -> None:
    error = {"output_type": "error", "ename": "AssertionError",
             "evalue": "got loss nan, dS [[ nan  0. ]\n [-0.5  nan]]: shift by the row maximum",
             "traceback": []}
    message = failure_message([error])
    assert message == ("AssertionError: got loss nan, dS [[ nan 0. ] [-0.5 nan]]: shift by "
                       "the row maximum")
    assert message_pattern(message) == (
        "AssertionError: got loss nan, dS […]: shift by the row maximum")
    stderr = {"output_type": "stream", "name": "stderr", "text": "warning\nRuntimeWarning: x\n"}
    assert failure_message([stderr]) == "stderr: RuntimeWarning: x"
    assert failure_message([{"output_type": "stream", "name": "stdout", "text": "ok"}]) is None
    assert failure_message([{"output_type": "error", "ename": "NotImplementedError",
                             "evalue": "", "traceback": []}]) == "NotImplementedError"


def test_cofailure(report) -> None:
    hw2 = report.cofailure["hw2"]
    # Erin's hw2 is left out (the grading run failed): nobody failed test_c.
    assert hw2.loc["test_c", "test_c"] == 0 and hw2.loc["test_d", "test_d"] == 2
    assert hw2.loc["test_c", "test_d"] == 0
    hw1 = report.cofailure["hw1"]
    assert hw1.loc["test_b", "essay"] == 1 and hw1.loc["test_a", "essay"] == 0
    # phi = (n11 n - n1 n2) / sqrt(n1 (n - n1) n2 (n - n2)) over students graded on both.
    corr = report.cofailure_corr["hw1"]
    # test_b and essay: graded on both alice, carol, erin; b failed by carol, essay by
    # carol and erin: (1*3 - 1*2) / sqrt(1*2*2*1).
    assert corr.loc["test_b", "essay"] == pytest.approx(0.5)
    # test_a and test_b: four students, bob fails a, carol fails b: (0 - 1) / sqrt(1*3*1*3).
    assert corr.loc["test_a", "test_b"] == pytest.approx(-1 / 3)
    assert math.isnan(corr.loc["test_a", "test_a"])
    assert math.isnan(report.cofailure_corr["hw2"].loc["test_c", "test_d"])  # c never failed
    pairs = report.cofailure_pairs
    assert pairs[["assignment", "item_a", "item_b", "both"]].values.tolist() == [
        ["hw1", "test_b", "essay", 1]]
    assert pairs["jaccard"].tolist() == pytest.approx([1 / 2])
    assert pairs["correlation"].tolist() == pytest.approx([0.5])


def test_failure_correlation_finds_a_shared_skill(tmp_path: Path) -> None:
    """In the synthetic class the four 'stable' items share a second skill: they are the
    pairs failed together beyond what overall ability explains."""
    from grader.report.synthetic import synthetic_gradebook

    synthetic_gradebook(tmp_path / "gradebook.db", n_students=400, seed=5)
    pairs = build_report(tmp_path).cofailure_pairs
    top = pairs[pairs["assignment"] == "cross_entropy"].head(3)
    assert all("stable" in a and "stable" in b for a, b in zip(top["item_a"], top["item_b"]))


def test_flags(report) -> None:
    flags = report.flags[["student_id", "assignment", "kind", "reason"]].values.tolist()
    assert flags == [
        ["erin", "hw2", "not graded", "kernel died"],
        ["alice", "hw2", "partly graded", "hw2.ipynb: a cell timed out after 60 s"],
        ["carol", "hw1", "suspicious", "a hidden test cell was edited"],
        ["bob", "hw1", "late", "1 d 1 h late, penalty 1.2 of 6 points"],
        ["carol", "hw1", "review",
         "manual grade(s) to check again after the autograder re-ran: essay"],
        ["bob", "hw1", "pending", "1 item(s) await grading: essay"],
    ]


def test_grading_writes_the_policys_penalty(small_course: Path) -> None:
    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        penalties = {(sub.assignment.name, sub.student.id): sub.late_submission_penalty
                     for sub in gb.db.query(SubmittedAssignment)}
    assert penalties == {("hw1", "alice"): 0.0, ("hw1", "bob"): 1.2, ("hw1", "carol"): 0.0,
                         ("hw1", "erin"): 0.0, ("hw2", "alice"): 0.0, ("hw2", "bob"): 0.0,
                         ("hw2", "carol"): 0.0, ("hw2", "erin"): 0.0}


def test_the_gradebooks_penalty_counts_and_a_stale_one_is_flagged(small_course: Path) -> None:
    """A gradebook graded before the policy or a due date changed: the report shows what
    the gradebook holds (as nbgrader export and the feedback do) and says what to do."""
    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        gb.find_submission_notebook("hw1", "hw1", "bob").late_submission_penalty = 0.5
        gb.db.commit()
    for policy in (None, CoursePolicy()):
        report = build_report(small_course, policy=policy)
        bob = report.submissions.set_index(["student_id", "assignment"]).loc[("bob", "hw1")]
        assert bob["late_penalty"] == 0.5 and bob["score"] == 0.5
    flags = build_report(small_course).flags
    [reason] = flags[(flags["student_id"] == "bob") & (flags["kind"] == "late")]["reason"]
    assert reason == ("1 d 1 h late, penalty 0.5 of 6 points; the course policy gives 1.2: "
                      "grade hw1 again (grader grade) to write it in the gradebook")
    # Equal weights and default letters.
    alice = report.students.set_index("student_id").loc["alice"]
    assert alice["percent"] == pytest.approx(100 * (1 + 4 / 6) / 2)


def test_assignment_selection(small_course: Path) -> None:
    report = build_report(small_course, ["hw2"])
    assert report.assignment_names == ["hw2"]
    assert set(report.items["assignment"]) == {"hw2"}
    alice = report.students.set_index("student_id").loc["alice"]
    assert alice["percent"] == pytest.approx(100 * 4 / 6)
    with pytest.raises(KeyError):
        build_report(small_course, ["hw9"])


def test_assignment_summary(report) -> None:
    summary = report.assignments.set_index("assignment")
    assert summary.loc["hw1", "max_score"] == 6 and summary.loc["hw2", "max_score"] == 6
    assert summary.loc["hw1", "submitted"] == 4 and summary.loc["hw1", "students"] == 5
    assert summary.loc["hw1", "pending"] == 1
    assert summary.loc["hw1", "mean"] == pytest.approx((6 + 0 + 3.5 + 5) / 4)
    assert summary.loc["hw1", "weight"] == pytest.approx(2 / 3)


def test_empty_and_missing_gradebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_alembic_on_path()
    missing = build_report(tmp_path)  # no gradebook.db at all
    assert missing.students.empty and missing.items.empty and missing.flags.empty
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}"):
        pass
    empty = build_report(tmp_path)
    assert empty.assignment_names == [] and empty.students.empty


def test_no_submissions_yet(tmp_path: Path) -> None:
    ensure_alembic_on_path()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("hw1")
        gb.add_notebook("hw1", "hw1")
        gb.add_grade_cell("test_a", "hw1", "hw1", max_score=2, cell_type="code")
        gb.add_student("zoe")
    report = build_report(tmp_path)
    zoe = report.students.iloc[0]
    assert zoe["total"] == 0 and zoe["missing"] == 1 and zoe["percent"] == 0
    item = report.items.iloc[0]
    assert item["graded"] == 0 and math.isnan(item["mean"])
    assert report.cofailure_pairs.empty and report.failures.empty


def test_agrees_with_nbgrader_api_on_a_larger_class(tmp_path: Path) -> None:
    """Totals and item scores equal what nbgrader's own ORM computes, on 60 random students."""
    from grader.report.synthetic import synthetic_gradebook

    db = synthetic_gradebook(tmp_path / "gradebook.db", n_students=60, seed=3)
    report = build_report(tmp_path, policy=CoursePolicy())
    subs = report.submissions.set_index(["student_id", "assignment"])
    with Gradebook(f"sqlite:///{db}") as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                row = subs.loc[(submission.student.id, assignment.name)]
                assert row["nbgrader_raw_score"] == pytest.approx(submission.score)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        ours = report.item_scores.loc[submission.student.id,
                                                      (assignment.name, grade.name)]
                        if grade.needs_manual_grade:
                            assert math.isnan(ours)
                        else:
                            assert ours == pytest.approx(grade.score)
    assert len(report.students) == 60
    assert ((report.students["percent"] >= 0) & (report.students["percent"] <= 100)).all()
    assert pd.Series(report.students["total"]).ge(0).all()
