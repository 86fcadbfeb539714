"""Grade every submission of an assignment: prepare, execute in parallel, record.

Workers read, sanitize (reading the gradebook) and execute notebooks in fresh kernels, in
parallel; results come back here to be written one at a time. One submission's failure is
recorded and never stops the others.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader.course import Course
from grader.grade import leftovers
from grader.grade.discover import Submission, find_submissions, unpack_zip
from grader.grade.execute import Budget, mark_unexecuted
from grader.grade.fingerprint import assignment_version, submission_fingerprint
from grader.grade.kernel import Limits
from grader.grade.record import (
    FAILED,
    PARTIAL,
    Outcome,
    Recorder,
    notebook_names,
    unreadable_stand_in,
)
from grader.grade.rows import scores
from grader.grade.sanitize import DamagedNotebook, read_notebook, released_cells, sanitize
from grader.grade.scheduler import Scheduler
from grader.grade.snapshot import copy_assignment
from grader.grade.template import notebook_imports
from grader.hidden import FOLDER as HIDDEN
from grader.hidden import folder_files
from grader.late import fingerprint as late_fingerprint


def default_workers() -> int:
    """Notebooks graded at once by default: one more than there are cores.

    An execution is a worker and its kernel taking turns, with a message round trip at every
    hand-over; one extra execution keeps the cores busy through those waits (measured on two
    cores: 3 at once grade a class 10-15% faster than 2, and 4 no faster than 3).
    """
    return (os.cpu_count() or 1) + 1


@dataclass
class Settings:
    """How to grade; what is left None comes from ``c.Grading`` in ``nbgrader_config.py``.

    Parameters
    ----------
    workers : int
        Notebooks executed at once (default: :func:`default_workers`).
    cell_timeout : int or None
        Seconds a cell may run before it is interrupted (default: ``Execute.timeout``).
    notebook_timeout : float or None
        Seconds for a whole notebook (default: ``Grading.notebook_timeout``, or enough for
        every answer cell's function to hang once: the cell timeout times the number of
        answer cells plus two).
    restarts : int or None
        Fresh kernels a notebook may get after its kernel died (default:
        ``Grading.restarts``, or 3).
    limits : Limits
        Resource limits of each grading kernel.
    sandbox : bool
        Isolate each kernel: no view of the course directory, no network, its own user.
    force : bool
        Grade every submission, even those unchanged since their last complete grade.
    cluster : str, Dask cluster or None
        Address of a Dask scheduler whose workers grade instead of this machine, or a Dask
        cluster object (default: ``Grading.cluster``; ``"local"`` or nothing: this machine).
    """

    workers: int = field(default_factory=default_workers)
    cell_timeout: int | None = None
    notebook_timeout: float | None = None
    restarts: int | None = None
    limits: Limits = field(default_factory=Limits)
    sandbox: bool = True
    force: bool = False
    cluster: Any = None


def budget_for(settings: Settings, config: Any, answer_cells: int) -> Budget:
    """What one notebook with ``answer_cells`` answer cells may use."""
    grading = config.Grading
    cell = float(settings.cell_timeout or config.Execute.get("timeout", 60) or 60)
    notebook = settings.notebook_timeout or grading.get("notebook_timeout")
    restarts = settings.restarts if settings.restarts is not None else grading.get("restarts", 3)
    return Budget(
        cell_timeout=cell,
        notebook_timeout=float(notebook or cell * (answer_cells + 2)),
        restarts=int(restarts),
        cell_output=int(grading.get("cell_output_kb", 1024)) * 1024,
        notebook_output=int(grading.get("notebook_output_kb", 4096)) * 1024,
    )


def _released(course: Course, assignment: str, name: str) -> NotebookNode:
    """The released notebook ``name`` (empty if it cannot be read: nothing then depends on it)."""
    try:
        return nbformat.read(course.release / assignment / f"{name}.ipynb", as_version=4)
    except (OSError, ValueError):
        return nbformat.v4.new_notebook()


def _answer_cells(nb: NotebookNode) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code"
               and c.metadata.get("nbgrader", {}).get("solution"))


@dataclass
class _InFlight:
    submission: Submission
    outcome: Outcome
    started: float
    pending: int = 0
    dispatched: bool = False
    executed: dict[str, str] = field(default_factory=dict)  # notebook JSON by name
    done: set[str] = field(default_factory=set)


def resolve_submissions(course: Course, assignment: str, given: Path | None,
                        scratch: Path) -> list[Submission]:
    """The submissions found at ``given`` (a directory or an LMS zip; default ``submitted/``)."""
    root = Path(given) if given is not None else course.submitted
    if root.is_file() and root.suffix.lower() == ".zip":
        root = unpack_zip(root, assignment, notebook_names(course, assignment), scratch)
    return find_submissions(root, assignment)


def grade_assignment(
    course: Course,
    assignment: str,
    submissions: Path | None = None,
    settings: Settings | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    keep: Callable[[Outcome], bool] | None = None,
) -> list[Outcome]:
    """Grade every submission of ``assignment`` into the gradebook and ``autograded/``.

    Parameters
    ----------
    course : Course
        The course directory.
    assignment : str
        The assignment to grade.
    submissions : Path, optional
        ``<dir>/<student>/<assignment>/*.ipynb`` or an LMS zip (default ``submitted/``).
    settings : Settings, optional
        Workers, timeouts and limits.
    on_done : callable, optional
        Called with each submission's :class:`Outcome` as soon as it is recorded.
    on_start : callable, optional
        Called once with the number of submissions found, before grading starts.
    keep : callable, optional
        Which outcomes to return (default: all). The others are only given to ``on_done``:
        a large class then costs this process nothing per submission.

    A submission whose files, grading code and assignment are all unchanged since its last
    complete grade (scores in the gradebook and files in ``autograded/``; see
    :mod:`grader.grade.fingerprint`) is not graded again unless ``settings.force``: its
    earlier :class:`Outcome` is returned with ``unchanged`` set. An interrupted run therefore
    resumes where it stopped.

    Returns
    -------
    list of Outcome
        One per submission (those ``keep`` accepts), sorted by student.

    Raises
    ------
    CourseError
        For an unknown assignment, a missing or empty submissions directory, or a bad zip.
    """
    settings = settings or Settings()
    course.check_assignment(assignment)
    names = notebook_names(course, assignment)
    config = course.config()
    if settings.cell_timeout is not None:
        config.Execute.timeout = settings.cell_timeout
    instructor_files = _instructor_files(course, assignment)
    hidden = folder_files(course.source / assignment / HIDDEN)
    releases = {name: _released(course, assignment, name) for name in names}
    released = {name: released_cells(nb) for name, nb in releases.items()}
    budgets = {name: budget_for(settings, config, _answer_cells(releases[name]))
               for name in names}
    recorder = Recorder(course, assignment, config)
    # a change of anything a grade depends on grades everyone again: the late penalty's
    # policy and due date too (a student's extension is part of their own fingerprint)
    version = assignment_version(course, assignment, {
        "budgets": {name: asdict(budget) for name, budget in budgets.items()},
        "limits": asdict(settings.limits), "sandbox": settings.sandbox,
        "late": dict(config.LateSubmissionPlugin),
        "penalties": dict(config.get("AssignLatePenalties", {})),
        "policy": late_fingerprint(course.root), "due": recorder.rows.duedate})
    recorder.sweep()  # staging folders of a run killed while it wrote
    graded = {} if settings.force else recorder.graded()
    outcomes: list[Outcome] = []
    in_flight: dict[str, _InFlight] = {}

    def finish(state: _InFlight) -> None:
        state.outcome.seconds = round(time.perf_counter() - state.started, 3)
        outcome = recorder.close(state.submission, state.outcome, state.executed)
        if keep is None or keep(outcome):
            outcomes.append(outcome)
        del in_flight[state.submission.student]
        if on_done:
            on_done(outcome)

    def changed(found: list[Submission]) -> Iterator[tuple[Submission, str]]:
        """The submissions to grade, with their fingerprints; the others are reported."""
        for submission in found:
            extension = recorder.extensions.get(submission.student)
            fingerprint = _fingerprint(submission, f"{version}:{extension}" if extension
                                       else version)
            previous = recorder.reusable(submission, fingerprint, graded)
            if previous is None:
                yield submission, fingerprint
                continue
            if keep is None or keep(previous):
                outcomes.append(previous)
            if on_done:
                on_done(previous)

    def jobs(todo: Iterator[tuple[Submission, str]]) -> Iterator[tuple[Any, dict[str, Any]]]:
        for submission, fingerprint in todo:
            if not cells:  # made once there is something to grade
                cells.append(copy_assignment(course.db_url, assignment,
                                             Path(scratch, "cells.db")))
            state = _InFlight(submission, recorder.open(submission, fingerprint),
                              time.perf_counter())
            in_flight[submission.student] = state
            for name in names:
                path = submission.notebook(name)
                if not path.exists():
                    state.outcome.reasons.append(f"{name}.ipynb was not submitted (scored 0)")
                    recorder.save(submission, name, None)
                    continue
                try:
                    data = path.read_bytes()
                except OSError as error:
                    state.outcome.degrade(FAILED, f"{name}.ipynb: cannot be read ({error}) "
                                                  "(scored 0)")
                    recorder.save(submission, name, None)
                    continue
                state.pending += 1
                # Everything the worker needs travels with the job: no course directory,
                # no gradebook of the course (it may be on another machine).
                yield (submission.student, name), {
                    "name": name,
                    "notebook": data,
                    "resources": recorder.resources(submission, name, db_url=cells[0]),
                    "files": instructor_files,
                    "assignment": assignment,
                    "hidden": hidden,
                    "released": released[name],
                    "budget": asdict(budgets[name]),
                }
            state.dispatched = True
            if state.pending == 0:
                finish(state)

    def on_result(key: tuple[str, str], result: dict[str, Any]) -> None:
        student, name = key
        state = in_flight.get(student)
        if state is None or name in state.done:  # delivered twice: recorded once
            return
        state.done.add(name)
        state.outcome.messages.extend(f"{name}.ipynb: {m}" for m in result.get("messages", []))
        state.outcome.events.extend(f"{name}.ipynb: {e}" for e in result.get("events", []))
        if "timing" in result:
            state.outcome.timing[name] = result["timing"]
        if result.get("sandbox") and state.outcome.sandbox in ("", "isolated"):
            # one notebook whose kernels ran unisolated makes the submission's record say so
            state.outcome.sandbox = result["sandbox"]
        if "containment" in result:
            state.outcome.containment = result["containment"]
        state.outcome.suspicious.extend(f"{name}.ipynb: {why}"
                                        for why in result.get("suspicious", []))
        scored, text = None, result.get("notebook")
        if result.get("damaged"):
            state.outcome.degrade(FAILED, f"{result['damaged']} (scored 0)")
            stand_in = unreadable_stand_in(course, assignment, name, result["damaged"])
            text = nbformat.writes(stand_in) if stand_in is not None else None
        elif text is not None:  # scored by the worker, from the notebook it sends
            scored = result["scores"]
        else:  # the worker died or overran: grade what can be graded without running it
            # A lost worker or machine says nothing about the notebook: the grade stays
            # incomplete (no fingerprint, see Recorder.close), and the next run grades it again.
            state.outcome.fingerprint = ""
            nb = _unexecuted(state, name, recorder, config, result["reason"])
            scored = scores(nb) if nb is not None else None
            text = nbformat.writes(nb) if nb is not None else None
        if result.get("reason"):
            state.outcome.degrade(PARTIAL, f"{name}.ipynb: {result['reason']}")
        held = result.get("held", {})
        state.outcome.held.update({f"{name}:{item}": why for item, why in held.items()})
        began = time.perf_counter()
        recorder.save(state.submission, name, scored, held)
        state.outcome.timing.setdefault(name, {})["record"] = round(
            time.perf_counter() - began, 4)
        if text is not None:
            state.executed[name] = text
        state.pending -= 1
        if state.pending == 0 and state.dispatched:
            finish(state)

    leftovers.sweep()  # scratch directories and control groups of runs that were killed
    scratch = leftovers.scratch("grader-run-")
    with recorder, _removed(scratch):
        cells: list[str] = []  # URL of the copy of the assignment's cells for the workers
        found = resolve_submissions(course, assignment, submissions, Path(scratch, "zip"))
        if on_start:
            on_start(len(found))
        # The worker keeps each notebook to its budget; this only catches a stuck worker.
        deadline = max(b.notebook_timeout for b in budgets.values()) + 120.0
        todo = changed(found)
        first = next(todo, None)  # nothing new or changed: no worker is started at all
        if first is not None:
            preload = [*config.Grading.get("preload", []),
                       *notebook_imports(list((course.release / assignment).glob("*.ipynb")))]
            # Connected before anything is written: a cluster that cannot be reached leaves
            # the gradebook as it was.
            scheduler = _scheduler(settings, config, deadline, preload)
            scheduler.run(jobs(chain([first], todo)), on_result)
    return sorted(outcomes, key=lambda o: o.student)


@contextlib.contextmanager
def _removed(path: Path) -> Iterator[Path]:
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _scheduler(settings: Settings, config: Any, deadline: float, preload: list[str]) -> Any:
    """This machine's :class:`Scheduler`, or a Dask cluster's when one is configured."""
    address = settings.cluster or config.Grading.get("cluster") or "local"
    # Kernels are forked from the workers, with their memory: where the course is, and its
    # gradebook's URL (a password, on a database server), must not be in it. A job carries
    # the URL of the workers' own copy of the assignment's cells.
    config = copy.deepcopy(config)
    config.pop("CourseDirectory", None)
    if not (isinstance(address, str) and address == "local"):
        from grader.grade.cluster import ClusterScheduler  # Dask is imported only when used

        return ClusterScheduler(address, config, settings.limits, deadline=deadline,
                                preload=preload, sandbox=settings.sandbox,
                                timeout=float(config.Grading.get("cluster_timeout", 20)))
    return Scheduler(config, settings.limits, settings.workers, deadline=deadline,
                     preload=preload, sandbox=settings.sandbox)


def _fingerprint(submission: Submission, version: str) -> str:
    try:
        return submission_fingerprint(submission, version)
    except OSError:  # an unreadable file: graded (and reported) as usual, never reused
        return ""


def _unexecuted(state: _InFlight, name: str, recorder: Recorder, config: Any,
                reason: str) -> NotebookNode | None:
    """The sanitized notebook with every test marked as not run (written answers kept)."""
    try:
        nb = sanitize(read_notebook(state.submission.notebook(name)),
                      recorder.resources(state.submission, name), config).notebook
    except DamagedNotebook:
        return None
    mark_unexecuted(nb, reason)
    return nb


def _instructor_files(course: Course, assignment: str) -> dict[str, bytes]:
    """Data files the instructor ships with the assignment for the kernels: everything but
    notebooks and the hidden folder, which no kernel may see."""
    root = course.source / assignment
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts
        and p.relative_to(root).parts[0] != HIDDEN
    }
