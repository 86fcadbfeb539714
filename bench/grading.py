"""Benchmark: stock ``nbgrader autograde`` against ``grader grade`` on the same class.

For each assignment, N submissions are generated from the solution notebook (student i has
answer cell i mod K replaced by the released stub, so scores vary), copied into two identical
scratch courses, and graded once by each tool. Prints wall time, throughput and their ratio,
and checks that both tools gave every student the same score.

Then, from the ``timing`` that ``grader grade`` records in every ``.grading.json``, where a
notebook's time goes (seconds per notebook in its worker: waiting for the job, sanitizing,
kernel start, cells, hidden tests, re-runs after a dead kernel, finishing; the grading
process's recording), its core-seconds (worker, kernels, grading process), and beside them the
floor: the same notebook's hidden tests run in-process against the reference, with no kernel.

Every timed run starts after a pause (``--cooldown``): on the virtual machines this was
measured on, a minute of full load slows the next minute's work by up to 20%, which would
otherwise penalise whichever tool runs second.

    .venv/bin/python bench/grading.py [--submissions 24] [--workers N] [--cooldown 30]
                                      [--compare ../before-checkout [--repeats 3]]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import hidden_tests  # noqa: E402  (bench/, beside this file)

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


def timed(command: list[str], cwd: Path, cooldown: float) -> tuple[float, float]:
    """Wall seconds of ``command``, and the CPU seconds of its own process."""
    time.sleep(cooldown)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def timed_checkout(checkout: Path, root: Path, assignment: str,
                   notebooks: dict[str, nbformat.NotebookNode], cooldown: float) -> float:
    """Wall seconds of another checkout's ``grader grade`` on ``notebooks``, in a course made
    from that checkout's own files by its own code (its hidden tests may differ: scores are
    not compared)."""
    python = checkout / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-c", "import sys; from pathlib import Path; "
                    "from grader.course import Course; from grader.release import release_copy;"
                    " release_copy(Course(Path(sys.argv[1])), [sys.argv[2]], Path(sys.argv[3]))",
                    str(checkout), assignment, str(root)], check=True, capture_output=True)
    place(Course(root), assignment, notebooks)
    seconds, _ = timed([str(checkout / ".venv" / "bin" / "grader"), "grade", assignment], root,
                       cooldown)
    return seconds


STEPS = ("idle", "sanitize", "boot", "cells", "tests", "replay", "finish", "record")


def breakdown(course: Course, assignment: str) -> dict[str, float]:
    """Mean seconds per notebook of each step, and of worker and kernel CPU."""
    records = [json.loads(p.read_text()) for p in
               course.autograded.glob(f"*/{assignment}/.grading.json")]
    timings = [t for r in records for t in r["timing"].values()]
    keys = (*STEPS, "worker_cpu", "kernel_cpu", "clean_cpu")
    return {k: statistics.fmean(t.get(k, 0.0) for t in timings) for k in keys}


def floor(assignment: str) -> float:
    """Seconds of the hidden tests of one solution notebook, in-process (no kernel)."""
    measured = hidden_tests.measure(repeats=5)[assignment]
    return sum(measured.values())


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
    parser.add_argument("--submissions", type=int, default=24)
    parser.add_argument("--workers", type=int, default=None,
                        help="workers of grader grade (default: its own default)")
    parser.add_argument("--cooldown", type=float, default=30.0,
                        help="seconds of rest before each timed run (default: 30)")
    parser.add_argument("--assignment", action="append", default=None)
    parser.add_argument("--compare", type=Path, default=None, metavar="CHECKOUT",
                        help="also time another checkout's grader grade (its own course files "
                             "and hidden tests, with its .venv) on the same class")
    parser.add_argument("--repeats", type=int, default=1,
                        help="with --compare: time both checkouts this many times, in "
                             "alternation, and compare the medians (default: 1)")
    args = parser.parse_args()
    rows, details, before = [], [], []
    for assignment in args.assignment or Course(REPO).assignments():
        with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
            stock, ours = same_class(Path(tmp), assignment, args.submissions, ("stock", "ours"))
            t_stock, _ = timed(["nbgrader", "autograde", assignment, "--force"], stock.root,
                               args.cooldown)
            workers = [] if args.workers is None else ["--workers", str(args.workers)]
            t_ours, cpu_main = timed([str(Path(sys.executable).parent / "grader"), "grade",
                                      assignment, *workers], ours.root, args.cooldown)
            same = totals(stock, assignment) == totals(ours, assignment)
            rows.append((assignment, args.submissions, t_stock, t_ours, same))
            if args.compare is not None:
                notebooks = submissions(ours, assignment, args.submissions)
                runs_before, runs_now = [], [t_ours]
                for k in range(max(1, args.repeats)):
                    runs_before.append(timed_checkout(args.compare, Path(tmp) / f"before{k}",
                                                      assignment, notebooks, args.cooldown))
                    if k + 1 < args.repeats:  # the first "now" is the run above
                        again = make_course(Path(tmp) / f"now{k}", assignment)
                        place(again, assignment, notebooks)
                        runs_now.append(timed([str(Path(sys.executable).parent / "grader"),
                                               "grade", assignment, *workers], again.root,
                                              args.cooldown)[0])
                before.append((assignment, args.submissions, statistics.median(runs_before),
                               statistics.median(runs_now)))
            details.append((assignment, breakdown(ours, assignment),
                            cpu_main / args.submissions, floor(assignment)))
            print(f"{assignment}: stock {t_stock:.1f} s, grader {t_ours:.1f} s, "
                  f"ratio {t_stock / t_ours:.2f}x, same scores: {same}", flush=True)
    print()
    if len(rows) > 1:
        rows.append(("all", sum(r[1] for r in rows), sum(r[2] for r in rows),
                     sum(r[3] for r in rows), all(r[4] for r in rows)))
    print_table(rows, "stock", "grader")
    print()
    if before:
        print(f"the same class with {args.compare} (medians of {max(1, args.repeats)} runs "
              "each, in alternation):")
        print(f"{'assignment':<15}{'n':>5}{'before s':>10}{'now s':>10}{'now/before':>12}")
        for assignment, n, t_before, t_ours in before:
            print(f"{assignment:<15}{n:>5}{t_before:>10.1f}{t_ours:>10.1f}"
                  f"{t_ours / t_before:>11.2f}x")
        print()
    print("seconds per notebook in its worker (wall), then core-seconds per notebook")
    print(f"{'assignment':<15}" + "".join(f"{k:>9}" for k in STEPS)
          + f"{'worker':>9}{'kernel':>9}{'clean':>9}{'grader':>9}{'total':>9}{'floor':>9}")
    for assignment, steps, cpu_main, in_process in details:
        cpu = (steps["worker_cpu"], steps["kernel_cpu"], steps["clean_cpu"], cpu_main)
        print(f"{assignment:<15}" + "".join(f"{steps[k]:>9.4f}" for k in STEPS)
              + "".join(f"{c:>9.4f}" for c in cpu) + f"{sum(cpu):>9.4f}{in_process:>9.4f}")
    if not all(row[-1] for row in rows):
        sys.exit("the two tools disagree on some scores")


if __name__ == "__main__":
    main()
