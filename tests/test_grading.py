"""The grading pipeline on real notebooks in real kernels: damage, hangs, crashes, re-grading.

Every tampered or damaged copy of a correct notebook must grade as far as its honest content
allows, with a clear reason where something was wrong, and never stop the other submissions.
"""

from __future__ import annotations

import copy
import json
import zipfile

import nbformat
import pytest
from click.testing import CliRunner
from conftest import (
    cell,
    course_holding_an_item,
    full_marks,
    item_scores,
    released_notebook,
    source_notebook,
    submit,
)

from grader.cli import main
from grader.course import Course
from grader.grade.record import FAILED, GRADED
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "cross_entropy"


def scores(course: Course, student: str) -> dict[str, float | None]:
    return item_scores(course, A, student)


def marks(course: Course) -> dict[str, float | None]:
    return full_marks(course, A)


def tampered_solutions() -> dict[str, nbformat.NotebookNode]:
    """Copies of the solution, each damaged or tampered with in one way."""
    solution = source_notebook(A)
    variants = {}

    def variant(name):
        variants[name] = copy.deepcopy(solution)
        return variants[name]

    variant("honest")
    nb = variant("answer_to_markdown")
    cell(nb, "softmax").cell_type = "markdown"
    nb = variant("duplicate_grade_id")
    nb.cells.append(copy.deepcopy(cell(nb, "test_bce_loss")))
    nb.cells[-1].source = "pass"
    nb = variant("deleted_tests")
    nb.cells = [c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") not in
                {"test_sigmoid_values", "test_sce_loss", "test_saturation_ratio"}]
    nb = variant("edited_tests")
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code":
            c.source = "pass"
    nb = variant("edited_metadata")
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100
            meta["checksum"] = "0" * 32
    nb = variant("test_cell_unlocked")
    meta = cell(nb, "test_bce_gradient").metadata.nbgrader
    meta.update(locked=False, solution=True)
    cell(nb, "test_bce_gradient").source = "pass"
    return variants


@pytest.fixture(scope="module")
def tamper_run(tmp_path_factory: pytest.TempPathFactory):
    from conftest import make_course

    course = make_course(tmp_path_factory.mktemp("tamper") / "course", (A,))
    for student, nb in tampered_solutions().items():
        submit(course, student, A, nb)
    # deleting an answer cell together with its test cell: the test comes back, the answer not
    nb = copy.deepcopy(source_notebook(A))
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                not in {"two_class_logit", "test_two_class_logit"}]
    submit(course, "deleted_answer_and_test", A, nb)
    submit(course, "invalid_json", A, '{"cells": [ {"cell_type": "code"')
    submit(course, "not_a_notebook", A, json.dumps({"hello": "world"}))
    outcomes = grade_assignment(course, A, settings=Settings(workers=2))
    return course, {o.student: o for o in outcomes}


def test_honest_solution_scores_full_marks(tamper_run) -> None:
    course, outcomes = tamper_run
    assert outcomes["honest"].status == GRADED
    assert scores(course, "honest") == marks(course)


@pytest.mark.parametrize("student", ["answer_to_markdown", "duplicate_grade_id", "deleted_tests",
                                     "edited_tests", "edited_metadata", "test_cell_unlocked"])
def test_damage_grades_like_the_honest_content(tamper_run, student: str) -> None:
    course, outcomes = tamper_run
    outcome = outcomes[student]
    assert outcome.status == GRADED, outcome.reasons
    assert scores(course, student) == marks(course)
    assert outcome.max_score == outcomes["honest"].max_score
    assert outcome.messages, "what nbgrader repaired is on record"


def test_deleted_answer_loses_only_its_items(tamper_run) -> None:
    course, outcomes = tamper_run
    expected = marks(course) | {"test_two_class_logit": 0.0, "test_reduction": 0.0}
    assert outcomes["deleted_answer_and_test"].status == GRADED
    assert scores(course, "deleted_answer_and_test") == expected


@pytest.mark.parametrize("student,reason", [("invalid_json", "not valid JSON (line 1"),
                                            ("not_a_notebook", "not a notebook")])
def test_unreadable_notebook_fails_with_reason_and_zero(tamper_run, student, reason) -> None:
    course, outcomes = tamper_run
    outcome = outcomes[student]
    assert outcome.status == FAILED
    assert any(reason in r for r in outcome.reasons), outcome.reasons
    assert outcome.score == 0
    record = json.loads((course.autograded / student / A / ".grading.json").read_text())
    assert record["status"] == FAILED and record["reasons"] == outcome.reasons


