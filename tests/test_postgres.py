"""The gradebook on a real PostgreSQL server: grading, the report, feedback, nbgrader export,
formgrader with several graders at once while a run writes, and a server that restarts.

The server is started by the test session itself (tests/pgserver.py, Debian's postgresql).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO, cell, make_course, pg_course, released_notebook, source_notebook, submit
from nbgrader.api import Gradebook

from grader.cli import main
from grader.course import Course
from grader.grade.run import Settings, grade_assignment
from grader.report.load import load_gradebook

pytestmark = pytest.mark.notebook
A = "cross_entropy"
AUTOGRADED_MAX = 33.0


def class_of(course: Course) -> dict[str, float | None]:
    """Submit a small class into ``course``; expected totals (None: compare, not known)."""
    solution = source_notebook(A)
    stub = copy.deepcopy(solution)
    cell(stub, "softmax").source = cell(released_notebook(course, A), "softmax").source
    submit(course, "alice", A, solution)
    submit(course, "bob", A, released_notebook(course, A))
    path = submit(course, "carol", A, stub)
    (path.parent / "timestamp.txt").write_text("2030-01-01 10:00:00 UTC")
    return {"alice": AUTOGRADED_MAX, "bob": 0.0, "carol": None}


def totals(db_url: str) -> dict[str, float]:
    with Gradebook(db_url) as gb:
        return {s.student.id: round(s.score, 6) for s in gb.assignment_submissions(A)}


@pytest.fixture(scope="module")
def both(tmp_path_factory, postgres):
    """The same class graded into a SQLite gradebook and into a PostgreSQL one."""
    root = tmp_path_factory.mktemp("both")
    lite = make_course(root / "sqlite", (A,))
    pg = pg_course(root / "pg", postgres)
    expected = class_of(lite)
    class_of(pg)
    for course in (lite, pg):
        with Gradebook(course.db_url) as gb:  # carol's timestamp is a day after this
            gb.update_or_create_assignment(A, duedate="2029-12-31 10:00:00 UTC")
        outcomes = grade_assignment(course, A, settings=Settings(workers=2))
        assert [o.status for o in outcomes] == ["graded"] * 3
    return lite, pg, expected


def test_grades_on_postgresql_are_those_on_sqlite(both) -> None:
    lite, pg, expected = both
    assert pg.db_url.startswith("postgresql://")
    assert not (pg.root / "gradebook.db").exists(), "nothing was written to a SQLite file"
    on_pg = totals(pg.db_url)
    assert on_pg == totals(lite.db_url)
    assert {k: v for k, v in on_pg.items() if expected[k] is not None} == \
        {k: v for k, v in expected.items() if v is not None}
    assert on_pg["carol"] < AUTOGRADED_MAX


def test_report_reads_postgresql_like_sqlite(both) -> None:
    lite, pg, _ = both
    a, b = load_gradebook(lite.db_url), load_gradebook(pg.db_url)
    assert a.course_id == b.course_id
    # items in notebook order on both (PostgreSQL has no rowid)
    pd.testing.assert_frame_equal(a.items, b.items)
    key = ["student_id", "assignment", "item"]
    pd.testing.assert_frame_equal(a.grades.sort_values(key).reset_index(drop=True),
                                  b.grades.sort_values(key).reset_index(drop=True))
    subs = ["student_id", "assignment", "timestamp", "seconds_late", "flagged"]
    pd.testing.assert_frame_equal(a.submissions[subs].sort_values("student_id")
                                  .reset_index(drop=True),
                                  b.submissions[subs].sort_values("student_id")
                                  .reset_index(drop=True))
    assert b.submissions.set_index("student_id").loc["carol", "seconds_late"] > 0
    runner = CliRunner()
    outputs = [runner.invoke(main, ["report", A, "--format", "csv", "--course", str(c.root),
                                    *(["--db", c.db_url] if c is pg else [])])
               for c in (lite, pg)]
    assert [o.exit_code for o in outputs] == [0, 0], outputs[1].output
    assert outputs[0].output == outputs[1].output


def test_nbgrader_export_and_feedback_work_on_postgresql(both) -> None:
    lite, pg, _ = both
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    exports = []
    for course in (lite, pg):
        out = course.root / "grades.csv"
        done = subprocess.run(["nbgrader", "export", f"--CourseDirectory.db_url={course.db_url}",
                               f"--CsvExportPlugin.to={out}"], cwd=course.root, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        rows = sorted(csv.DictReader(io.StringIO(out.read_text())), key=lambda r: r["student_id"])
        exports.append([(r["student_id"], r["score"], r["max_score"]) for r in rows])
    assert exports[0] == exports[1] and len(exports[1]) == 3
    result = CliRunner().invoke(main, ["feedback", A, "--student", "alice", "--course",
                                       str(pg.root), "--db", pg.db_url])
    assert result.exit_code == 0, result.output
    page = (pg.feedback / "alice" / A / f"{A}.html").read_text()
    assert "33" in page


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Formgrader:
    """nbgrader's formgrader in a real Jupyter server, driven through its HTTP API."""

    def __init__(self, course: Course) -> None:
        self.port = _free_port()
        self.token = "grading-test-token"
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                                    f"{os.environ['PATH']}")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser",
             f"--port={self.port}", "--ip=127.0.0.1", f"--ServerApp.token={self.token}",
             "--allow-root", f"--ServerApp.root_dir={course.root}",
             "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}"],
            cwd=course.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def request(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/formgrader/api/{path}",
            method="GET" if body is None else "PUT",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def wait(self, probe: str) -> None:
        for _ in range(240):
            try:
                self.request(probe)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("formgrader did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def test_graders_in_formgrader_while_a_run_writes(tmp_path, postgres) -> None:
    """Two graders score the written answers in formgrader while `grader grade` records."""
    course = pg_course(tmp_path / "c", postgres)
    # The course's own nbgrader setting, read by formgrader and by grader alike.
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {course.db_url!r}\n")
    course = Course(course.root)
    assert course.db_url.startswith("postgresql://")
    students = [f"s{i}" for i in range(6)]
    for i, student in enumerate(students):
        submit(course, student, A, source_notebook(A) if i % 2 == 0
               else released_notebook(course, A))
    with Gradebook(course.db_url) as gb:  # as `nbgrader collect` leaves them
        for student in students:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(A, student)
        written = {s: [g.id for n in gb.find_submission(A, s).notebooks for g in n.grades
                       if g.cell.cell_type == "markdown"] for s in students}
    server = Formgrader(course)
    try:
        server.wait(f"grade/{written[students[0]][0]}")
        given: dict[str, float] = {}
        errors: list[BaseException] = []

        def grader_at_work(mine: list[str], points: float) -> None:
            try:
                for _ in range(3):  # each grader revisits their students during the run
                    for student in mine:
                        for grade_id in written[student]:
                            answer = server.request(f"grade/{grade_id}",
                                                    {"manual_score": points, "extra_credit": 0})
                            assert answer["manual_score"] == points
                            given[grade_id] = points
            except BaseException as error:  # reported by the test below
                errors.append(error)

        graders = [threading.Thread(target=grader_at_work, args=(students[0::2], 2.0)),
                   threading.Thread(target=grader_at_work, args=(students[1::2], 1.0))]
        for thread in graders:
            thread.start()
        outcomes = grade_assignment(course, A, settings=Settings(workers=2))
        for thread in graders:
            thread.join()
    finally:
        server.close()
    assert not errors, errors
    assert [o.status for o in outcomes] == ["graded"] * len(students)
    with Gradebook(course.db_url) as gb:
        for i, student in enumerate(students):
            submission = gb.find_submission(A, student)
            auto = sum(g.auto_score or 0 for n in submission.notebooks for g in n.grades)
            assert auto == (AUTOGRADED_MAX if i % 2 == 0 else 0.0), student
            for grade_id in written[student]:  # no grader's score was lost to the run
                assert gb.find_grade_by_id(grade_id).manual_score == given[grade_id]


def test_a_database_restart_mid_run_is_waited_for(tmp_path, postgres) -> None:
    course = pg_course(tmp_path / "c", postgres)
    for i in range(5):
        submit(course, f"s{i}", A, source_notebook(A))
    restarted = []

    def restart_once(outcome) -> None:
        if not restarted:  # the server goes away right after the first submission is recorded
            restarted.append(outcome.student)
            postgres.stop()
            threading.Timer(4.0, postgres.start).start()

    outcomes = grade_assignment(course, A, settings=Settings(workers=2), on_done=restart_once)
    assert restarted
    assert [o.score for o in outcomes] == [AUTOGRADED_MAX] * 5
    assert totals(course.db_url) == {f"s{i}": AUTOGRADED_MAX for i in range(5)}


def test_an_unreachable_database_is_a_clear_error(tmp_path) -> None:
    course = make_course(tmp_path / "c", (A,))
    submit(course, "alice", A, source_notebook(A))
    url = f"postgresql://grader:secret@127.0.0.1:{_free_port()}/gradebook"
    result = CliRunner().invoke(main, ["grade", A, "--course", str(course.root), "--db", url])
    assert result.exit_code == 1
    assert "127.0.0.1" in result.output and "gradebook" in result.output
    assert "secret" not in result.output
    assert not any(course.autograded.glob("*/*"))


def test_repository_course_uses_its_sqlite_file() -> None:
    assert Course(REPO).db_url == f"sqlite:///{REPO / 'gradebook.db'}"
