"""``grader grade``: grade a whole class, with progress and a final table."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader.course import Course, CourseError
from grader.grade.kernel import Limits
from grader.grade.record import FAILED, GRADED, Outcome
from grader.grade.run import Settings, default_workers, grade_assignment
from grader.gradebook import database_option


def outcome_table(outcomes: list[Outcome], title: str) -> Table:
    """A rich table with one row per submission: score (after any late penalty), points
    awaiting a grader, status, why."""
    table = Table(title=title, title_justify="left")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("%", justify="right")
    table.add_column("pending", justify="right")
    table.add_column("status")
    table.add_column("notes", overflow="fold", max_width=70)
    for o in outcomes:
        score = max(0.0, o.score - o.late_penalty)  # the grade nbgrader export gives
        share = f"{100 * score / o.max_score:.0f}" if o.max_score else "-"
        style = {"failed": "red", "partial": "yellow"}.get(o.status, "green")
        pending = f"{o.pending:g}" if o.pending else ""
        notes = [*o.reasons, *o.events]
        if o.late_penalty:
            notes.insert(0, f"[yellow]late: penalty {o.late_penalty:g} "
                            f"({o.score:g} before it)[/]")
        if o.suspicious:
            notes.append(f"[magenta]suspicious ({len(o.suspicious)} flags, see the report)[/]")
        table.add_row(o.student, f"{score:g}/{o.max_score:g}", share, pending,
                      f"[{style}]{o.status}[/]", "; ".join(notes))
    return table


def warn_unisolated(statuses: Collection[str], console: Console, wanted: bool = True) -> None:
    """Say loudly when kernels ran without isolation: grades then rest on limits alone.

    ``statuses`` are the sandbox statuses the run's submissions recorded.
    """
    reasons = sorted({status for status in statuses if status and status != "isolated"})
    if reasons and wanted:
        console.print("[bold red]WARNING: grading kernels were not isolated[/] "
                      f"({'; '.join(reasons)}). Student code could read files of the course "
                      "and the network; only resource limits applied.")


def warn_uncontained(statuses: Collection[str], console: Console) -> None:
    """Say when kernels had no PID namespace: what they started was ended by their
    supervisor's hand, and they could signal processes outside their own.

    ``statuses`` are the containment statuses the run's submissions recorded.
    """
    reasons = sorted({status for status in statuses if status not in ("", "not started")
                      and not status.startswith("own PID namespace")})
    if reasons:
        console.print("[yellow]Note: grading kernels had no PID namespace of their own[/] "
                      f"({'; '.join(reasons)}). The processes they started were ended with "
                      "them by their supervisor, but they could signal other processes of "
                      "this user.")


# Past this many submissions the grade table lists only those not graded cleanly (and the
# flagged ones): the grading process then keeps nothing per submission graded as it should be.
TABLE_ROWS = 200


class Tally:
    """What the end of a run reports, counted as outcomes arrive."""

    def __init__(self) -> None:
        self.total = self.graded = self.unchanged = 0
        self.sandboxes: set[str] = set()
        self.containments: set[str] = set()

    def start(self, total: int) -> None:
        self.total = total

    def add(self, outcome: Outcome) -> None:
        self.graded += outcome.status == GRADED and not outcome.suspicious
        self.unchanged += outcome.unchanged
        if not outcome.unchanged:  # this run's kernels
            self.sandboxes.add(outcome.sandbox)
            self.containments.add(outcome.containment)

    def keep(self, outcome: Outcome) -> bool:
        """Whether the table needs ``outcome``."""
        return (self.total <= TABLE_ROWS or outcome.status != GRADED
                or bool(outcome.suspicious))


@click.command("grade")
@click.argument("assignment")
@click.option("--submissions", type=click.Path(path_type=Path), default=None,
              help="DIR/<student>/ASSIGNMENT/*.ipynb, or an LMS zip export "
                   "(default: submitted/ in the course directory).")
@click.option("--workers", type=click.IntRange(min=1), default=default_workers(),
              show_default=True, help="Notebooks executed at the same time (default: one more "
                                      "than there are cores).")
@click.option("--cell-timeout", type=click.IntRange(min=1), default=None,
              help="Seconds a cell may run (default: Execute.timeout in nbgrader_config.py).")
@click.option("--notebook-timeout", type=click.FloatRange(min=1), default=None,
              help="Seconds for a whole notebook, fresh kernels included (default: "
                   "Grading.notebook_timeout, or the cell timeout times the number of answer "
                   "cells plus two).")
@click.option("--memory-mb", type=click.IntRange(min=256), default=Limits.memory_mb,
              show_default=True, help="Memory limit of each grading kernel.")
@click.option("--disk-mb", type=click.IntRange(min=8), default=Limits.disk_mb,
              show_default=True, help="Everything a grading kernel may write, in total.")
@click.option("--sandbox/--no-sandbox", default=True, show_default=True,
              help="Isolate each kernel (no view of the course directory, no network, a user "
                   "of its own); without it, only resource limits apply.")
@click.option("--force", is_flag=True,
              help="Grade every submission again, even those unchanged since their last grade.")
@click.option("--cluster", metavar="ADDRESS", default=None,
              help="Grade on the workers of the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://host:8786; default: Grading.cluster in nbgrader_config.py, else "
                   "this machine; 'local' for this machine).")
@database_option
@click.option("--course", "course_dir", type=click.Path(file_okay=False), default=None,
              help="Course directory (default: the one containing the working directory).")
def grade_command(assignment: str, submissions: Path | None, workers: int,
                  cell_timeout: int | None, notebook_timeout: float | None, memory_mb: int,
                  disk_mb: int, sandbox: bool, force: bool, cluster: str | None,
                  database: str | None, course_dir: str | None) -> None:
    """Grade every submission of ASSIGNMENT into nbgrader's gradebook.

    Only submissions that are new or changed since their last complete grade are graded
    (--force grades all). Exits 0 when every submission was graded, 1 with the list of those
    that could not be.
    """
    console = Console(stderr=True)
    settings = Settings(workers=workers, cell_timeout=cell_timeout,
                        notebook_timeout=notebook_timeout,
                        limits=Limits(memory_mb=memory_mb, disk_mb=disk_mb), sandbox=sandbox,
                        force=force, cluster=cluster)
    progress = Progress(TextColumn("grading {task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                        transient=True)
    task = progress.add_task(assignment, total=None)
    seen = Tally()
    try:
        course = Course.find(course_dir, database)
        with progress:
            outcomes = grade_assignment(
                course, assignment, submissions, settings,
                on_start=lambda n: (seen.start(n), progress.update(task, total=n)),
                on_done=lambda o: (seen.add(o), progress.advance(task)),
                keep=seen.keep,
            )
    except CourseError as error:
        raise click.ClickException(str(error)) from error
    if seen.total <= TABLE_ROWS:
        title = f"{assignment}: {seen.total} submissions"
    else:
        title = (f"{assignment}: {seen.total} submissions, {seen.graded} graded cleanly; the "
                 f"{len(outcomes)} others below (grader report shows every student)")
    Console().print(outcome_table(outcomes, title))
    if seen.unchanged:
        console.print(f"{seen.unchanged} of {seen.total} submission(s) unchanged since their "
                      "last grade were not graded again (--force grades them).")
    warn_unisolated(seen.sandboxes, console, sandbox)
    warn_uncontained(seen.containments, console)
    failed = [o for o in outcomes if o.status == FAILED]
    if failed:
        console.print(f"[red]{len(failed)} submission(s) could not be graded:[/]")
        for o in failed:
            console.print(f"  {o.student}: {'; '.join(o.reasons)}")
        raise SystemExit(1)