def test_an_unreadable_notebook_is_listed_in_formgrader_with_its_reason(tamper_run) -> None:
    # formgrader lists (and opens) only submissions with a notebook in autograded/: the
    # unreadable one gets the released notebook under a note saying why, its scores stay 0.
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course, outcomes = tamper_run
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course.root)),
                      config=course.config())
    listed = {s["student"] for s in api.get_notebook_submissions(A, A)}
    assert {"invalid_json", "not_a_notebook", "honest"} <= listed
    shown = nbformat.read(course.autograded / "invalid_json" / A / f"{A}.ipynb", as_version=4)
    note = shown.cells[0]
    assert note.cell_type == "markdown" and "could not be read" in note.source
    assert "not valid JSON (line 1" in note.source
    assert [c.source for c in shown.cells[1:]] == \
        [c.source for c in released_notebook(course, A).cells]
    assert set(scores(course, "invalid_json").values()) == {0.0}
    assert outcomes["invalid_json"].score == 0


def test_regrading_is_idempotent(tamper_run) -> None:
    course, outcomes = tamper_run
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        before = {(s.student.id, n.name, g.name): (g.auto_score, g.needs_manual_grade)
                  for s in gb.assignment_submissions(A) for n in s.notebooks for g in n.grades}
        count = len(gb.assignment_submissions(A))
    again = {o.student: o for o in grade_assignment(course, A, settings=Settings(workers=2))}
    with Gradebook(course.db_url) as gb:
        after = {(s.student.id, n.name, g.name): (g.auto_score, g.needs_manual_grade)
                 for s in gb.assignment_submissions(A) for n in s.notebooks for g in n.grades}
        assert len(gb.assignment_submissions(A)) == count == len(outcomes)
    assert after == before
    assert {s: o.score for s, o in again.items()} == {s: o.score for s, o in outcomes.items()}


def solution_with(grade_id: str, extra: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, grade_id).source += "\n" + extra
    return nb


def test_hangs_memory_and_dead_kernels_are_contained(course: Course) -> None:
    # an endless loop after a correct definition: the answer cell times out, tests still pass
    submit(course, "loop_cell", A, solution_with("sigmoid", "while True:\n    pass"))
    # a function that never returns: only the items calling it time out
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, "two_class_logit").source = "def two_class_logit(S):\n    while True:\n        pass"
    submit(course, "loop_function", A, nb)
    # memory exhaustion: the allocation fails inside the kernel's limit
    submit(course, "memory", A, solution_with("softmax", "hog = np.ones((2**31,))"))
    # the kernel kills itself in an answer cell, after the answer: the statement is lost, the
    # answer (its constants) is defined again in the fresh kernel, and the rest is graded
    submit(course, "suicide", A, solution_with(
        "affine_map", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    outcomes = {o.student: o for o in grade_assignment(
        course, A, settings=Settings(workers=2, cell_timeout=4))}
    full = marks(course)

    assert outcomes["loop_cell"].status == GRADED
    assert scores(course, "loop_cell") == full
    answer = cell(nbformat.read(course.autograded / "loop_cell" / A / f"{A}.ipynb", 4), "sigmoid")
    assert any(o.get("ename") == "CellTimeoutError" or "Interrupt" in o.get("ename", "")
               for o in answer.outputs), answer.outputs

    assert scores(course, "loop_function") == full | {"test_two_class_logit": 0.0,
                                                       "test_reduction": 0.0}

    assert outcomes["memory"].status == GRADED
    assert scores(course, "memory") == full
    answer = cell(nbformat.read(course.autograded / "memory" / A / f"{A}.ipynb", 4), "softmax")
    assert any(o.get("ename") == "MemoryError" for o in answer.outputs), answer.outputs

    suicide = outcomes["suicide"]
    assert suicide.status == GRADED, suicide.reasons
    assert any("kernel died" in e and "SIGKILL" in e for e in suicide.events), suicide.events
    assert any("fresh kernel" in e for e in suicide.events), suicide.events
    assert any("affine_map: the kernel died" in e and "os.kill(os.getpid()" in e
               for e in suicide.events), suicide.events
    assert scores(course, "suicide") == full


def test_lms_zip_export_is_graded(course: Course, tmp_path) -> None:
    archive = tmp_path / "canvas.zip"
    solution = nbformat.writes(source_notebook(A))
    blank = nbformat.writes(released_notebook(course, A))
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"lovelaceada_12345_678901_{A}.ipynb", solution)
        bundle.writestr(f"turingalan_LATE_23456_789012_{A}-1.ipynb", blank)
        bundle.writestr("readme.txt", "not a submission")
    outcomes = {o.student: o for o in grade_assignment(
        course, A, submissions=archive, settings=Settings(workers=2))}
    assert set(outcomes) == {"lovelaceada", "turingalan"}
    assert outcomes["lovelaceada"].score == sum(v for v in marks(course).values() if v)
    assert outcomes["turingalan"].score == 0


def test_cli_errors_are_clear(course: Course, tmp_path) -> None:
    runner = CliRunner()
    root = ["--course", str(course.root)]
    result = runner.invoke(main, ["grade", "nope", *root])
    assert result.exit_code == 1 and "unknown assignment 'nope'" in result.output
    result = runner.invoke(main, ["grade", A, *root])
    assert result.exit_code == 1 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["grade", A, "--submissions", str(tmp_path / "empty"), *root])
    assert result.exit_code == 1 and "no submissions of 'cross_entropy'" in result.output
    bad_zip = tmp_path / "x.zip"
    bad_zip.write_text("not a zip")
    result = runner.invoke(main, ["grade", A, "--submissions", str(bad_zip), *root])
    assert result.exit_code == 1 and "not a readable zip file" in result.output
    assert not (course.autograded / "x").exists()


