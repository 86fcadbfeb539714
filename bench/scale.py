"""Benchmark: a large generated class through ``grader grade``, with the grading process's memory.

Generates N submissions (bench/grading.py's generator: student i leaves answer cell i mod K as
the stub, so there are K+1 distinct notebooks), grades the K+1 distinct notebooks once with the
local path as the reference, then the whole class with ``grader grade`` — on a local Dask
cluster (default) or on this machine (``--local``) — while sampling the resident memory of the
grading process. Checks that every student got the score of their notebook, and prints the
memory at each quarter of the run: flat means the grading process does not grow with the class.

    .venv/bin/python bench/scale.py [--submissions 2000] [--local]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from grading import make_course, place, submissions, totals  # noqa: E402

from grader.grade.record import RECORD_FILE  # noqa: E402
from grader.grade.run import default_workers  # noqa: E402


def reference_scores(root: Path, assignment: str, notebooks: dict, slots: int) -> dict[int, float]:
    """The local path's score of each distinct notebook (student i has notebook i mod slots)."""
    course = make_course(root, assignment)
    place(course, assignment, {s: nb for i, (s, nb) in enumerate(notebooks.items())
                               if i < slots})
    done = subprocess.run([str(Path(sys.executable).parent / "grader"), "grade", assignment],
                          cwd=course.root, capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        sys.exit(f"reference grading failed:\n{done.stderr[-2000:]}")
    scores = totals(course, assignment)
    return {i: scores[s] for i, s in enumerate(list(notebooks)[:slots])}


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")]))


def run_sampled(command: list[str], course_root: Path,
                assignment: str) -> tuple[float, list[tuple[int, float]]]:
    """Run ``command``; (seconds, [(submissions done, RSS MiB of the process)...])."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=course_root, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    samples: list[tuple[int, float]] = []

    def sample() -> None:
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                rss = watched.memory_info().rss / 2**20
            except psutil.Error:
                break
            done = sum(1 for _ in (course_root / "autograded").glob(f"*/{assignment}/"
                                                                    f"{RECORD_FILE}"))
            samples.append((done, rss))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - start
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{err[-3000:]}")
    return elapsed, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--assignment", default="cross_entropy")
    parser.add_argument("--local", action="store_true", help="grade on this machine")
    parser.add_argument("--threads", type=int, default=default_workers())
    args = parser.parse_args()
    from contextlib import nullcontext

    from distributed import LocalCluster

    grader = str(Path(sys.executable).parent / "grader")
    cluster = nullcontext() if args.local else LocalCluster(
        n_workers=1, threads_per_worker=args.threads, processes=True, dashboard_address=None,
        memory_limit=None, preload=["grader.grade.remote"])
    with tempfile.TemporaryDirectory(prefix="grader-bench-scale-") as tmp, cluster as dask:
        course = make_course(Path(tmp) / "class", args.assignment)
        notebooks = submissions(course, args.assignment, args.submissions)
        slots = _slots(notebooks)
        reference = reference_scores(Path(tmp) / "reference", args.assignment, notebooks, slots)
        place(course, args.assignment, notebooks)
        command = [grader, "grade", args.assignment]
        command += ["--workers", str(args.threads)] if args.local else \
            ["--cluster", dask.scheduler_address]
        seconds, samples = run_sampled(command, course.root, args.assignment)
        scores = totals(course, args.assignment)
    wrong = [s for i, s in enumerate(notebooks) if scores.get(s) != reference[i % slots]]
    path = "local" if args.local else "dask"
    print(f"{path}: {args.submissions} submissions in {seconds:.0f} s "
          f"({args.submissions / seconds:.2f} nb/s); scores right: "
          f"{args.submissions - len(wrong)}/{args.submissions}")
    print("grading process memory (RSS) by submissions recorded:")
    for quarter in (0.1, 0.25, 0.5, 0.75, 1.0):
        target = int(quarter * args.submissions)
        seen = [rss for done, rss in samples if done <= target]
        if seen:
            print(f"  {target:>6}  {seen[-1]:7.1f} MiB")
    peak = max(rss for _, rss in samples)
    settled = [rss for done, rss in samples if done >= 0.25 * args.submissions]
    if settled:
        print(f"  peak {peak:.1f} MiB; from a quarter of the class to the end: "
              f"{min(settled):.1f} to {max(settled):.1f} MiB")
    if wrong:
        sys.exit(f"{len(wrong)} wrong scores, e.g. {wrong[:5]}")


def _slots(notebooks: dict) -> int:
    """How many distinct notebooks the generator cycles through."""
    import json

    first = json.dumps(next(iter(notebooks.values())), sort_keys=True)
    for i, nb in enumerate(notebooks.values()):
        if i and json.dumps(nb, sort_keys=True) == first:
            return i
    return len(notebooks)


if __name__ == "__main__":
    main()
