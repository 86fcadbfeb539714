"""The grading side of a Dask worker: the same grader workers as ``grader grade`` forks locally.

A Dask worker process is multi-threaded, so it never forks a grader worker itself. A worker
plugin (:class:`GradingPlugin`) gives each Dask worker a :class:`GraderPool`: the grader's
forkserver template, started on that machine, and long-lived grader workers forked from it
exactly as on one machine (:mod:`grader.grade.scheduler`), each running
:func:`grader.grade.worker.worker_main`. A Dask task (:func:`grade_task`) is one notebook: it
takes a free grader worker, sends it the job over the same pipe protocol and returns the
answer, so every kernel is fresh, limited and sandboxed (where the machine allows it) and the
hidden tests are judged on the worker, outside the kernel.

What a job needs of the course travels with it: the notebook's bytes in the task, and once
per worker the assignment's copy of the gradebook cells, the instructor's files and the
assignment's hidden tests (the cells are written to a local scratch directory here; no shared
file system is assumed, and no grader worker needs the course installed).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.forkserver
import shutil
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from distributed import WorkerPlugin, get_worker
from traitlets.config import Config

from grader.grade import leftovers
from grader.grade.fingerprint import code_version
from grader.grade.kernel import Limits
from grader.grade.scheduler import Scheduler, _Worker, lost, overran

# Grading runs whose pools are alive in this Dask worker process. The grader's template is the
# process's multiprocessing forkserver: the last pool stops it, so that the next run starts
# one with its own preloaded modules (an assignment's imports), as a new `grader grade` would.
_pools = 0
_pools_lock = threading.Lock()


def _pool_opened() -> None:
    global _pools
    with _pools_lock:
        _pools += 1


def _pool_closed() -> None:
    global _pools
    with _pools_lock:
        _pools -= 1
        if _pools == 0:
            multiprocessing.forkserver._forkserver._stop()


class GraderPool(Scheduler):
    """Grader workers of one Dask worker, shared by its task threads.

    Parameters are those of :class:`~grader.grade.scheduler.Scheduler`; ``workers`` is the
    number of spare workers kept booting ahead of need.
    """

    def __init__(self, config: Config, limits: Limits, workers: int, deadline: float,
                 preload: Sequence[str], sandbox: bool) -> None:
        _pool_opened()
        super().__init__(config, limits, workers, deadline=deadline, preload=preload,
                         sandbox=sandbox)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # a spare joined the idle workers
        self._preparing = 0  # spares being started
        self._idle: deque[_Worker] = deque()
        self._busy: dict[int, _Worker] = {}
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-pool")
        leftovers.sweep()  # what killed runs left on this machine
        self.scratch = leftovers.scratch("grader-cluster-")
        self._cells: dict[str, str] = {}
        self._closed = False
        for _ in range(workers):  # booting while the first tasks arrive
            self._prepare()

    def _prepare(self) -> None:
        """Start a spare worker off the calling thread (call holding no lock)."""
        with self._lock:
            self._preparing += 1
        self._helper.submit(self._add_spare)

    def _add_spare(self) -> None:
        try:
            worker = self._spawn()
        except BaseException:
            with self._ready:
                self._preparing -= 1
                self._ready.notify_all()
            raise
        with self._ready:
            self._preparing -= 1
            if not self._closed:
                self._idle.append(worker)
                self._ready.notify()
                return
        worker.conn.send(None)
        worker.finish(grace=5.0)

    def _take(self) -> _Worker:
        with self._ready:
            # a spare on its way beats starting one more: the cores have enough to boot
            while not self._idle and self._preparing and not self._closed:
                self._ready.wait()
            if self._closed:
                raise RuntimeError("the grading pool of this worker was shut down")
            worker = self._idle.popleft() if self._idle else None
        worker = worker or self._spawn()
        with self._lock:
            self._busy[id(worker)] = worker
        return worker

    def localize(self, job: dict[str, Any], course: dict[str, Any]) -> dict[str, Any]:
        """``job`` with the course's files (``course``: cells and files) made local here."""
        cells = course["cells"]
        digest = hashlib.sha256(cells).hexdigest()
        with self._lock:
            url = self._cells.get(digest)
            if url is None:
                path = self.scratch / f"cells-{digest[:16]}.db"
                path.write_bytes(cells)
                url = self._cells[digest] = f"sqlite:///{path}"
        nbgrader = {**job["resources"]["nbgrader"], "db_url": url}
        return {**job, "resources": {**job["resources"], "nbgrader": nbgrader},
                "files": course["files"], "hidden": course.get("hidden", {})}

    def grade(self, job: dict[str, Any]) -> dict[str, Any]:
        """Grade one job in a grader worker of this machine; the worker's answer."""
        worker = self._take()
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self.deadline):
                worker.finish()
                return overran(self.deadline)
            result = worker.conn.recv()
        except (EOFError, OSError):
            worker.finish()
            return lost(worker)
        finally:
            with self._lock:
                self._busy.pop(id(worker), None)
        more = result.pop("more", False)
        with self._ready:
            if not self._closed:
                if more:
                    self._idle.append(worker)
                    self._ready.notify()
                else:  # retired: reap it and boot its successor, off this thread
                    self._helper.submit(worker.finish, 5.0)
                    self._preparing += 1
                    self._helper.submit(self._add_spare)
                return result
        worker.finish(grace=5.0)
        return result

    def close(self) -> None:
        """Stop every grader worker and remove the scratch files."""
        with self._ready:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy.values())
            self._idle.clear()
            self._ready.notify_all()
        self._helper.shutdown(wait=True)
        for worker in idle:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
            worker.finish(grace=5.0)
        for worker in busy:
            worker.finish()
        shutil.rmtree(self.scratch, ignore_errors=True)
        _pool_closed()


