"""Incremental grading and resuming: only what changed is graded again, and a run killed with
SIGKILL leaves a consistent gradebook that the next run completes, nothing lost or doubled.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from conftest import (
    cell,
    pg_course,
    released_notebook,
    source_notebook,
    submit,
    submit_class,
)
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from grader.cli import main
from grader.course import Course
from grader.grade import leftovers
from grader.grade.discover import Submission, find_submissions
from grader.grade.fingerprint import assignment_version, submission_fingerprint
from grader.grade.record import RECORD_FILE, Outcome, Recorder
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "cross_entropy"
FULL = 33.0


def graded_at(course: Course) -> dict[str, str]:
    """When each submission's files were last written (from ``.grading.json``)."""
    return {p.parent.parent.name: json.loads(p.read_text())["graded_at"] + str(p.stat().st_mtime)
            for p in course.autograded.glob(f"*/{A}/{RECORD_FILE}")}


def test_a_rerun_grades_only_what_changed(course: Course) -> None:
    for student in ("alice", "bob", "carol"):
        submit(course, student, A, source_notebook(A))
    first = grade_assignment(course, A, settings=Settings(workers=2))
    assert [o.unchanged for o in first] == [False] * 3
    before = graded_at(course)

    again = grade_assignment(course, A, settings=Settings(workers=2))
    assert [o.unchanged for o in again] == [True] * 3
    assert [o.score for o in again] == [FULL] * 3
    assert graded_at(course) == before, "nothing was written again"

    submit(course, "bob", A, released_notebook(course, A))  # bob pushes a new version
    (course.autograded / "carol" / A / RECORD_FILE).unlink()  # carol's files are incomplete
    third = {o.student: o for o in grade_assignment(course, A, settings=Settings(workers=2))}
    assert {s: o.unchanged for s, o in third.items()} == \
        {"alice": True, "bob": False, "carol": False}
    assert third["bob"].score == 0.0 and third["carol"].score == FULL

    forced = grade_assignment(course, A, settings=Settings(workers=2, force=True))
    assert not any(o.unchanged for o in forced)


def test_new_grading_code_or_assignment_regrades(course: Course) -> None:
    submit(course, "alice", A, source_notebook(A))
    grade_assignment(course, A, settings=Settings(workers=1))
    # the instructor ships a data file with the assignment: the hidden tests' version changes
    (course.source / A / "notes.txt").write_text("new data")
    again = grade_assignment(course, A, settings=Settings(workers=1))
    assert not again[0].unchanged
    # so does a setting a grade depends on: a longer cell timeout
    assert grade_assignment(course, A, settings=Settings(workers=1))[0].unchanged
    longer = grade_assignment(course, A, settings=Settings(workers=1, cell_timeout=123))
    assert not longer[0].unchanged


def test_only_what_a_grade_depends_on_changes_the_assignments_version(course: Course) -> None:
    hidden = course.source / A / "hidden"
    version = assignment_version(course, A)
    # the instructor's own tests and reviewed equivalent mutants play no part in a grade
    for name in ("test_cross_entropy.py", "equivalent_mutants.txt", "conftest.py"):
        path = hidden / name
        path.write_text((path.read_text() if path.exists() else "") + "\n# reviewed again\n")
        assert assignment_version(course, A) == version, name
    # the reference does, and so does anything else beside the spec
    reference = hidden / "reference.py"
    reference.write_text(reference.read_text() + "\n# reviewed again\n")
    assert assignment_version(course, A) != version
    version = assignment_version(course, A)
    (hidden / "weights.npy").write_bytes(b"\x93NUMPY")
    assert assignment_version(course, A) != version


