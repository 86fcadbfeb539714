"""Prepare and execute submitted notebooks, each in fresh, isolated kernels.

A worker process is started ahead of need. First thing, while it is still single-threaded
and before it imports any course's hidden tests (they come with the jobs), it forks its kernel
factory (:mod:`grader.grade.zygote`)
and asks it for a kernel, so that the kernel boots while the worker waits for a job. For each
job it reads and sanitizes the notebook, executes it (:mod:`grader.grade.execute`: the hidden
tests are judged here, not in the kernel), sends back the executed notebook as JSON with its
scores (nbgrader's, :func:`grader.grade.rows.scores`), and asks
for the next job's kernel before it answers. No kernel outlives its notebook, and nothing a
kernel started outlives the kernel (:mod:`grader.grade.supervisor`); a worker dies with its
parent, so a grading process killed outright leaves no worker grading on.
"""

from __future__ import annotations

import functools
import gc
import os
import resource
import shutil
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy.dialects.sqlite
import sqlalchemy.orm
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import IgnorePattern, LimitOutput
from traitlets.config import Config

from grader.grade import leftovers
from grader.grade.execute import Budget, NotebookRun
from grader.grade.kernel import Kernel, Limits, kernel_env
from grader.grade.rows import scores
from grader.grade.sandbox import plan_for
from grader.grade.sanitize import DamagedNotebook, parse_notebook, sanitize
from grader.grade.snapshot import CellCatalog
from grader.grade.supervisor import become_subreaper, die_with_parent, end_strays
from grader.grade.suspicious import suspicious
from grader.grade.zygote import KernelFactory
from grader.hidden import load as load_hidden

# Work every worker would otherwise repeat, done here, at import, once in the forkserver that
# preloads this module: nbformat compiles its JSON-schema validator on first use, SQLAlchemy
# loads the SQLite dialect and builds nbgrader's table mappings on the first gradebook opened.
nbformat.validate(nbformat.v4.new_notebook())
sqlalchemy.orm.configure_mappers()
assert sqlalchemy.dialects.sqlite


def finish(nb: NotebookNode, config: Config) -> NotebookNode:
    """nbgrader's steps after execution: ignored patterns, metadata, output length."""
    resources: dict[str, Any] = {}
    for step in (IgnorePattern, ClearMetadataPreprocessor, LimitOutput):
        nb, resources = step(config=config)(nb, resources)
    return nb


# Kernels run as user ids of their own, from this range (no account needed for a user id).
KERNEL_UIDS = 100_000


# Kernel options the course may override. IPython's default tracebacks quote source context
# and cost ~20 ms of CPU each, and a class of unfinished notebooks raises dozens per notebook:
# feedback shows only the error's name and message, and plain tracebacks still give file and
# line. A graded notebook never needs IPython's history database, which costs every kernel a
# SQLite file, a saving thread and a write per cell (about a tenth of its CPU here); `In` and
# `Out` still work without it.
KERNEL_DEFAULTS = ("--InteractiveShell.xmode=Plain", "--HistoryManager.enabled=False")


def kernel_arguments(config: Config) -> list[str]:
    """The kernel's command-line options: the course's, then :data:`KERNEL_DEFAULTS` it lacks."""
    arguments = list(config.Execute.get("extra_arguments", []))
    for default in KERNEL_DEFAULTS:
        option = default.split("=")[0]
        # the course may write `--Option=value` or `--Option value`
        if not any(a == option or a.startswith(option + "=") for a in arguments):
            arguments.append(default)
    return arguments


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# Jobs one worker takes before it retires (its own memory is then returned, all at once).
JOBS_PER_WORKER = 32


