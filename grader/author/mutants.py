"""Mutation analysis of an assignment's hidden tests: how many wrong answers do they catch?

Every graded function of the instructor's solution (the answer cells of the source notebook
that an item uses) is mutated, once per mutant, by mutmut's own operators
(:mod:`mutmut.mutation.mutators`, run through mutmut's mutation visitor) and by the operators
of :mod:`grader.author.mutation_operators` for what students get wrong and mutmut cannot say.
Each mutant is then graded as a student's answer: every item of the notebook runs its hidden
test in-process against the solution with that one function replaced (a forked child per
mutant, with a memory and time limit). A mutant is

* **killed** when it loses at least one item,
* **equivalent** when it is listed in the assignment's
  ``hidden/equivalent_mutants.txt`` (reviewed, one line of reason each): it computes what the
  contract asks for every valid input,
* **survived** otherwise: a wrong answer that would earn full marks.

The mutation score of a function is killed / (mutants - equivalent). The run fails when a
mutant survives, when a listed equivalent mutant is killed or no longer exists (the list is
stale), or when a mutant loses an item that does not use its function. It works for any
assignment of any course: ``grader mutants [ASSIGNMENT ...]`` (and ``grader check``).
"""

from __future__ import annotations

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

import click

from grader.author.notebook import Assignment, Item, calls, functions_used
from grader.course import Course, CourseError
from grader.hidden import EQUIVALENT_MUTANTS as EQUIVALENT
from grader.hidden import FOLDER

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


class MutmutMissing(RuntimeError):
    """Mutation analysis needs mutmut and libcst (``pip install 'grader[author]'``)."""


def generate(assignment: Assignment, functions: set[str]) -> list[Mutant]:
    """Every mutant of the graded `functions` of the assignment's solution, deduplicated."""
    try:
        import libcst as cst
        from libcst.metadata import MetadataWrapper
        from mutmut.mutation.file_mutation import MutationVisitor, deep_replace
        from mutmut.mutation.mutators import mutation_operators as mutmut_operators
        from mutmut.mutation.pragma_handling import IgnoredCode

        from grader.author import mutation_operators
    except ImportError as error:
        raise MutmutMissing(f"mutation analysis needs mutmut and libcst ({error}); install "
                            "them with `pip install 'grader[author]'`") from None

    source = assignment.solution_source()
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
            mutants.append(Mutant(assignment.name, function.name.value, origin,
                                  _diff(before, after), after))
    return mutants


def grade(mutant: Mutant, assignment: Assignment, items: list[Item]) -> dict[str, str]:
    """The items the mutant loses (item -> reason), graded in this process."""
    # a namespace of its own, so that the solution's other functions call the mutant
    space = assignment.namespace()
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
            why = assignment.run_item(item, space)
        except (TimeoutError, MemoryError, RecursionError) as error:
            why = f"{type(error).__name__}: {error}"
        finally:
            signal.alarm(0)
        if why is not None:
            lost[item.grade_id] = why
    return lost


def grade_all(mutants: list[Mutant], assignments: dict[str, Assignment], jobs: int,
              progress: bool = True) -> None:
    """Grade every mutant in a forked child of its own, `jobs` at a time."""
    # made once, before forking (the hidden tests' problems are made by the solution's run)
    items = {name: a.items() for name, a in assignments.items()}
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
                        name = mutant.assignment
                        lost = grade(mutant, assignments[name], items[name])
                        Path(out).write_text(json.dumps(lost))
                    except BaseException:  # noqa: BLE001 - whatever happens, leave
                        code = 1
                    os._exit(code)
                running[pid] = (mutant, out)
            pid = _next_done(running)
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


def _next_done(running: dict[int, object]) -> int:
    """The first of ``running``'s children to end (only ours: the process may have others)."""
    while True:
        for pid in running:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return pid
        time.sleep(0.005)


def read_equivalent(assignment: Assignment) -> dict[str, str]:
    """The reviewed list of an assignment: ``function | old -> new | reason`` per line, as
    ``{"assignment | function | old -> new": reason}`` (empty when it has none)."""
    path = assignment.folder / FOLDER / EQUIVALENT
    listed: dict[str, str] = {}
    if not path.is_file():
        return listed
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 3 or not parts[2]:
            raise ValueError(f"{path}:{number}: expected 'function | diff | reason'")
        listed[" | ".join([assignment.name, *parts[:2]])] = parts[2]
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


