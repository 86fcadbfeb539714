"""Prepare and execute one submitted notebook in a fresh, isolated kernel (a child process).

A worker process is started ahead of need: it forks its kernel at once, so the kernel boots
while other submissions are still being executed, then waits for one job, sanitizes and
executes it — the hidden tests judged here, not in the kernel — sends back the executed
notebook as JSON and exits. The kernel never outlives its worker.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import shutil
import subprocess
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy.dialects.sqlite
import sqlalchemy.orm
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import IgnorePattern, LimitOutput
from traitlets.config import Config

from grader.grade.kernel import LimitedKernelManager, Limits, kernel_env
from grader.grade.sandbox import plan_for
from grader.grade.sanitize import DamagedNotebook, read_notebook, sanitize
from grader.grade.suspicious import suspicious
from grader.grade.verdict import TrustedExecute, apply_verdict, split_hidden
from grader.grade.zygote import ForkedKernel

KERNEL_DIED = "KernelDied"

# Work every worker would otherwise repeat, done here, at import, once in the forkserver that
# preloads this module: nbformat compiles its JSON-schema validator on first use, SQLAlchemy
# loads the SQLite dialect and builds nbgrader's table mappings on the first gradebook opened.
nbformat.validate(nbformat.v4.new_notebook())
sqlalchemy.orm.configure_mappers()


def mark_unexecuted(nb: NotebookNode, reason: str) -> int:
    """Give every graded code cell that did not run an error output; return how many."""
    marked = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        if cell.get("execution_count") is None and not cell.get("outputs"):
            cell.outputs = [
                nbformat.v4.new_output(
                    "error", ename=KERNEL_DIED, evalue=reason,
                    traceback=[f"{KERNEL_DIED}: {reason}"],
                )
            ]
            marked += 1
    return marked


def execute(nb: NotebookNode, km: LimitedKernelManager, workdir: str,
            config: Config, held: dict[str, str] | None = None) -> str | None:
    """Run ``nb`` in the started kernel ``km``, judging its tests here; return why it stopped.

    The hidden part of each test cell is cut out before the kernel sees the notebook and run
    in this process against the student's objects (:mod:`grader.grade.verdict`). Items whose
    verdict is held for review are added to ``held`` (grade id: reason).
    """
    hidden = split_hidden(nb)
    resources: dict[str, Any] = {"metadata": {"path": workdir}}
    runner = TrustedExecute(hidden, call_timeout=float(config.Execute.get("timeout", 60)),
                            config=config)
    reason = None
    try:
        runner.preprocess(nb, resources, km=km)
    except DeadKernelError as error:
        reason = f"the kernel died while executing the notebook ({error or 'no reply'})"
    except Exception as error:  # nbclient raises several kinds; none may stop the batch
        reason = f"execution stopped: {type(error).__name__}: {error}"
    finally:
        runner.close_bridge()
    for index, verdict in runner.verdicts.items():
        apply_verdict(nb.cells[index], verdict)
        if verdict.held and held is not None:
            held[nb.cells[index].metadata["nbgrader"]["grade_id"]] = verdict.evalue
    if reason:
        mark_unexecuted(nb, reason)
    for step in (IgnorePattern, ClearMetadataPreprocessor, LimitOutput):
        nb, resources = step(config=config)(nb, resources)
    return reason


# Kernels run as user ids of their own, from this range (no account needed for a user id).
KERNEL_UIDS = 100_000


def _import_hidden_tests() -> None:
    """Import the hidden tests here, in the grading process, before they are needed.

    Never in the template the kernels are forked from: the reference solutions must not be
    in a student's process, not even unreachable in memory.
    """
    import grader.hidden

    for module in pkgutil.iter_modules(grader.hidden.__path__):
        importlib.import_module(f"grader.hidden.{module.name}")


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


def _cpu_seconds(pid: int | None) -> float:
    """CPU time used so far by process ``pid`` (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return 0.0


# Jobs one worker takes before it retires; each gets a kernel of its own (see worker_main).
JOBS_PER_WORKER = 8


def worker_main(conn: Connection, course_root: str, limits: Limits,
                sandbox: bool = True, jobs: int = JOBS_PER_WORKER) -> None:
    """Body of a worker process: grade up to ``jobs`` notebooks from ``conn``, one at a time.

    A job names a submitted notebook; the worker reads and sanitizes it (nbgrader's steps only
    read the gradebook, so workers do this in parallel) and executes it. The answer is the
    executed notebook as JSON, or why there is none, and whether the worker takes another job.

    Every notebook gets a fresh kernel, forked (see :mod:`grader.grade.zygote`) before this
    process starts any thread or imports the hidden tests: so all of them are forked at once,
    first thing, and each waits for its turn. With ``sandbox`` each is isolated
    (:mod:`grader.grade.sandbox`). The worker's own start-up is paid once for ``jobs``.
    """
    os.setpgrp()  # the parent can end this worker and its kernels together
    # The modules inherited from the template are shared copy-on-write; a garbage collection
    # that walked them would write to every page and copy it. Frozen objects are not walked.
    gc.freeze()
    kernels = [ForkedKernel() for _ in range(max(1, jobs))]
    try:
        from grader.course import Course

        config = Course(Path(course_root)).config()
        _import_hidden_tests()
        for index, forked in enumerate(kernels):
            more = index < len(kernels) - 1
            if not _grade_one(conn, forked, config, limits, sandbox, more):
                break
    except (EOFError, OSError):  # the scheduler is gone
        pass
    finally:
        for forked in kernels:
            if forked.poll() is None:
                forked.cancel()
        conn.close()


def _grade_one(conn: Connection, forked: ForkedKernel, config: Config, limits: Limits,
               sandbox: bool, more: bool) -> bool:
    """Boot ``forked`` as a kernel, take one job, answer it; False when there was no job."""
    workdir = tempfile.mkdtemp(prefix="grader-run-")
    km = LimitedKernelManager(kernel_name="python3")
    km.forked, km.limits = forked, limits
    if sandbox:
        # Unix sockets in the working directory: the sandboxed kernel has no network at all.
        km.transport, km.ip = "ipc", os.path.join(workdir, "kernel")
        km.connection_file = os.path.join(workdir, ".kernel.json")
        km.sandbox = plan_for(workdir, uid=KERNEL_UIDS + forked.pid % KERNEL_UIDS)
    started, cpu_before = time.perf_counter(), _cpu_seconds(os.getpid())
    try:
        run_sync(km.start_kernel)(
            extra_arguments=kernel_arguments(config),
            cwd=workdir,
            env=kernel_env(),
            # The kernel's own log lines are not the student's output.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        job = conn.recv()
        if job is None:  # the run ended before this worker was needed again
            return False
        answer = _run_job(job, km, workdir, config, started, cpu_before)
    except (EOFError, OSError):
        raise
    except Exception as error:  # reported to the parent, which records the submission as failed
        answer, more = {"notebook": None, "reason": f"grading worker failed: {error!r}"}, False
    finally:
        # Before answering: once the scheduler hears back, nothing of this student may run.
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:
            pass
        if forked.poll() is None and not km.has_kernel:
            forked.cancel()
        shutil.rmtree(workdir, ignore_errors=True)
    conn.send({**answer, "more": more})
    return more


def _run_job(job: dict[str, Any], km: LimitedKernelManager, workdir: str, config: Config,
             started: float, cpu_before: float) -> dict[str, Any]:
    """Sanitize and execute the notebook ``job`` names in the started kernel ``km``."""
    if job.get("cell_timeout"):  # the same for every job of a run
        config.Execute.timeout = job["cell_timeout"]
    for name, data in job.get("files", {}).items():
        target = Path(workdir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    try:
        prepared = sanitize(read_notebook(Path(job["path"])), job["resources"], config)
    except DamagedNotebook as error:
        return {"notebook": None, "damaged": str(error)}
    nb = prepared.notebook
    flags = suspicious(nb, prepared.messages)
    began = time.perf_counter()
    held: dict[str, str] = {}
    reason = execute(nb, km, workdir, config, held)
    timing: dict[str, Any] = {
        "boot": round(began - started, 3),
        "execute": round(time.perf_counter() - began, 3),
        "worker_cpu": round(_cpu_seconds(os.getpid()) - cpu_before, 3),
        "kernel_cpu": round(_cpu_seconds(km.provisioner.pid if km.has_kernel else None), 3),
    }
    return {"notebook": nbformat.writes(nb), "reason": reason, "messages": prepared.messages,
            "timing": timing, "sandbox": km.sandbox_status, "suspicious": flags, "held": held}
