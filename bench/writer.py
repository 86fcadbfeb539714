"""Benchmark: the single writer's ceiling, SQLite against PostgreSQL, with synthetic results.

Every result of a grading run, local or on a cluster, is recorded by one process (the
gradebook's single writer, ``grader.grade.record.Recorder``). This measures how many notebooks
per second it records when results arrive faster than it can write them: no kernel runs; each
"result" is the instructor's solution notebook with passing outputs, as a worker would send
back. Per submission it does what a run does: receive the worker's answer (the notebook's
text and its scores), create the student and submission rows with the scores in one
transaction, write ``autograded/`` and mark it complete. The PostgreSQL server is a real one
started here (tests/pgserver.py; Debian's postgresql) with its default durability (fsync on;
the writer's own session commits asynchronously, as in a grading run).

    .venv/bin/python bench/writer.py [--submissions 1000]

Dividing the writer's notebooks/s by the notebooks/s one worker grades gives how many workers
one writer feeds (see the README).
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from pgserver import PostgresServer  # noqa: E402

from grader.course import Course  # noqa: E402
from grader.grade.discover import Submission  # noqa: E402
from grader.grade.record import Recorder  # noqa: E402
from grader.grade.rows import scores  # noqa: E402
from grader.release import release  # noqa: E402

A = "cross_entropy"


def course_at(root: Path, database: str) -> Course:
    root.mkdir(parents=True)
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source" / A, root / "source" / A)
    course = Course(root, database=database)
    release(course, [A])
    return course


def executed_notebook() -> nbformat.NotebookNode:
    """The solution as a worker returns it: every test cell ran and passed."""
    nb = nbformat.read(REPO / "source" / A / f"{A}.ipynb", as_version=4)
    for count, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    return nb


def record(course: Course, count: int) -> tuple[float, float]:
    """Seconds to record ``count`` submissions, and the score of the last (as a check)."""
    nb = executed_notebook()
    # what a worker sends back, as it reaches the grading process: the notebook's text and its
    # scores (grader.grade.worker), pickled
    sent = pickle.dumps({"notebook": nbformat.writes(nb), "scores": scores(nb)})
    submissions = []
    for i in range(count):
        folder = course.root / "submitted" / f"s{i:05d}" / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A}.ipynb")
        submissions.append(Submission(f"s{i:05d}", A, folder))
    config = course.config()
    with Recorder(course, A, config) as recorder:
        start = time.perf_counter()
        for submission in submissions:
            outcome = recorder.open(submission, fingerprint="0" * 64)
            result = pickle.loads(sent)
            recorder.save(submission, A, result["scores"])
            outcome = recorder.close(submission, outcome, {A: result["notebook"]})
        return time.perf_counter() - start, outcome.score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="grader-bench-writer-") as tmp, \
            PostgresServer(durable=True) as server:
        for label, database in (("sqlite", "gradebook.db"),
                                ("postgresql", server.create_database())):
            course = course_at(Path(tmp) / label, database)
            seconds, score = record(course, args.submissions)
            rows.append((label, seconds, score))
            print(f"{label}: {args.submissions} notebooks in {seconds:.1f} s "
                  f"({args.submissions / seconds:.0f} nb/s), last score {score:g}", flush=True)
    print()
    print(f"{'gradebook':<12}{'n':>6}{'seconds':>10}{'nb/s':>8}{'ratio':>8}")
    base = args.submissions / rows[0][1]
    for label, seconds, _ in rows:
        rate = args.submissions / seconds
        print(f"{label:<12}{args.submissions:>6}{seconds:>10.1f}{rate:>8.0f}{rate / base:>7.2f}x")


if __name__ == "__main__":
    main()