class Kernels:
    """Fresh kernels for the jobs of one worker, each in a working directory of its own."""

    def __init__(self, factory: KernelFactory, limits: Limits, sandbox: bool) -> None:
        self.factory = factory
        self.limits = limits
        self.sandbox = sandbox
        self.files: dict[str, bytes] = {}
        self._dirs: list[str] = []
        self._count = 0

    def new(self) -> Kernel:
        """A kernel booting in a new directory holding the instructor's files."""
        workdir = str(leftovers.scratch("grader-kernel-"))
        self._dirs.append(workdir)
        for name, data in self.files.items():
            target = Path(workdir, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        env = kernel_env()
        plan = None
        if self.sandbox:
            # A user id no other kernel running now has: this worker's block, the next one.
            self._count += 1
            uid = KERNEL_UIDS + (os.getpid() % 9000) * 100 + self._count % 100
            plan = plan_for(workdir, uid=uid, disk_mb=self.limits.disk_mb)
            env["HOME"] = plan.workdir  # where matplotlib and friends may write
        return Kernel(self.factory, self.limits, workdir, env, plan)

    def clean(self) -> None:
        """Remove the working directories of the kernels made so far."""
        for workdir in self._dirs:
            shutil.rmtree(workdir, ignore_errors=True)
        self._dirs = []


@functools.lru_cache(maxsize=1)
def cells(db_url: str) -> CellCatalog:
    """The assignment's cells, read once for every job of a run (they share the URL)."""
    return CellCatalog(db_url)


def worker_main(conn: Connection, config: Config, limits: Limits,
                sandbox: bool = True, jobs: int = JOBS_PER_WORKER) -> None:
    """Body of a worker process: grade up to ``jobs`` notebooks from ``conn``, one at a time.

    A job holds a submitted notebook and what grading it needs (a copy of the gradebook's
    cells, the instructor's files, the budget): the worker needs no course directory. It
    sanitizes the notebook and executes it. The answer is the executed notebook as JSON, or
    why there is none, and whether the worker takes another job.

    Parameters
    ----------
    conn : Connection
        Jobs come in, answers go out.
    config : Config
        The course's nbgrader configuration.
    limits : Limits
        Resource limits of every kernel.
    sandbox : bool
        Isolate every kernel.
    jobs : int
        Jobs to take before retiring.
    """
    os.setpgrp()  # the parent can end this worker and its kernels together
    # The template ends when the grading process does (killed outright, say): so does this.
    die_with_parent(os.getppid())
    # The modules inherited from the template are shared copy-on-write; a garbage collection
    # that walked them would write to every page and copy it. Frozen objects are not walked.
    gc.freeze()
    become_subreaper()  # kernels are forked twice: they become this process's children
    factory = kernels = None
    try:
        factory = KernelFactory(kernel_arguments(config))
        kernels = Kernels(factory, limits, sandbox)
        booting = kernels.new()
        for index in range(max(1, jobs)):
            started, cpu = time.perf_counter(), _cpu_seconds()
            job = conn.recv()
            if job is None:  # the run ended before this worker was needed again
                break
            more = index < jobs - 1
            try:
                answer = _run_job(job, booting, kernels, config, started, cpu)
            except Exception as error:  # reported to the parent, which records it as failed
                answer, more = {"notebook": None,
                                "reason": f"grading worker failed: {error!r}"}, False
            # Before answering: once the scheduler hears back, nothing of this student runs.
            kernels.clean()
            end_strays({factory.pid})
            if more:
                try:
                    booting = kernels.new()
                except OSError:  # no next kernel (descriptors, disk): this answer still counts
                    more = False
            conn.send({**answer, "more": more})
            if not more:
                break
    except (EOFError, OSError):  # the scheduler is gone
        pass
    finally:
        if factory is not None:
            factory.close()  # ends the kernel booted ahead for a job that never came
        if kernels is not None:
            kernels.clean()
        conn.close()


def _run_job(job: dict[str, Any], first: Kernel, kernels: Kernels, config: Config,
             started: float, cpu_before: float) -> dict[str, Any]:
    """Sanitize and execute the notebook ``job`` names, starting in kernel ``first``."""
    given = [first]
    if job.get("files", {}) != kernels.files:  # the kernel booted ahead lacks this job's files
        kernels.files = job.get("files", {})
        first.close()
        given = []

    def new_kernel() -> Kernel:
        return given.pop() if given else kernels.new()

    try:
        began = time.perf_counter()
        try:
            prepared = sanitize(parse_notebook(job["notebook"], f"{job['name']}.ipynb"),
                                job["resources"], config, job.get("released"),
                                cells(job["resources"]["nbgrader"]["db_url"]))
        except DamagedNotebook as error:
            return {"notebook": None, "damaged": str(error)}
        nb = prepared.notebook
        flags = suspicious(nb, prepared.messages)
        sanitized = time.perf_counter()
        # The course's hidden tests, imported here (never where kernels are forked from),
        # once per distinct content: every job of a run carries the same files.
        hidden = load_hidden(job.get("hidden", {}), job.get("assignment", job["name"]))
        run = NotebookRun(nb, new_kernel, Budget(**job["budget"]), spec=hidden.spec)
        reason = run.run()
        executed = time.perf_counter()
        held = {nb.cells[i].metadata["nbgrader"]["grade_id"]: v.evalue
                for i, v in run.verdicts.items() if v.held}
        nb = finish(nb, config)
        text, scored = nbformat.writes(nb), scores(nb)  # the writer records both as they are
        # Wall seconds of each step (they add up to the worker's time on the notebook), and
        # the CPU seconds of the worker and of every kernel the notebook used.
        timing: dict[str, Any] = {
            "idle": round(began - started, 4),
            "sanitize": round(sanitized - began, 4),
            **{k: round(v, 4) for k, v in run.timing.items()},
            "execute": round(executed - sanitized, 4),
            "finish": round(time.perf_counter() - executed, 4),
            "worker_cpu": round(_cpu_seconds() - cpu_before, 4),
            "kernel_cpu": round(sum(k.cpu for k in run.kernels), 4),
            "clean_cpu": round(sum(k.cpu for k in run.clean.kernels), 4),
        }
        # how the kernels that ran were isolated and contained; none ran (no code cell, none
        # could start): nothing of the student's ran, isolated or not
        ran = [k for k in run.kernels if k.pid is not None]
        sandbox = ran[0].sandbox_status if ran else ""
        containment = ran[0].containment if ran else ""
        return {"notebook": text, "reason": reason, "messages": prepared.messages,
                "events": run.events, "timing": timing, "sandbox": sandbox,
                "containment": containment,
                "suspicious": flags + run.flags, "held": held, "scores": scored}
    finally:
        for kernel in given:  # not needed (a damaged notebook): it must not wait forever
            kernel.close()