def test_scores_without_their_fingerprint_are_regraded(course: Course) -> None:
    """Scores whose run never recorded completion (killed after writing them) are redone."""
    submit(course, "alice", A, source_notebook(A))
    grade_assignment(course, A, settings=Settings(workers=1))
    engine = create_engine(course.db_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM grader_graded"))
    engine.dispose()
    again = grade_assignment(course, A, settings=Settings(workers=1))
    assert not again[0].unchanged and again[0].score == FULL


def test_a_submission_whose_worker_died_is_graded_again(course: Course, tmp_path: Path) -> None:
    """A lost worker says nothing about the submission: its partial grade is not kept as
    complete, the next run grades it again."""
    once = tmp_path / "worker-killed"
    nb = copy.deepcopy(source_notebook(A))
    cell(nb, "softmax").source += (  # the first time only: says where it runs, and waits
        f"\nimport os, pathlib, time\nif not pathlib.Path({str(once)!r}).exists():\n"
        f"    pathlib.Path({str(once)!r}).write_text(os.getcwd())\n    time.sleep(60)")
    submit(course, "alice", A, nb)
    settings = Settings(workers=1, sandbox=False)  # without isolation it can write the file

    def kill_its_worker() -> None:  # a kernel cannot reach its worker: this test does
        while not once.exists() or not once.read_text():
            time.sleep(0.05)
        # the kernel's working directory is named after the worker that made it
        token = leftovers.owned_by(Path(once.read_text()).name, "grader-kernel-")
        assert token is not None and leftovers.alive(token), once.read_text()
        os.kill(int(token.split("-")[0]), signal.SIGKILL)

    killer = threading.Thread(target=kill_its_worker)
    killer.start()
    [first] = grade_assignment(course, A, settings=settings)
    killer.join()
    assert any("grading worker exited unexpectedly" in r for r in first.reasons), first.reasons
    assert first.status == "partial" and first.score < FULL

    [again] = grade_assignment(course, A, settings=settings)
    assert not again.unchanged
    assert again.status == "graded" and again.score == FULL, again.reasons
    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(A, "alice").score == FULL


@pytest.fixture(params=["sqlite", "postgresql"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Course:
    """A released course whose gradebook is SQLite's file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("course")
    return pg_course(tmp_path / "pg", request.getfixturevalue("postgres"))


def recorded_as_of_now(course: Course) -> tuple[Submission, str]:
    """The one submission of ``course`` and its fingerprint, as a run computes it."""
    [submission] = find_submissions(course.submitted, A)
    return submission, submission_fingerprint(submission, assignment_version(course, A))


def test_a_regrade_cut_short_after_its_scores_is_not_reused(either: Course) -> None:
    """Killed after a re-grade's new scores are committed and before its folder is replaced:
    the earlier grade's mark no longer vouches for them, so the next run grades it again."""
    course = either
    submit(course, "alice", A, source_notebook(A))
    [first] = grade_assignment(course, A, settings=Settings(workers=1))
    assert first.score == FULL

    submission, fingerprint = recorded_as_of_now(course)
    recorder = Recorder(course, A, course.config())  # a re-grade (--force) ...
    recorder.open(submission, fingerprint)
    recorder.save(submission, A, None)  # ... whose first notebook's scores are committed
    recorder.gradebook.close()  # ... then the process is killed: never closed nor exited
    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(A, "alice").score == 0.0
    earlier = Outcome.read(course.autograded / "alice" / A / RECORD_FILE)
    assert earlier is not None and earlier.score == FULL  # autograded/ still holds it

    with Recorder(course, A, course.config()) as recorder:
        assert recorder.reusable(submission, fingerprint, recorder.graded()) is None
    [again] = grade_assignment(course, A, settings=Settings(workers=1))
    assert not again.unchanged and again.score == FULL
    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(A, "alice").score == FULL


def test_one_recorder_may_record_a_student_twice(either: Course) -> None:
    """Its pending marks then hold the same student twice: the last one is written."""
    course = either
    submit(course, "alice", A, released_notebook(course, A))
    submission, fingerprint = recorded_as_of_now(course)
    with Recorder(course, A, course.config()) as recorder:
        for _ in range(2):
            outcome = recorder.open(submission, fingerprint)
            recorder.save(submission, A, None)
            recorder.close(submission, outcome, {})
    with Recorder(course, A, course.config()) as recorder:
        graded = recorder.graded()
        assert graded == {"alice": fingerprint}
        assert recorder.reusable(submission, fingerprint, graded) is not None


def test_only_this_assignments_leftover_folders_are_removed(course: Course) -> None:
    """A killed run's staging folders are removed by the next one, but only its assignment's:
    ``cross_entropy``'s must not take those of an assignment named ``cross_entropy-b``."""
    submit(course, "alice", A, released_notebook(course, A))
    submission, fingerprint = recorded_as_of_now(course)
    student = course.autograded / "alice"
    own = [".cross_entropy-k3j9x_2a", ".cross_entropy-k3j9x_2a.old"]
    others = [".cross_entropy-b-k3j9x_2a", ".cross_entropy-b-k3j9x_2a.old",
              ".cross_entropy-2-k3j9x_2a", "cross_entropy-b"]
    for name in own + others:
        (student / name).mkdir(parents=True)
        (student / name / "x.ipynb").write_text("{}")
    staged = Path(tempfile.mkdtemp(prefix=f".{A}-", dir=student))  # as the writer makes them
    staged.with_name(staged.name + ".old").mkdir()
    with Recorder(course, A, course.config()) as recorder:
        outcome = recorder.open(submission, fingerprint)
        recorder.save(submission, A, None)
        recorder.close(submission, outcome, {})
    assert sorted(p.name for p in student.iterdir()) == sorted([A, *others])
    assert all((student / name / "x.ipynb").is_file() for name in others)


def test_cli_says_what_it_skipped(course: Course) -> None:
    submit(course, "alice", A, source_notebook(A))
    runner = CliRunner()
    args = ["grade", A, "--course", str(course.root), "--workers", "1"]
    assert runner.invoke(main, args).exit_code == 0
    result = runner.invoke(main, args)
    assert result.exit_code == 0
    assert "1 of 1 submission(s) unchanged" in result.output
    assert "--force" in result.output


def test_sigkill_mid_run_then_rerun_completes_the_class(course: Course) -> None:
    students = [f"s{i:02d}" for i in range(10)]
    expected = submit_class(course, students, FULL)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [str(Path(sys.executable).parent / "grader"), "grade", A, "--course",
               str(course.root), "--workers", "2"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(course.autograded.glob(f"*/{A}/{RECORD_FILE}"))) < 3:
        assert run.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    done_before = set(graded_at(course))
    assert 3 <= len(done_before) < len(students), "killed mid-run"

    # what the killed run left is consistent: every recorded submission is whole
    for student in done_before:
        record = json.loads((course.autograded / student / A / RECORD_FILE).read_text())
        assert record["score"] == expected[student]
        nbformat.read(course.autograded / student / A / f"{A}.ipynb", as_version=4)

    engine = create_engine(course.db_url)
    with engine.connect() as connection:
        complete = connection.execute(text(  # a cleared mark (being re-graded) is empty
            "SELECT COUNT(*) FROM grader_graded WHERE fingerprint <> ''")).scalar()
    engine.dispose()
    # the one whose files were moved in just before the kill may lack its completion row
    assert len(done_before) - 1 <= complete <= len(done_before)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    said = " ".join(rerun.stderr.split())
    assert f"{complete} of {len(students)} submission(s) unchanged" in said, said

    with Gradebook(course.db_url) as gb:
        submissions = gb.assignment_submissions(A)
        assert sorted(s.student.id for s in submissions) == students  # none doubled or lost
        assert {s.student.id: s.score for s in submissions} == expected
    for student in students:
        record = json.loads((course.autograded / student / A / RECORD_FILE).read_text())
        assert record["score"] == expected[student]
        leftovers = [p.name for p in (course.autograded / student).iterdir() if p.name != A]
        assert leftovers == [], leftovers


def test_a_large_class_keeps_only_what_its_table_shows(course: Course) -> None:
    """Past TABLE_ROWS submissions the grading process keeps only the rows it will print."""
    from grader.grade.command import TABLE_ROWS, Tally
    from grader.grade.record import Outcome

    submit(course, "alice", A, source_notebook(A))
    submit(course, "bob", A, "{ not json")
    seen: list[str] = []
    kept = grade_assignment(course, A, settings=Settings(workers=1),
                            on_done=lambda o: seen.append(o.student),
                            keep=lambda o: o.status != "graded")
    assert sorted(seen) == ["alice", "bob"]
    assert [o.student for o in kept] == ["bob"]

    tally = Tally()
    tally.start(TABLE_ROWS + 1)
    clean, flagged = Outcome("s1", A, sandbox="isolated"), Outcome("s2", A, suspicious=["x"])
    failed = Outcome("s3", A, status="failed")
    for outcome in (clean, flagged, failed):
        tally.add(outcome)
    assert [tally.keep(o) for o in (clean, flagged, failed)] == [False, True, True]
    assert tally.graded == 1 and tally.sandboxes == {"isolated", ""}
    small = Tally()
    small.start(TABLE_ROWS)
    assert small.keep(clean)


def test_what_a_killed_run_leaves_is_swept_by_the_next(course: Course) -> None:
    """``kill -9`` of ``grader grade`` and its workers (the machine's OOM killer, an impatient
    administrator): their kernels end with them, and the next run removes their scratch
    directories and kernels' folders, the staging folders of the writer and the kernels'
    control groups, but nothing of a run that is still going on."""
    from grader.grade import cgroups
    from grader.grade.supervisor import become_subreaper, children

    students = [f"s{i:02d}" for i in range(6)]
    submit_class(course, students, FULL)
    command = [str(Path(sys.executable).parent / "grader"), "grade", A, "--course",
               str(course.root), "--workers", "2"]
    tmp = Path(tempfile.gettempdir())
    become_subreaper()
    try:
        before = set(children())
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not list(course.autograded.glob(f"*/{A}/{RECORD_FILE}")):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        token = leftovers.owner(run.pid)
        workers = {o for p in tmp.glob("grader-kernel-*")  # they name their kernels' folders
                   if (o := leftovers.owned_by(p.name, "grader-kernel-")) and leftovers.alive(o)
                   and int(o.split("-")[0]) in _descendants(run.pid)}
        assert workers, "no kernel was running"
        for worker in workers:  # all at once: none of them cleans up
            os.kill(int(worker.split("-")[0]), signal.SIGKILL)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        end = time.monotonic() + 10  # their kernels end with them
        while (alive := [p for p in set(children()) - before
                         if os.waitpid(p, os.WNOHANG)[0] == 0]) and time.monotonic() < end:
            time.sleep(0.1)
        assert alive == [], "a process of the killed run outlived it"
    finally:
        become_subreaper(False)

    scratch = list(tmp.glob(f"grader-run-{token}-*"))
    assert scratch, "the killed run left no scratch directory: nothing to sweep"
    # a worker always has a kernel booted for its next notebook, if not one grading
    kernels = [p for worker in workers for p in tmp.glob(f"grader-kernel-{worker}-*")]
    assert kernels, "the killed workers left no kernel folder: nothing to sweep"
    # what its writer and a kernel's supervisor would have left, killed at the wrong moment,
    # and the same things of a run still going on (this process's)
    student = course.autograded / students[0]
    student.mkdir(parents=True, exist_ok=True)
    staged = [student / f".{A}-{token}-k3j9x_2a", student / f".{A}-{token}-k3j9x_2a.old"]
    live = [student / f".{A}-{leftovers.owner()}-k3j9x_2a",
            Path(tempfile.mkdtemp(prefix=f"grader-run-{leftovers.owner()}-"))]
    groups = [h.base / f"{cgroups.PREFIX}{token}" for h in cgroups.hierarchies()]
    for folder in [*staged, *live[:1], *groups]:
        folder.mkdir()
    try:
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr
        for gone in [*scratch, *kernels, *staged, *groups]:
            assert not gone.exists(), gone
        assert all(folder.exists() for folder in live)
    finally:
        for folder in live:
            shutil.rmtree(folder, ignore_errors=True)
    with Gradebook(course.db_url) as gb:
        assert len(gb.assignment_submissions(A)) == len(students)


def _descendants(pid: int) -> set[int]:
    """Process ``pid`` and every process below it."""
    found, pending = set(), [pid]
    while pending:
        current = pending.pop()
        found.add(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return found
