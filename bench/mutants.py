"""Mutation analysis of the hidden tests: how many wrong answers do they catch?

Every graded function of the instructor's solution (the answer cells of
``source/<assignment>/<assignment>.ipynb``) is mutated, once per mutant, by mutmut's own
operators (:mod:`mutmut.mutation.mutators`, run through mutmut's mutation visitor) and by the
operators of :mod:`mutation_operators` for what students get wrong and mutmut cannot say. Each
mutant is then graded as a student's answer: every item of the notebook runs its hidden test
in-process against the solution with that one function replaced (a forked child per mutant,
with a memory and time limit). A mutant is

* **killed** when it loses at least one item,
* **equivalent** when it is listed in ``bench/equivalent_mutants.txt`` (reviewed, one line of
  reason each): it computes what the contract asks for every valid input,
* **survived** otherwise: a wrong answer that would earn full marks.

The mutation score of a function is killed / (mutants - equivalent). The run fails (exit 1)
when a mutant survives, when a listed equivalent mutant is killed or no longer exists (the
list is stale), or when a mutant loses an item that does not use its function. It also writes
every mutant, its diff and the items it loses to ``--out`` (JSON).

    .venv/bin/python bench/mutants.py [--assignment A] [--function F] [--sample K] [--jobs 2]

``make mutants`` runs all of it; CI runs a deterministic sample (``--sample``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutation_operators  # noqa: E402
import notebook_items  # noqa: E402

ASSIGNMENTS = ("cross_entropy", "svm_hinge")
EQUIVALENT = Path(__file__).resolve().parent / "equivalent_mutants.txt"
ITEM_SECONDS = 20  # a mutant that makes one item run longer has lost it
MEMORY = 4 * 2**30


@dataclass
class Mutant:
    """One changed version of one graded function."""

    assignment: str
    function: str
    operator: str  # "mutmut" or the name of one of our operators
    diff: str  # "old line  ->  new line" (changed lines only)
    source: str  # the whole mutated function
    lost: dict[str, str] = field(default_factory=dict)  # item -> why it failed
    status: str = ""

    @property
    def key(self) -> str:
        return f"{self.assignment} | {self.function} | {self.diff}"


def _diff(before: str, after: str) -> str:
    # The solution has no "#" inside strings: everything after one is a comment.
    old = [re.sub(r"\s*#.*$", "", line) for line in before.splitlines()]
    new = [re.sub(r"\s*#.*$", "", line) for line in after.splitlines()]
    removed, added = [], []
    for line in difflib.ndiff(old, new):
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
    return " / ".join(removed) + "  ->  " + " / ".join(added)


def generate(assignment: str, functions: set[str]) -> list[Mutant]:
    """Every mutant of the graded `functions` of the assignment's solution, deduplicated."""
    from mutmut.mutation.file_mutation import MutationVisitor, deep_replace
    from mutmut.mutation.mutators import mutation_operators as mutmut_operators
    from mutmut.mutation.pragma_handling import IgnoredCode

    source = notebook_items.solution_source(assignment)
    wrapper = MetadataWrapper(cst.parse_module(source))
    ignored = IgnoredCode(set(), set(), set())  # the solution has no "pragma: no mutate"
    tables = [("mutmut", list(mutmut_operators))]
    tables += [(op.__name__.removeprefix("operator_"), [(kind, op)])
               for kind, op in mutation_operators.OPERATORS]
    mutants, seen = [], set()
    for origin, operators in tables:
        visitor = MutationVisitor(operators, ignored)
        wrapper.visit(visitor)
        for mutation in visitor.mutations:
            function = mutation.contained_by_top_level_function
            if function is None or function.name.value not in functions:
                continue
            changed = deep_replace(function, mutation.original_node, mutation.mutated_node)
            before = wrapper.module.code_for_node(function)
            after = wrapper.module.code_for_node(changed)
            if after in seen or after == before:
                continue
            seen.add(after)
            mutants.append(Mutant(assignment, function.name.value, origin,
                                  _diff(before, after), after))
    return mutants


def grade(mutant: Mutant, items: list[notebook_items.Item], source: str) -> dict[str, str]:
    """The items the mutant loses (item -> reason), graded in this process."""
    space = notebook_items.namespace(source)
    try:
        exec(compile(mutant.source, f"<mutant of {mutant.function}>", "exec"),  # noqa: S102
             space)
    except Exception as error:  # a mutant that does not even define its function
        return {item.grade_id: f"does not compile: {error}" for item in items}

    def overrun(signum, frame):
        raise TimeoutError(f"took more than {ITEM_SECONDS} s")

    signal.signal(signal.SIGALRM, overrun)
    lost = {}
    for item in items:
        signal.alarm(ITEM_SECONDS)
        try:
            why = notebook_items.run_item(item, space)
        except (TimeoutError, MemoryError, RecursionError) as error:
            why = f"{type(error).__name__}: {error}"
        finally:
            signal.alarm(0)
        if why is not None:
            lost[item.grade_id] = why
    return lost


