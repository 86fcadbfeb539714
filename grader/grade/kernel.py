"""Kernels for grading: a fresh process per submission, with resource limits.

The student's code runs in this kernel, so it gets hard limits (address space, CPU time, file
size, open files, processes), applied by the forked child itself (:mod:`grader.grade.zygote`),
and single-threaded BLAS, so that parallel grading does not oversubscribe the machine and one
submission cannot starve the others.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_client.manager import AsyncKernelManager

if TYPE_CHECKING:
    from grader.grade.sandbox import Plan
    from grader.grade.zygote import ForkedKernel

from grader.grade.template import THREAD_VARIABLES


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading kernel.

    Parameters
    ----------
    memory_mb : int
        Address-space limit in MiB (``RLIMIT_AS``); an allocation beyond it raises MemoryError.
    cpu_seconds : int
        CPU-time limit of the kernel process (``RLIMIT_CPU``); the kernel is killed past it.
    file_mb : int
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    open_files : int
        Open file descriptors (``RLIMIT_NOFILE``).
    processes : int
        Processes and threads of the kernel's user (``RLIMIT_NPROC``; sandboxed kernels only,
        root is exempt).
    """

    memory_mb: int = 2048
    cpu_seconds: int = 600
    file_mb: int = 64
    open_files: int = 256
    processes: int = 64


def kernel_env() -> dict[str, str]:
    """Environment of a grading kernel: the grader's own, with single-threaded math libraries."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    # Jupyter's own noise (e.g. the unencrypted-TCP notice) must not reach a cell's stderr.
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


class LimitedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel is a pre-forked warm child (:attr:`forked`).

    The child applies :attr:`limits` and :attr:`sandbox` itself before it becomes the kernel.
    """

    forked: ForkedKernel
    limits: Limits = Limits()
    sandbox: Plan | None = None
    sandbox_status: str = "not isolated: not started"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # jupyter_client's documented hook for launching kernels differently.
        provisioner = self.provisioner
        assert provisioner is not None
        cwd = str(kw.get("cwd") or os.getcwd())
        self.sandbox_status = self.forked.launch(
            kernel_cmd, cwd, dict(kw.get("env") or os.environ), self.limits, self.sandbox)
        provisioner.process = self.forked
        provisioner.pid = provisioner.pgid = self.forked.pid
        provisioner.cwd = cwd
        self._reconcile_connection_info(provisioner.connection_info)
