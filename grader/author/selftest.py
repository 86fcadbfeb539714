"""``grader check ASSIGNMENT``: an assignment checked as written, before students see it.

For any assignment of any course, derived from its notebook and its spec alone:

1. **the spec and the notebook agree**: every test cell's hidden part grades items the spec
   has, every item is graded by a test cell, and every student name an item uses is defined
   by an answer cell;
2. **in-process**, quickly: the solution earns every item, passing every numerical gradient
   check with room to spare (:data:`MARGIN`), the untouched release earns none, and a
   gradient obtained by finite differences (every step and stencil of
   :data:`grader.author.attacks.FD_STEPS`) loses every gradient item;
3. **release**: ``release/`` is what nbgrader makes of the source, and nothing secret is in it;
4. **with real kernels**, in a scratch copy of the course: the solution notebook earns every
   autograded point (written answers pending), the untouched release earns nothing;
5. **mutation analysis** of the solution's graded functions (:mod:`grader.author.mutants`).

Each finding names the assignment and what to change; the command exits 1 if there is one.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import nbformat
from rich.console import Console

from grader import checks
from grader.author.attacks import FD_STEPS, finite_difference
from grader.author.items import Gradient
from grader.author.leaks import check_release
from grader.author.notebook import Assignment
from grader.course import Course, CourseError
from grader.hidden import graded_items

#: How far below its tolerance the solution's numerical gradient checks must stay: a correct
#: answer written another way rounds differently, and must pass them as surely.
MARGIN = 5.0


@dataclass
class Report:
    """What the check of one assignment found, step by step."""

    assignment: str
    steps: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return [p for found in self.steps.values() for p in found]


def spec_problems(assignment: Assignment) -> list[str]:
    """Where the notebook and the spec disagree (a course may also write its hidden tests as
    plain code, without a spec: nothing is then required of one)."""
    found = []
    spec = assignment.spec
    graded = set()
    defined = set(assignment.namespace())
    for item in assignment.items():
        for item_id in graded_items(item.code):
            if spec is None:
                found.append(f"{item.grade_id}: grades {item_id!r}, but "
                             f"{assignment.folder}/hidden/spec.py does not exist")
            elif item_id not in spec:
                found.append(f"{item.grade_id}: grades {item_id!r}, which the spec does not "
                             f"have (it has {', '.join(spec.ids())})")
            graded.add(item_id)
        missing = [name for name in item.uses if name not in defined]
        if missing:
            found.append(f"{item.grade_id}: uses {', '.join(missing)}, which no answer cell "
                         "of the solution defines")
    for item_id in spec.ids() if spec is not None else []:
        if item_id not in graded:
            found.append(f"{item_id}: no test cell grades this item")
    return found


def _run_all(assignment: Assignment, space: dict,
             made: dict[str, list] | None = None) -> dict[str, str | None]:
    """Why each test cell fails (None: it passes); in ``made``, by cell, the numerical
    gradient checks it made."""
    results = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the solution's prints
        for item in assignment.items():
            with checks.gradient_checks() as made_here:
                results[item.grade_id] = assignment.run_item(item, space)
            if made is not None:
                made[item.grade_id] = made_here
    return results


def _margin_problems(made: dict[str, list]) -> list[str]:
    found = []
    for grade_id, checked in made.items():
        for what, result, tol in checked:
            if tol / MARGIN < result.max_rel_error <= tol:
                found.append(f"{grade_id}: the solution passes the numerical check of {what} "
                             f"with little room (relative error {result.max_rel_error:.1e}, "
                             f"tolerance {tol:.0e}): an answer written another way may fail "
                             "it; check at moderate scales and away from kinks")
                break
    return found


def in_process_problems(assignment: Assignment) -> list[str]:
    """The solution earns everything (with room to spare), the release nothing, a numerical
    gradient no gradient item (all in this process, without kernels)."""
    found = []
    made: dict[str, list] = {}
    failing = {g: why for g, why in _run_all(assignment, assignment.namespace(), made).items()
               if why}
    found += [f"the solution fails {g}: {why}" for g, why in failing.items()]
    found += _margin_problems(made)
    release = _release_cells(assignment)
    if release is not None:
        space: dict = {"__name__": "__main__"}
        for code in release:  # cell by cell, as a kernel runs them: a stub raises, and on
            try:
                exec(compile(code, "<release>", "exec"), space)  # noqa: S102 - the release
            except Exception:  # noqa: S110 - an unanswered cell raises NotImplementedError
                pass
        passing = [g for g, why in _run_all(assignment, space).items() if why is None]
        found += [f"the untouched release earns {g}: its test passes without an answer"
                  for g in passing]
    spec = assignment.spec
    for item_id in spec.ids() if spec is not None else []:
        registered = spec[item_id]
        fn = registered.function
        parts = getattr(registered.item, "parts", (registered.item,))
        if fn is None or not fn.gradients or not any(isinstance(p, Gradient) for p in parts):
            continue
        for h, stencil in FD_STEPS:
            answer = finite_difference(fn, h, stencil)
            try:
                registered.run(answer)
            except AssertionError:
                continue
            found.append(f"{item_id}: a gradient by finite differences ({stencil}, h={h:g}) "
                         "earns it; add inputs where only the derived formula is exact "
                         "(entries of about 1e-10 next to a large loss, margins next to a kink)")
            break
    return found


def _release_cells(assignment: Assignment) -> list[str] | None:
    """The release's setup and answer cells (stubs and all)."""
    path = assignment.course.release / assignment.name / f"{assignment.name}.ipynb"
    if not path.is_file():
        return None
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("grade") and (
                meta.get("solution") or meta.get("grade_id") == "setup"):
            parts.append(cell.source)
    return parts