def leaks(mutants: list[Mutant], assignments: dict[str, Assignment]) -> list[str]:
    """Mutants that lose an item which does not use their function."""
    found = []
    for name in {m.assignment for m in mutants}:
        source = assignments[name].solution_source()
        uses = {item.grade_id: functions_used(item, source)
                for item in assignments[name].items()}
        for mutant in (m for m in mutants if m.assignment == name):
            for item in mutant.lost:
                if mutant.function not in uses.get(item, set()):
                    found.append(f"{mutant.key} loses {item}, which does not use "
                                 f"{mutant.function}")
    return found


def graded_functions(assignment: Assignment) -> set[str]:
    """The solution's functions some item grades."""
    defined = calls(assignment.solution_source())
    return {name for item in assignment.items() for name in item.uses if name in defined}


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


@dataclass
class Analysis:
    """The result of a mutation analysis: every mutant, and what fails the run."""

    mutants: list[Mutant]
    problems: list[str]
    seconds: float

    def table(self) -> list[str]:
        return table(self.mutants)


def analyse(assignments: list[Assignment], functions: set[str] | None = None,
            sample: int = 0, seed: int = 0, jobs: int = 1) -> Analysis:
    """Generate and grade the mutants of ``assignments``' graded functions.

    Parameters
    ----------
    assignments : list of Assignment
        The assignments.
    functions : set of str, optional
        Only the mutants of these functions.
    sample : int
        Grade this many mutants per function, drawn with ``seed`` (0: all).
    jobs : int
        Mutants graded at once.
    """
    start = time.perf_counter()
    by_name = {a.name: a for a in assignments}
    mutants: list[Mutant] = []
    problems: list[str] = []
    for assignment in assignments:
        chosen = graded_functions(assignment)
        if functions:
            chosen &= set(functions)
        # The unmutated solution must earn every item, or nothing below means anything.
        space = assignment.namespace()
        failing = {i.grade_id: why for i in assignment.items()
                   if (why := assignment.run_item(i, space)) is not None}
        if failing:
            problems.append(f"the solution of {assignment.name} fails {failing}")
            continue
        mutants += generate(assignment, chosen)
    if sample:
        rng = random.Random(seed)
        picked = []
        for key in sorted({(m.assignment, m.function) for m in mutants}):
            group = [m for m in mutants if (m.assignment, m.function) == key]
            picked += rng.sample(group, min(sample, len(group)))
        mutants = picked
    grade_all(mutants, by_name, max(1, jobs))
    equivalent = {k: v for a in assignments for k, v in read_equivalent(a).items()}
    problems += classify(mutants, equivalent) + leaks(mutants, by_name)
    if not sample and not functions:
        present = {m.key for m in mutants}
        problems += [f"listed as equivalent but no longer generated: {key}"
                     for key in equivalent if key not in present]
    return Analysis(mutants, problems, time.perf_counter() - start)


def write_report(analysis: Analysis, out: Path) -> None:
    """Every mutant, its diff and the items it loses, as JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{k: v for k, v in asdict(m).items() if k != "source"}
                               for m in analysis.mutants], indent=1))


@click.command("mutants")
@click.argument("assignments", nargs=-1)
@click.option("--function", "functions", multiple=True,
              help="Only the mutants of this function (repeatable).")
@click.option("--sample", type=click.IntRange(min=0), default=0,
              help="Grade this many mutants per function, drawn with --seed (default: all).")
@click.option("--seed", type=int, default=0, help="Seed of --sample.")
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1,
              help="Mutants graded at once (default: one per CPU core).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("reports/mutants.json"),
              help="Every mutant with the items it loses, as JSON.")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def mutants_command(assignments: tuple[str, ...], functions: tuple[str, ...], sample: int,
                    seed: int, jobs: int, out: Path, course_dir: str | None) -> None:
    """Mutation analysis of the hidden tests of every assignment, or of ASSIGNMENTS.

    Exits 1 when a mutant survives, a listed equivalent mutant is killed or stale, or a
    mutant loses an item that does not use its function.
    """
    try:
        course = Course.find(course_dir)
        names = [course.check_assignment(a) for a in assignments] or course.assignments()
        analysis = analyse([Assignment(course, name) for name in names], set(functions),
                           sample, seed, jobs)
    except (CourseError, MutmutMissing, ValueError) as error:
        raise click.ClickException(str(error)) from error
    target = out if out.is_absolute() else course.root / out
    write_report(analysis, target)
    click.echo("\n".join(analysis.table()))
    click.echo(f"\n{len(analysis.mutants)} mutants in {analysis.seconds:.0f} s; details in "
               f"{target}")
    for problem in analysis.problems:
        click.echo(problem)
    if analysis.problems:
        raise SystemExit(1)