def test_without_isolation_grades_the_same_and_says_so(course: Course) -> None:
    # The path a machine without namespaces takes: resource limits only, and a recorded status.
    submit(course, "honest", A, source_notebook(A))
    [outcome] = grade_assignment(course, A, settings=Settings(workers=1, sandbox=False))
    assert outcome.status == GRADED
    assert scores(course, "honest") == marks(course)
    assert outcome.sandbox.startswith("not isolated")


def test_one_worker_gives_every_notebook_a_fresh_kernel(course: Course) -> None:
    # A worker grades several notebooks in turn: nothing one of them did (a changed library,
    # a file in its working directory) may be seen by the next, nor may they share a process.
    trace = ("import os, numpy\n"
             "print('found', hasattr(numpy, 'left_behind'), os.path.exists('left_behind.txt'))\n"
             # a kernel is process 2 of a PID namespace of its own, and a namespace's number
             # is reused once it has ended: with the process's start time, they differ
             "print('pid', os.readlink('/proc/self/ns/pid'), os.getpid(),\n"
             "      open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])\n"
             "numpy.left_behind = True\n"
             "open('left_behind.txt', 'w').write('x')")
    for student in ("first", "second", "third"):
        submit(course, student, A, solution_with("sigmoid", trace))
    outcomes = grade_assignment(course, A, settings=Settings(workers=1))
    assert [o.status for o in outcomes] == [GRADED] * 3
    printed = {o.student: "".join(
        out.get("text", "") for out in cell(nbformat.read(
            course.autograded / o.student / A / f"{A}.ipynb", 4), "sigmoid").outputs)
        for o in outcomes}
    assert all("found False False" in text for text in printed.values()), printed
    pids = {tuple(text.split("pid ")[1].split()[:3]) for text in printed.values()}
    assert len(pids) == 3, printed


def test_kernel_options_have_defaults_the_course_can_override() -> None:
    from traitlets.config import Config

    from grader.grade.worker import kernel_arguments

    config = Config()
    assert kernel_arguments(config) == ["--InteractiveShell.xmode=Plain",
                                        "--HistoryManager.enabled=False"]
    config.Execute.extra_arguments = ["--InteractiveShell.xmode=Verbose"]
    assert kernel_arguments(config) == ["--InteractiveShell.xmode=Verbose",
                                        "--HistoryManager.enabled=False"]
    config.Execute.extra_arguments = ["--HistoryManager.enabled", "True"]
    assert kernel_arguments(config) == ["--HistoryManager.enabled", "True",
                                        "--InteractiveShell.xmode=Plain"]


def test_an_inconclusive_hidden_test_holds_its_item_for_review(tmp_path) -> None:
    # A hidden test that raises grader.checks.Review neither awards nor fails its item: the
    # item is pending in the gradebook, for a person to grade, and the record says why.
    from nbgrader.api import Gradebook

    course, nb = course_holding_an_item(tmp_path / "course", "the evidence is not conclusive")
    submit(course, "held", A, nb)
    [outcome] = grade_assignment(course, A, settings=Settings(workers=1))
    assert scores(course, "held") == marks(course) | {"test_sigmoid_values": None}
    assert outcome.held == {f"{A}:test_sigmoid_values": "the evidence is not conclusive"}
    assert outcome.pending == 3 + 2  # the written derivation and the held item
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade("test_sigmoid_values", A, A, "held")
        assert grade.needs_manual_grade and grade.auto_score is None


def test_every_notebook_finds_the_instructors_data_files(course: Course) -> None:
    """A data file shipped with the assignment is in the working directory of every kernel,
    the first of each worker (booted before its job arrived) included."""
    (course.source / "cross_entropy" / "scale.txt").write_text("2.0\n")
    nb = source_notebook("cross_entropy")
    cell(nb, "sigmoid").source += ("\n_sigmoid = sigmoid\n\ndef sigmoid(z):\n"
                                   "    with open('scale.txt') as data:\n"
                                   "        assert data.read() == '2.0\\n'\n"
                                   "    return _sigmoid(z)\n")
    for student in ("first", "second"):
        submit(course, student, "cross_entropy", nb)
    outcomes = grade_assignment(course, "cross_entropy", settings=Settings(workers=1))
    full = full_marks(course, "cross_entropy")
    for outcome in outcomes:
        assert item_scores(course, "cross_entropy", outcome.student) == full, outcome.student
