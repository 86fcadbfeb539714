"""Kernels for grading: a fresh process per submission, with resource limits.

The student's code runs in this kernel, so it gets hard limits (address space, CPU time, file
size, open files) through ``prlimit`` and single-threaded BLAS, so that parallel grading does
not oversubscribe the machine and one submission cannot starve the others.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode


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
    """

    memory_mb: int = 2048
    cpu_seconds: int = 600
    file_mb: int = 64
    open_files: int = 256

    def prefix(self) -> list[str]:
        """The ``prlimit`` command that applies these limits to the command following it."""
        prlimit = shutil.which("prlimit")
        if prlimit is None:
            return []
        return [
            prlimit,
            f"--as={self.memory_mb * 2**20}",
            f"--cpu={self.cpu_seconds}",
            f"--fsize={self.file_mb * 2**20}",
            f"--nofile={self.open_files}",
            "--",
        ]


def kernel_env() -> dict[str, str]:
    """Environment of a grading kernel: the grader's own, with single-threaded math libraries."""
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    # Jupyter's own noise (e.g. the unencrypted-TCP notice) must not reach a cell's stderr.
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


class LimitedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel command runs behind a prefix (``prlimit …``)."""

    command_prefix = List(Unicode(), help="Command placed before the kernel's argv.").tag(
        config=True
    )

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        # The kernel spec's `python` may be a bare name; grading uses this interpreter's kernel.
        if command and os.path.basename(command[0]).startswith("python"):
            command[0] = sys.executable
        return [*self.command_prefix, *command]
