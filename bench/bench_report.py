"""Benchmark: the grade report of a 1,000-student class, against nbgrader's own API.

Builds a synthetic gradebook (the course's two assignments, every student submitting both but
a few, some late, some manual answers not graded yet) plus an autograded notebook per
submission whose failed test cells carry error messages, then times

* ``build_report`` (gradebook and notebooks to every table) and each output format;
* the obvious alternative, walking nbgrader's ORM (``Gradebook.find_submission`` and each
  notebook's grades) to collect the same per-item scores;
* ``nbgrader export`` (its ``CsvExportPlugin``, totals only) against the report's nbgrader CSV,
  checking that the two files are identical.

    .venv/bin/python bench/bench_report.py [--students 1000] [--seed 0] [--no-notebooks]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from nbgrader.api import Gradebook, MissingEntry  # noqa: E402
from nbgrader.plugins.export import CsvExportPlugin  # noqa: E402

from grader.course import Course  # noqa: E402
from grader.report import build_report  # noqa: E402
from grader.report.command import FORMATS, render  # noqa: E402
from grader.report.policy import CoursePolicy  # noqa: E402
from grader.report.synthetic import course_items, synthetic_gradebook  # noqa: E402

COURSE = course_items(Course(Path(__file__).resolve().parents[1]))


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def write_notebooks(course: Path, db: Path) -> int:
    """An autograded notebook per submission; each failed test cell holds an error output."""
    report = build_report(course, policy=CoursePolicy())
    points = {(a, item): p for a, items in COURSE.items() for item, p, _ in items}
    written = 0
    for (student, assignment), row in report.item_scores.stack(
            "assignment", future_stack=True).groupby(level=[0, 1]):
        if row.isna().all().all():
            continue
        cells = []
        for item in COURSE[assignment]:
            name = item[0]
            score = row[name].iloc[0] if name in row else np.nan
            outputs = []
            if not np.isnan(score) and score < points[(assignment, name)]:
                outputs = [{"output_type": "error", "ename": "AssertionError",
                            "evalue": f"{name}: expected {np.round(np.pi, 4)}, got "
                                      f"{float(len(student)):.4f}", "traceback": []}]
            cells.append({"cell_type": "code", "execution_count": 1, "source": "",
                          "metadata": {"nbgrader": {"grade": not item[2], "solution": item[2],
                                                    "grade_id": name, "points": item[1]}},
                          "outputs": outputs})
        folder = course / "autograded" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
        (folder / f"{assignment}.ipynb").write_text(json.dumps(notebook))
        written += 1
    return written


def orm_traversal(db: Path) -> dict[tuple[str, str, str], float | None]:
    """Per-item scores collected the usual way: nbgrader's objects, one at a time."""
    scores: dict[tuple[str, str, str], float | None] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        scores[(student.id, assignment.name, grade.name)] = (
                            None if grade.needs_manual_grade else grade.score)
    return scores


def nbgrader_export(db: Path, out: Path) -> str:
    with Gradebook(f"sqlite:///{db}") as gb:
        CsvExportPlugin(to=str(out)).export(gb)
    return out.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-notebooks", action="store_true",
                        help="Gradebook only: no autograded notebooks to read messages from.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        course = Path(scratch)
        db = course / "gradebook.db"
        seconds, _ = timed(lambda: synthetic_gradebook(db, args.students, seed=args.seed))
        print(f"class: {args.students} students x {len(COURSE)} assignments, "
              f"{sum(len(v) for v in COURSE.values())} items (gradebook built in {seconds:.1f} s)")
        if not args.no_notebooks:
            seconds, count = timed(lambda: write_notebooks(course, db))
            print(f"autograded notebooks: {count} written in {seconds:.1f} s")

        policy = CoursePolicy()
        build, report = timed(lambda: build_report(course, policy=policy))
        print(f"\nbuild_report (every table){'':<14}{build:8.2f} s")
        for fmt in FORMATS:
            seconds, _ = timed(lambda fmt=fmt: render(report, fmt))
            print(f"  + render {fmt:<30}{seconds:8.2f} s")

        orm, scores = timed(lambda: orm_traversal(db))
        print(f"\nnbgrader ORM traversal (item scores only){orm:8.2f} s")
        ours = report.item_scores.stack(["assignment", "item"], future_stack=True)
        pending = set(map(tuple, report.data.grades.loc[
            report.data.grades["pending"], ["student_id", "assignment", "item"]].to_numpy()))
        mismatches = sum(
            1 for key, value in scores.items()
            if (value is None) != (key in pending)
            or (value is not None and abs(ours.loc[key] - value) > 1e-9))
        print(f"  same {len(scores)} item scores as the report: {mismatches == 0}")
        print(f"  ratio ORM / build_report: {orm / build:.1f}x")

        with tempfile.TemporaryDirectory() as out:
            export, theirs = timed(lambda: nbgrader_export(db, Path(out) / "grades.csv"))
        csv_time, mine = timed(lambda: render(build_report(course, policy=policy), "nbgrader"))
        print(f"\nnbgrader export (CsvExportPlugin){export:16.2f} s")
        print(f"grader report --format nbgrader{csv_time:19.2f} s")
        print(f"  identical files: {mine == theirs}")
        print(f"  ratio nbgrader export / report: {export / csv_time:.1f}x")
        if mismatches or mine != theirs:
            raise SystemExit("the report disagrees with nbgrader")


if __name__ == "__main__":
    main()