def grade_all(mutants: list[Mutant], jobs: int, progress: bool = True) -> None:
    """Grade every mutant in a forked child of its own, `jobs` at a time."""
    sources = {a: notebook_items.solution_source(a) for a in {m.assignment for m in mutants}}
    items = {a: notebook_items.items(a) for a in sources}
    running: dict[int, tuple[Mutant, str]] = {}
    queue = list(mutants)
    done = 0
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        while queue or running:
            while queue and len(running) < jobs:
                mutant = queue.pop(0)
                out = os.path.join(tmp, f"{len(queue)}.json")
                pid = os.fork()
                if pid == 0:  # the child: grade, write, leave without cleanup
                    code = 0
                    try:
                        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
                        lost = grade(mutant, items[mutant.assignment], sources[mutant.assignment])
                        Path(out).write_text(json.dumps(lost))
                    except BaseException:  # noqa: BLE001 - whatever happens, leave
                        code = 1
                    os._exit(code)
                running[pid] = (mutant, out)
            pid, _ = os.wait()
            mutant, out = running.pop(pid)
            try:
                mutant.lost = json.loads(Path(out).read_text())
            except (OSError, ValueError):
                mutant.lost = {"(all)": "the grading process died"}
            done += 1
            if progress and sys.stderr.isatty():
                print(f"\r{done}/{len(mutants)} mutants graded", end="", file=sys.stderr)
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)


def read_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """The reviewed list: ``assignment | function | old -> new | reason`` per line."""
    listed = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 4 or not parts[3]:
            raise SystemExit(f"{path}:{number}: expected 'assignment | function | diff | reason'")
        listed[" | ".join(parts[:3])] = parts[3]
    return listed


def classify(mutants: list[Mutant], equivalent: dict[str, str]) -> list[str]:
    """Set each mutant's status; return the problems that fail the run."""
    problems = []
    keys = set()
    for mutant in mutants:
        keys.add(mutant.key)
        listed = mutant.key in equivalent
        if mutant.lost and listed:
            problems.append(f"listed as equivalent but killed: {mutant.key}")
        mutant.status = "killed" if mutant.lost else "equivalent" if listed else "survived"
        if mutant.status == "survived":
            problems.append(f"survived: {mutant.key}")
    return problems


def leaks(mutants: list[Mutant]) -> list[str]:
    """Mutants that lose an item which does not use their function."""
    found = []
    for assignment in {m.assignment for m in mutants}:
        source = notebook_items.solution_source(assignment)
        uses = {item.grade_id: notebook_items.functions_used(item, source)
                for item in notebook_items.items(assignment)}
        for mutant in (m for m in mutants if m.assignment == assignment):
            for item in mutant.lost:
                if mutant.function not in uses.get(item, set()):
                    found.append(f"{mutant.key} loses {item}, which does not use "
                                 f"{mutant.function}")
    return found


def graded_functions(assignment: str) -> set[str]:
    source = notebook_items.solution_source(assignment)
    defined = notebook_items.calls(source)
    return {name for item in notebook_items.items(assignment) for name in item.uses
            if name in defined}


def table(mutants: list[Mutant]) -> list[str]:
    rows = [f"{'assignment':<15}{'function':<26}{'mutants':>8}{'killed':>8}{'equiv.':>8}"
            f"{'survived':>9}{'score':>8}"]
    groups: dict[tuple[str, str], list[Mutant]] = {}
    for mutant in mutants:
        groups.setdefault((mutant.assignment, mutant.function), []).append(mutant)
    totals = [0, 0, 0, 0]
    for (assignment, function), group in sorted(groups.items()):
        counts = [len(group)] + [sum(m.status == s for m in group)
                                 for s in ("killed", "equivalent", "survived")]
        totals = [t + c for t, c in zip(totals, counts)]
        rows.append(_row(assignment, function, counts))
    rows.append(_row("all", "", totals))
    return rows


def _row(assignment: str, function: str, counts: list[int]) -> str:
    total, killed, equivalent, survived = counts
    score = killed / (total - equivalent) if total > equivalent else 1.0
    return (f"{assignment:<15}{function:<26}{total:>8}{killed:>8}{equivalent:>8}{survived:>9}"
            f"{100 * score:>7.1f}%")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", action="append", choices=ASSIGNMENTS)
    parser.add_argument("--function", action="append", help="only the mutants of this function")
    parser.add_argument("--sample", type=int, default=0,
                        help="grade this many mutants per function, drawn with --seed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("reports/mutants.json"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    mutants = []
    for assignment in args.assignment or ASSIGNMENTS:
        functions = graded_functions(assignment)
        if args.function:
            functions &= set(args.function)
        mutants += generate(assignment, functions)
    if args.sample:
        rng = random.Random(args.seed)
        chosen = []
        for key in sorted({(m.assignment, m.function) for m in mutants}):
            group = [m for m in mutants if (m.assignment, m.function) == key]
            chosen += rng.sample(group, min(args.sample, len(group)))
        mutants = chosen
    # The unmutated solution must earn every item, or nothing below means anything.
    for assignment in {m.assignment for m in mutants}:
        source = notebook_items.solution_source(assignment)
        space = notebook_items.namespace(source)
        failing = {i.grade_id: why for i in notebook_items.items(assignment)
                   if (why := notebook_items.run_item(i, space)) is not None}
        if failing:
            print(f"the solution of {assignment} fails {failing}", file=sys.stderr)
            return 1
    grade_all(mutants, max(1, args.jobs))
    equivalent = read_equivalent()
    problems = classify(mutants, equivalent) + leaks(mutants)
    if not args.sample and not args.function:
        present = {m.key for m in mutants}
        chosen = set(args.assignment or ASSIGNMENTS)
        problems += [f"listed as equivalent but no longer generated: {key}"
                     for key in equivalent if key.split(" | ")[0] in chosen and key not in present]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([{k: v for k, v in asdict(m).items() if k != "source"}
                                    for m in mutants], indent=1))
    print("\n".join(table(mutants)))
    print(f"\n{len(mutants)} mutants in {time.perf_counter() - start:.0f} s; "
          f"details in {args.out}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
