"""Run notebook executions on the workers of a Dask cluster instead of this machine's cores.

The same interface as :class:`grader.grade.scheduler.Scheduler`: ``run(jobs, on_result)``
pulls jobs lazily and calls ``on_result`` in this process, the gradebook's single writer, as
results arrive. Each notebook is one Dask task (:func:`grader.grade.remote.grade_task`), so
Dask's own fault handling applies: the tasks of a worker that dies are run again elsewhere.
A task that ran twice is still delivered once (Dask keeps one result per task key), and
recording is idempotent anyway. At most a few tasks per worker thread are in flight, so the
memory of this process does not grow with the class.

Any Dask cluster with a scheduler address works: ``dask scheduler``/``dask worker``,
dask-gateway on a JupyterHub, dask-kubernetes, dask-jobqueue (Slurm, PBS). Workers need the
same ``grader`` package installed (checked: :func:`~grader.grade.fingerprint.code_version`);
the course's own files travel with the run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from distributed import Client, as_completed
from distributed.scheduler import KilledWorker
from traitlets.config import Config

from grader.course import CourseError
from grader.grade.fingerprint import code_version
from grader.grade.kernel import Limits
from grader.grade.remote import GradingPlugin, grade_task
from grader.gradebook import sqlite_path

# Tasks in flight per worker thread: enough to keep every thread busy while results travel.
IN_FLIGHT_PER_THREAD = 2
#: What every job of a run shares, scattered to each worker once: the instructor's files and
#: the assignment's hidden tests.
SHARED = ("files", "hidden")


class ClusterError(CourseError):
    """The Dask cluster cannot be reached or used."""


class ClusterScheduler:
    """Execute jobs on the workers of the Dask cluster at ``address``.

    Parameters
    ----------
    address : str or cluster
        The Dask scheduler, e.g. ``tcp://scheduler:8786``, or a Dask cluster object
        (``dask_gateway.GatewayCluster``, ``dask_jobqueue.SLURMCluster``, …), whose own
        security settings are then used.
    config, limits, deadline, preload, sandbox
        As for :class:`~grader.grade.scheduler.Scheduler`; they apply on every worker.
    timeout : float
        Seconds to wait for the scheduler to answer.

    Raises
    ------
    ClusterError
        If the scheduler does not answer, or a worker runs another version of the grader.
    """

    def __init__(self, address: Any, config: Config, limits: Limits, deadline: float = 1800.0,
                 preload: Sequence[str] = (), sandbox: bool = True,
                 timeout: float = 20.0) -> None:
        self.address = getattr(address, "scheduler_address", address)
        self._thread_count, self._counted_at = 1, float("-inf")
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: "
                               f"{error}") from None
        try:
            version = code_version()
            others = {w: v for w, v in self.client.run(code_version).items() if v != version}
            if others:
                raise ClusterError(
                    f"Dask workers {', '.join(sorted(others))} run another version of the "
                    "grader package (the grading engine) than this process; install "
                    "the same version on every worker")
            self.plugin = f"grader-{uuid.uuid4().hex[:12]}"
            self.client.register_plugin(
                GradingPlugin(config, limits, sandbox, preload, deadline, version),
                name=self.plugin)
        except BaseException:
            self.client.close()
            raise

    def _threads(self) -> int:
        """The cluster's grading threads, asked of the scheduler at most once a second (a
        round trip per result would slow the single writer; workers come and go slower)."""
        now = time.monotonic()
        if now - self._counted_at > 1.0:
            self._thread_count = max(1, sum(self.client.nthreads().values()))
            self._counted_at = now
        return self._thread_count

    def run(
        self,
        jobs: Iterator[tuple[Any, dict[str, Any]]],
        on_result: Callable[[Any, dict[str, Any]], None],
    ) -> None:
        """Execute every ``(key, job)`` from ``jobs`` on the cluster; ``on_result(key, result)``
        for each, here, one call at a time, in the order results arrive."""
        shared: dict[tuple[str, int], Any] = {}  # the course's part of the jobs, sent once
        in_flight: dict[Any, Any] = {}
        done = as_completed(loop=self.client.loop)
        exhausted = False

        def submit() -> None:
            nonlocal exhausted
            limit = IN_FLIGHT_PER_THREAD * self._threads()
            while not exhausted and len(in_flight) < limit:
                try:
                    key, job = next(jobs)
                except StopIteration:
                    exhausted = True
                    return
                course = self._course(job, shared)
                light = {k: v for k, v in job.items() if k not in SHARED}
                future = self.client.submit(grade_task, light, course, self.plugin,
                                            key=f"grade-{uuid.uuid4().hex}", pure=False)
                in_flight[future] = key
                done.add(future)

        try:
            submit()
            for future in done:
                key = in_flight.pop(future)
                result = self._result(future)
                future.release()
                # Workers get their next notebooks before this one is written.
                submit()
                on_result(key, result)
        finally:
            for future in in_flight:
                future.cancel()
            self.close()

    def _course(self, job: dict[str, Any], shared: dict[tuple[str, int], Any]) -> Any:
        """The scattered ``{"cells", "files", "hidden"}`` of ``job``'s course (sent to each
        worker once)."""
        url = job["resources"]["nbgrader"]["db_url"]
        marker = (url, id(job["files"]))
        if marker not in shared:
            path = sqlite_path(url)
            if path is None:
                raise ValueError(f"jobs must carry a SQLite copy of the cells, not {url}")
            shared[marker] = self.client.scatter(
                {"cells": Path(path).read_bytes(),
                 **{name: job.get(name, {}) for name in SHARED}}, broadcast=True, hash=False)
        return shared[marker]

    def _result(self, future: Any) -> dict[str, Any]:
        try:
            return future.result()
        except KilledWorker as error:
            # Dask ran it on several workers and each died: the submission is the likely cause.
            return {"notebook": None,
                    "reason": f"every Dask worker that graded it died ({error})"}
        except CancelledError:
            raise ClusterError(
                f"lost the Dask scheduler at {self.address}; submissions recorded so far are "
                "kept: run the command again to grade the rest") from None
        except Exception as error:  # the cluster failed, not the submission: record nothing
            raise ClusterError(f"grading failed on the Dask cluster at {self.address}: "
                               f"{error}") from None

    def close(self) -> None:
        """Remove the run's plugin from the workers (stopping their grader workers)."""
        try:
            self.client.unregister_worker_plugin(self.plugin)
        except Exception:  # the cluster may be gone already; nothing of ours is left to stop
            pass
        self.client.close()
