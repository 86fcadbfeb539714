"""Benchmark: stock ``nbgrader autograde`` against ``grader grade`` on the same class.

For each assignment, N submissions are generated from the solution notebook (student i has
answer cell i mod K replaced by the released stub, so scores vary), copied into two identical
scratch courses, and graded once by each tool. Prints wall time, throughput and their ratio,
and checks that both tools gave every student the same score.

Every timed run starts after a pause (``--cooldown``): on the virtual machines this was
measured on, a minute of full load slows the next minute's work by up to 20%, which would
otherwise penalise whichever tool runs second.

    .venv/bin/python bench/grading.py [--submissions 40] [--workers N] [--cooldown 30]
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.course import Course  # noqa: E402
from grader.release import release_copy  # noqa: E402


def make_course(root: Path, assignment: str) -> Course:
    return release_copy(Course(REPO), [assignment], root)


def submissions(course: Course, assignment: str, count: int) -> dict[str, nbformat.NotebookNode]:
    """``count`` notebooks: the solution with one answer cell (in turn) left as the stub."""
    solution = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", 4)
    stub = nbformat.read(course.release / assignment / f"{assignment}.ipynb", 4)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in stub.cells
             if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    answers = sorted(stubs)
    made = {}
    for i in range(count):
        nb = copy.deepcopy(solution)
        slot = i % (len(answers) + 1)  # one in every len+1 students answers everything
        if slot < len(answers):
            for c in nb.cells:
                if c.metadata.get("nbgrader", {}).get("grade_id") == answers[slot]:
                    c.source = stubs[answers[slot]]
        made[f"s{i:03d}"] = nb
    return made


def place(course: Course, assignment: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    for student, nb in notebooks.items():
        target = course.submitted / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)


def same_class(root: Path, assignment: str, count: int,
               names: tuple[str, str]) -> tuple[Course, Course]:
    """Two released scratch courses under ``root`` holding the same generated class."""
    first, second = (make_course(root / name, assignment) for name in names)
    notebooks = submissions(first, assignment, count)
    place(first, assignment, notebooks)
    place(second, assignment, notebooks)
    return first, second


def timed(command: list[str], cwd: Path, cooldown: float) -> float:
    time.sleep(cooldown)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def totals(course: Course, assignment: str) -> dict[str, float]:
    with Gradebook(course.db_url) as gb:
        return {s.student.id: round(s.score, 6) for s in gb.assignment_submissions(assignment)}


def print_table(rows: list[tuple], first: str, second: str) -> None:
    """Rows ``(assignment, n, seconds of first, seconds of second, same scores)``, with the
    throughput ratio second/first."""
    print(f"{'assignment':<15}{'n':>5}{first + ' s':>10}{second + ' s':>10}"
          f"{first + ' nb/s':>13}{second + ' nb/s':>13}{'ratio':>8}  same scores")
    for assignment, n, t_first, t_second, same in rows:
        print(f"{assignment:<15}{n:>5}{t_first:>10.1f}{t_second:>10.1f}{n / t_first:>13.2f}"
              f"{n / t_second:>13.2f}{t_first / t_second:>7.2f}x  {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None,
                        help="workers of grader grade (default: its own default)")
    parser.add_argument("--cooldown", type=float, default=30.0,
                        help="seconds of rest before each timed run (default: 30)")
    parser.add_argument("--assignment", action="append", default=None)
    args = parser.parse_args()
    rows = []
    for assignment in args.assignment or ["cross_entropy", "svm_hinge"]:
        with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
            stock, ours = same_class(Path(tmp), assignment, args.submissions, ("stock", "ours"))
            t_stock = timed(["nbgrader", "autograde", assignment, "--force"], stock.root,
                            args.cooldown)
            workers = [] if args.workers is None else ["--workers", str(args.workers)]
            t_ours = timed([str(Path(sys.executable).parent / "grader"), "grade", assignment,
                            *workers], ours.root, args.cooldown)
            same = totals(stock, assignment) == totals(ours, assignment)
            rows.append((assignment, args.submissions, t_stock, t_ours, same))
            print(f"{assignment}: stock {t_stock:.1f} s, grader {t_ours:.1f} s, "
                  f"ratio {t_stock / t_ours:.2f}x, same scores: {same}", flush=True)
    print()
    if len(rows) > 1:
        rows.append(("all", sum(r[1] for r in rows), sum(r[2] for r in rows),
                     sum(r[3] for r in rows), all(r[4] for r in rows)))
    print_table(rows, "stock", "grader")
    if not all(row[-1] for row in rows):
        sys.exit("the two tools disagree on some scores")


if __name__ == "__main__":
    main()
