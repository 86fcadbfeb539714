"""Benchmark: how long the hidden tests of a whole solution notebook take, in-process.

Every item's hidden part runs against the instructor's solution
(:class:`grader.author.notebook.Assignment`; no kernel, no bridge: the hidden tests' own cost,
with the student's functions called directly), for every assignment of the course. Prints
the median over ``--repeats`` runs per assignment and its slowest items; ``--compare DIR``
also times another checkout of the repository (its hidden tests and solutions, in a
subprocess) and prints the ratio.

    .venv/bin/python bench/hidden_tests.py [--repeats 7] [--compare ../before]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The repository whose course is timed: this one, or the checkout named by $GRADER_REPO
# (--compare times an older checkout that way).
REPO = Path(os.environ.get("GRADER_REPO") or Path(__file__).resolve().parents[1])


def measure(repeats: int) -> dict[str, dict[str, float]]:
    """Median seconds per item, per assignment."""
    from grader.author.notebook import Assignment
    from grader.course import Course

    course = Course(REPO)
    result = {}
    for name in course.assignments():
        assignment = Assignment(course, name)
        items = assignment.items()
        space = assignment.namespace()
        times: dict[str, list[float]] = {}
        with contextlib.redirect_stdout(io.StringIO()):  # the solution's prints
            for _ in range(repeats):
                for item in items:
                    start = time.perf_counter()
                    failed = assignment.run_item(item, space)
                    times.setdefault(item.grade_id, []).append(time.perf_counter() - start)
                    if failed:
                        sys.exit(f"{name}: the solution fails {item.grade_id}: {failed}")
        result[name] = {k: statistics.median(v) for k, v in times.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compare", type=Path, help="another checkout to time the same way")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    ours = measure(args.repeats)
    if args.json:
        print(json.dumps(ours))
        return
    theirs = None
    if args.compare:
        other = str(args.compare.resolve())
        out = subprocess.run([sys.executable, __file__, "--json", "--repeats",
                              str(args.repeats)], check=True, capture_output=True, text=True,
                             env={"PYTHONPATH": other, "GRADER_REPO": other}, cwd=other)
        theirs = json.loads(out.stdout)
    for assignment, items in ours.items():
        total = sum(items.values())
        line = f"{assignment:<15}{1e3 * total:8.1f} ms"
        if theirs:
            if assignment not in theirs:
                print(line)
                continue
            before = sum(theirs[assignment].values())
            line += f"   (other checkout {1e3 * before:.1f} ms, ratio {total / before:.2f}x)"
        print(line)
        for grade_id, seconds in sorted(items.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {grade_id:<28}{1e3 * seconds:8.2f} ms")


if __name__ == "__main__":
    main()
