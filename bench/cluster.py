"""Benchmark: ``grader grade`` on this machine's cores against the same on a Dask cluster.

The Dask cluster is a ``distributed.LocalCluster`` on the same machine, with one worker process
running as many grading threads as the local path grades notebooks at once (and the grader's
modules imported at its start, ``--preload grader.grade.remote``, as deployed): the same cores,
so the ratio is what the Dask path costs (scheduler, task traffic, results travelling back)
over the local one. Both grade the same generated class (bench/grading.py's generator) with
the ``grader grade`` command, and must give every student the same score.

    .venv/bin/python bench/cluster.py [--submissions 120] [--cooldown 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from grading import REPO, print_table, same_class, timed, totals  # noqa: E402

from grader.course import Course  # noqa: E402
from grader.grade.run import default_workers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=120)
    parser.add_argument("--threads", type=int, default=default_workers(),
                        help="notebooks at once, both paths (default: the local default)")
    parser.add_argument("--cooldown", type=float, default=30.0,
                        help="seconds of rest before each timed run (default: 30)")
    parser.add_argument("--assignment", action="append", default=None)
    args = parser.parse_args()
    from distributed import LocalCluster

    grader = str(Path(sys.executable).parent / "grader")
    rows = []
    # as a deployed cluster's workers start: with the grader's modules imported (--preload)
    with LocalCluster(n_workers=1, threads_per_worker=args.threads, processes=True,
                      dashboard_address=None, memory_limit=None,
                      preload=["grader.grade.remote"]) as cluster:
        for assignment in args.assignment or Course(REPO).assignments():
            with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
                local, dask = same_class(Path(tmp), assignment, args.submissions,
                                         ("local", "dask"))
                t_local, _ = timed([grader, "grade", assignment, "--workers", str(args.threads)],
                                   local.root, args.cooldown)
                t_dask, _ = timed([grader, "grade", assignment, "--cluster",
                                   cluster.scheduler_address], dask.root, args.cooldown)
                same = totals(local, assignment) == totals(dask, assignment)
                rows.append((assignment, args.submissions, t_local, t_dask, same))
                print(f"{assignment}: local {t_local:.1f} s, dask {t_dask:.1f} s, "
                      f"throughput ratio {t_local / t_dask:.2f}, same scores: {same}",
                      flush=True)
    print()
    print_table(rows, "local", "dask")
    if not all(row[-1] for row in rows):
        sys.exit("the two paths disagree on some scores")


if __name__ == "__main__":
    main()