class GradingPlugin(WorkerPlugin):
    """Gives each Dask worker a :class:`GraderPool` for one grading run.

    ``version`` is the grading process's :func:`~grader.grade.fingerprint.code_version`: a
    worker with other grading code or hidden tests refuses to grade.
    """

    def __init__(self, config: Config, limits: Limits, sandbox: bool, preload: Sequence[str],
                 deadline: float, version: str) -> None:
        self.config = config
        self.limits = limits
        self.sandbox = sandbox
        self.preload = list(preload)
        self.deadline = deadline
        self.version = version
        self.pool: GraderPool | None = None
        self.problem = ""

    def setup(self, worker: Any) -> None:
        if code_version() != self.version:
            self.problem = (f"Dask worker {worker.address} has a different grader package "
                            "(grading code or hidden tests) than the grading process; install "
                            "the same version on every worker")
            return
        # Dask's nanny starts workers as daemonic processes, which multiprocessing forbids to
        # have children; grader workers are children of this process (forked by the template,
        # never by this multi-threaded process itself), killed with it.
        multiprocessing.current_process().daemon = False
        self.pool = GraderPool(self.config, self.limits, max(1, worker.state.nthreads),
                               self.deadline, self.preload, self.sandbox)

    def teardown(self, worker: Any) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def grade_task(job: dict[str, Any], course: dict[str, Any], plugin: str) -> dict[str, Any]:
    """The Dask task of one notebook: grade ``job`` on this worker's pool.

    Parameters
    ----------
    job : dict
        The job as :func:`grader.grade.run.grade_assignment` makes it, without ``files`` and
        ``hidden``.
    course : dict
        ``{"cells": bytes of the assignment's cells gradebook, "files": instructor files,
        "hidden": the assignment's hidden tests}``, shared by every task of the run (sent once
        per worker).
    plugin : str
        Name of the run's :class:`GradingPlugin`.
    """
    installed = get_worker().plugins.get(plugin)
    if installed is None or installed.pool is None:
        raise RuntimeError(installed.problem if installed is not None and installed.problem
                           else f"the grading plugin {plugin!r} is not set up on this worker")
    pool = installed.pool
    return pool.grade(pool.localize(job, course))
