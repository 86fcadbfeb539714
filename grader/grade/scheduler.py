"""Run notebook executions in parallel worker processes, a fresh kernel per submission.

Workers are forked from a forkserver that has already imported the heavy modules, so a new
one costs milliseconds. Each takes several jobs in turn, each job in a kernel of its own
(see :mod:`grader.grade.worker`), and boots its next kernel before it asks for the next job;
the scheduler keeps ``prestart`` spare workers ready for when one retires. A job that
outlives its deadline is killed with its worker and kernels.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from traitlets.config import Config

from grader.grade import template
from grader.grade.kernel import Limits


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    key: Any = None
    deadline: float = field(default=float("inf"))

    def reap(self, kill_at: float) -> bool:
        """True once the worker has exited; kill it (and its kernel) past ``kill_at``."""
        if self.process.is_alive() and time.monotonic() < kill_at:
            return False
        self.finish()
        return True

    def finish(self, grace: float = 0.0) -> None:
        """Let the worker exit by itself for ``grace`` seconds, then kill it and its kernel."""
        self.process.join(timeout=grace)
        if self.process.is_alive():
            # The worker's group holds its kernel factory and the kernels' supervisors; a
            # kernel ends with its supervisor (its PID namespace, or its death signal).
            for pid in (*_children(self.process.pid), self.process.pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self.process.join(timeout=5)
        self.conn.close()


def lost(worker: _Worker) -> dict[str, Any]:
    """The answer for a job whose worker died before answering."""
    return {"notebook": None,
            "reason": f"grading worker exited unexpectedly (code {worker.process.exitcode})"}


def overran(deadline: float) -> dict[str, Any]:
    """The answer for a job whose worker was killed at its ``deadline`` (seconds)."""
    return {"notebook": None,
            "reason": f"grading did not finish within {deadline:.0f} s; the kernel was stopped"}


def _work(*args: Any) -> None:
    """A worker process's body (:func:`grader.grade.worker.worker_main`).

    Named here and imported there: the template has imported the worker's module already, and
    the process that schedules (the grading process, a Dask worker) need not.
    """
    from grader.grade.worker import worker_main

    worker_main(*args)


def _children(pid: int | None) -> list[int]:
    """Process ids of the direct children of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except (OSError, ValueError):
        return []


class Scheduler:
    """Execute jobs in at most ``workers`` worker processes at once.

    Parameters
    ----------
    config : Config
        The course's nbgrader configuration (for the workers).
    limits : Limits
        Resource limits for every grading kernel.
    workers : int
        Number of notebooks executed at the same time.
    prestart : int, optional
        Spare workers kept booting their kernel ahead of need (default: 1).
    deadline : float
        Seconds after which a job's worker and kernel are killed.
    preload : sequence of str
        More modules for the template to import (the course's heavy imports).
    sandbox : bool
        Isolate each kernel (see :mod:`grader.grade.sandbox`).
    """

    def __init__(
        self,
        config: Config,
        limits: Limits,
        workers: int,
        prestart: int | None = None,
        deadline: float = 1800.0,
        preload: Sequence[str] = (),
        sandbox: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.config = config
        self.limits = limits
        self.workers = workers
        self.prestart = 1 if prestart is None else max(0, prestart)
        self.deadline = deadline
        self.sandbox = sandbox
        self._context = template.start(preload)

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_work,
            args=(child, self.config, self.limits, self.sandbox),
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(
        self,
        jobs: Iterator[tuple[Any, dict[str, Any]]],
        on_result: Callable[[Any, dict[str, Any]], None],
    ) -> None:
        """Execute every ``(key, job)`` from ``jobs``; call ``on_result(key, result)`` for each.

        ``jobs`` is consumed lazily, one job each time a worker becomes free. ``on_result``
        runs in this process, one call at a time: it is the single place that writes results.
        Starting a worker waits on the forkserver, so spares are started by a helper thread;
        finished workers are reaped without waiting for them.
        """
        spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-spawn")
        spare: deque[Future[_Worker]] = deque()
        idle: deque[_Worker] = deque()  # workers waiting for their next job
        busy: dict[Connection, _Worker] = {}
        retiring: list[tuple[_Worker, float]] = []
        exhausted = False

        def dispatch() -> None:
            nonlocal exhausted
            while not exhausted and len(busy) < self.workers:
                try:
                    key, job = next(jobs)
                except StopIteration:
                    exhausted = True
                    break
                if idle:
                    worker = idle.popleft()
                else:
                    worker = spare.popleft().result() if spare else self._spawn()
                worker.key, worker.deadline = key, time.monotonic() + self.deadline
                worker.conn.send(job)
                busy[worker.conn] = worker
            while not exhausted and len(spare) < self.prestart:
                spare.append(spawner.submit(self._spawn))

        try:
            dispatch()
            while busy:
                timeout = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
                finished = []
                for conn in wait(list(busy), timeout=min(timeout, 1.0)):
                    worker = busy.pop(conn)
                    try:
                        result = conn.recv()
                    except (EOFError, OSError):
                        result = lost(worker)
                    if result.pop("more", False):
                        idle.append(worker)
                    else:
                        retiring.append((worker, time.monotonic() + 5.0))
                    finished.append((worker.key, result))
                now = time.monotonic()
                for conn, worker in list(busy.items()):
                    if worker.deadline <= now:
                        del busy[conn]
                        worker.finish()
                        finished.append((worker.key, overran(self.deadline)))
                # Free workers get their next job before results are written: writing is
                # serial, and the workers should not wait for it.
                dispatch()
                for key, result in finished:
                    on_result(key, result)
                retiring = [(w, t) for w, t in retiring if not w.reap(t)]
        finally:
            spawner.shutdown(wait=True)
            for worker in [*idle, *(future.result() for future in spare)]:
                try:
                    worker.conn.send(None)
                except (OSError, ValueError):
                    pass
                worker.finish(grace=5.0)
            for worker in busy.values():
                worker.finish()
            for worker, _ in retiring:
                worker.finish(grace=5.0)
