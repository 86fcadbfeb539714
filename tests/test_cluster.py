"""Grading on a Dask cluster: the same grades as on one machine, and the faults of a cluster.

A real ``distributed.LocalCluster`` of three worker processes (``dask_cluster`` in conftest):
each Dask worker forks its own grader workers and kernels from the grader's template.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import threading
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import cell, pg_course, released_notebook, source_notebook, submit, submit_class
from distributed import Client
from nbgrader.api import Gradebook

from grader.cli import main
from grader.course import Course
from grader.grade.results import item_results
from grader.grade.run import Settings, grade_assignment

pytestmark = pytest.mark.notebook
A = "cross_entropy"
FULL = 33.0


def items(course: Course, student: str) -> dict[str, float | None]:
    return {i.grade_id: i.score for i in item_results(
        course.db_url, course.autograded / student / A, A, student)}


def test_a_cluster_grades_like_this_machine(course: Course, tmp_path, dask_cluster) -> None:
    solution = source_notebook(A)
    stubbed = copy.deepcopy(solution)
    cell(stubbed, "softmax_cross_entropy").source = \
        cell(released_notebook(course, A), "softmax_cross_entropy").source
    looping = copy.deepcopy(solution)
    cell(looping, "sigmoid").source += "\nimport time\ntime.sleep(0.2)\n"
    for student, nb in {"alice": solution, "bob": released_notebook(course, A),
                        "carol": stubbed, "dave": looping}.items():
        submit(course, student, A, nb)
    submit(course, "erin", A, "{ not a notebook")
    remote = Course(tmp_path / "remote")
    shutil.copytree(course.root, remote.root)

    here = grade_assignment(course, A, settings=Settings(workers=2))
    there = grade_assignment(remote, A,
                             settings=Settings(cluster=dask_cluster.scheduler_address))
    assert [(o.student, o.score, o.status) for o in there] == \
        [(o.student, o.score, o.status) for o in here]
    assert [o.sandbox for o in there] == [o.sandbox for o in here]
    for o in there[:4]:
        assert items(remote, o.student) == items(course, o.student), o.student
        assert o.timing[A]["execute"] > 0  # executed, on a worker, in a kernel of its own
    assert there[0].score == FULL and there[1].score == 0.0
    assert 0 < there[2].score < FULL
    assert there[4].status == "failed" and "line 1" in " ".join(there[4].reasons)


def test_a_worker_killed_mid_run_loses_and_doubles_nothing(course: Course, dask_cluster) -> None:
    # the course's own option names the cluster
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Grading.cluster = {dask_cluster.scheduler_address!r}\n")
    students = [f"s{i}" for i in range(9)]
    expected = submit_class(course, students, FULL)
    client = Client(dask_cluster.scheduler_address, set_as_default=False)
    pids = client.run(os.getpid)
    killed: list[str] = []
    recorded: Counter[str] = Counter()

    def kill_a_busy_worker(outcome) -> None:
        recorded[outcome.student] += 1
        if killed:
            return
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:  # SIGKILL, as the kernel's OOM killer or a lost node would
            killed.append(busy[0])
            os.kill(pids[busy[0]], signal.SIGKILL)

    try:
        outcomes = grade_assignment(course, A, on_done=kill_a_busy_worker)
        assert killed, "a worker was killed while it graded"
        assert {o.student: o.score for o in outcomes} == expected
        assert all(o.status == "graded" for o in outcomes), [o.reasons for o in outcomes]
        assert recorded == Counter(students)  # each recorded exactly once
        with Gradebook(course.db_url) as gb:
            assert {s.student.id: s.score for s in gb.assignment_submissions(A)} == expected
        client.wait_for_workers(3, timeout=120)  # the nanny brought the worker back
    finally:
        client.close()


def test_an_unreachable_scheduler_is_a_clear_error(course: Course) -> None:
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write("\nc.Grading.cluster_timeout = 3\n")
    submit(course, "alice", A, source_notebook(A))
    address = "tcp://127.0.0.1:9"  # discard port: nothing listens there
    result = CliRunner().invoke(main, ["grade", A, "--course", str(course.root),
                                       "--cluster", address])
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in " ".join(
        result.output.split())
    with Gradebook(course.db_url) as gb:
        assert gb.assignment_submissions(A) == []  # nothing half-written
    assert not any(course.autograded.glob("*/*"))


def test_a_database_restart_during_a_cluster_run(tmp_path, postgres, dask_cluster) -> None:
    course = pg_course(tmp_path / "c", postgres)
    for i in range(6):
        submit(course, f"s{i}", A, source_notebook(A))
    restarted: list[str] = []

    def restart_once(outcome) -> None:
        if not restarted:
            restarted.append(outcome.student)
            postgres.stop()
            threading.Timer(4.0, postgres.start).start()

    outcomes = grade_assignment(course, A, on_done=restart_once,
                                settings=Settings(cluster=dask_cluster.scheduler_address))
    assert restarted
    assert [o.score for o in outcomes] == [FULL] * 6
    with Gradebook(course.db_url) as gb:
        assert {s.student.id: s.score for s in gb.assignment_submissions(A)} == \
            {f"s{i}": FULL for i in range(6)}