def kernel_problems(course: Course, name: str) -> list[str]:
    """The solution notebook and the untouched release, graded for real in a scratch copy."""
    from grader.grade.results import item_results
    from grader.grade.run import Settings, grade_assignment
    from grader.release import release_copy

    found = []
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        scratch = release_copy(course, [name], Path(tmp) / "course")
        submitted = Path(tmp) / "submitted"
        for student, path in (("solution", course.source_notebooks(name)[0]),
                              ("release", scratch.release / name / f"{name}.ipynb")):
            target = submitted / student / name / f"{name}.ipynb"
            target.parent.mkdir(parents=True)
            target.write_bytes(path.read_bytes())
        for outcome in grade_assignment(scratch, name, submissions=submitted,
                                        settings=Settings(workers=2)):
            items = item_results(scratch.db_url, scratch.autograded / outcome.student / name,
                                 name, outcome.student)
            if outcome.reasons:
                found.append(f"the {outcome.student} notebook: {'; '.join(outcome.reasons)}")
            for item in items:
                if outcome.student == "solution" and not item.manual and \
                        item.status != "passed":
                    found.append(f"the solution notebook loses {item.grade_id}: {item.message}")
                if outcome.student == "solution" and item.manual and item.status != "pending":
                    found.append(f"{item.grade_id}: the solution's written answer should await "
                                 f"grading, it is {item.status}")
                if outcome.student == "release" and item.score:
                    found.append(f"the untouched release earns {item.grade_id}")
    return found


def check(course: Course, name: str, kernels: bool = True, mutants: bool = True,
          sample: int = 0, progress: Callable[[str], None] | None = None) -> Report:
    """Every check of assignment ``name``; see the module's description."""
    report = Report(name)
    assignment = Assignment(course, name)
    steps: list[tuple[str, Callable[[], list[str]]]] = [
        ("spec", lambda: spec_problems(assignment)),
        ("in-process", lambda: in_process_problems(assignment)),
        ("release", lambda: [str(p) for p in check_release(course, name)]),
    ]
    if kernels:
        steps.append(("kernels", lambda: kernel_problems(course, name)))
    if mutants:
        steps.append(("mutants", lambda: _mutant_problems(assignment, sample)))
    for step, run in steps:
        if progress:
            progress(f"{name}: {step}")
        try:
            report.steps[step] = run()
        except ImportError as error:  # its hidden folder cannot be loaded: nothing else can run
            report.steps[step] = [str(error)]
            break
        except Exception as error:  # noqa: BLE001 - said as a finding of this step
            report.steps[step] = [f"{type(error).__name__}: {error}"]
    return report


def _mutant_problems(assignment: Assignment, sample: int) -> list[str]:
    from grader.author.mutants import analyse

    analysis = analyse([assignment], sample=sample, jobs=2)
    if not analysis.mutants and not analysis.problems:
        return ["no mutants were generated: no item grades a function of the solution"]
    return analysis.problems  # a survivor is one: the score is then below 100%


@click.command("check")
@click.argument("assignments", nargs=-1)
@click.option("--no-kernels", is_flag=True, help="Skip grading the solution and the release "
                                                  "with real kernels.")
@click.option("--no-mutants", is_flag=True, help="Skip the mutation analysis.")
@click.option("--sample", type=click.IntRange(min=0), default=0,
              help="Grade this many mutants per function (default: all).")
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def check_command(assignments: tuple[str, ...], no_kernels: bool, no_mutants: bool,
                  sample: int, course_dir: str | None) -> None:
    """Check every assignment, or ASSIGNMENTS, as written: spec, solution, release, leaks,
    real kernels and mutation analysis. Exits 1 if anything is wrong."""
    console = Console()
    try:
        course = Course.find(course_dir)
        names = [course.check_assignment(a) for a in assignments] or course.assignments()
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    failed = False
    for name in names:
        with console.status(f"checking {name}") as status:
            report = check(course, name, not no_kernels, not no_mutants, sample,
                           progress=lambda text, status=status: status.update(f"checking {text}"))
        for step, found in report.steps.items():
            mark = "[green]ok[/]" if not found else f"[red]{len(found)} problem(s)[/]"
            console.print(f"{name:<20} {step:<11} {mark}")
            for problem in found:
                console.print(f"    {problem}", highlight=False, markup=False)
        failed |= bool(report.problems)
    if failed:
        raise SystemExit(1)
