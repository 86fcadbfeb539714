"""What a run leaves behind when it is killed, swept up by the next run.

Every scratch directory of a run (the grading process's own, each kernel's working
directory, a Dask worker's), every staging folder of the writer in ``autograded/`` and every
control group of a kernel (:mod:`grader.grade.cgroups`) is named after the process that owns
it: its process id and start time (:func:`owner`), which no other process has at the same
time. One whose owner is gone was left by a run that was killed (``kill -9``, a crash, the
machine's OOM killer) and is removed by the next run; one whose owner lives belongs to a run
going on now, perhaps another one on the same machine, and is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

#: Scratch directories in the temporary directory: a run's own, its kernels', a Dask
#: worker's, ``grader ci``'s copy of the course.
PREFIXES = ("grader-run-", "grader-kernel-", "grader-cluster-", "grader-ci-")
_OWNED = re.compile(r"(\d+)-(\d+)-")


def started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        # the name in parentheses may hold spaces: count fields after its closing one
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def owner(pid: int | None = None) -> str:
    """``PID-START`` of process ``pid`` (default: this one)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{started(pid) or 0}"


def alive(token: str) -> bool:
    """Whether the process named by ``token`` (from :func:`owner`) still runs."""
    pid, _, start = token.partition("-")
    if not os.path.isdir("/proc/self"):
        return True  # nothing can be told: nothing is swept
    return started(int(pid)) == int(start)


def scratch(prefix: str, parent: str | Path | None = None) -> Path:
    """A new directory named ``PREFIX PID-START-random`` after this process."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{owner()}-", dir=parent))


def owned_by(name: str, prefix: str) -> str | None:
    """The owner named in ``name`` (made by :func:`scratch` with ``prefix``), or None."""
    if not name.startswith(prefix):
        return None
    match = _OWNED.match(name, len(prefix))
    return f"{match[1]}-{match[2]}" if match else None


def sweep_scratch(parent: str | Path | None = None) -> list[Path]:
    """Remove the scratch directories in ``parent`` (default: the temporary directory) whose
    owner is gone; return them."""
    folder = Path(parent or tempfile.gettempdir())
    swept = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        token = next((t for p in PREFIXES if (t := owned_by(entry.name, p))), None)
        if token is None or alive(token):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        swept.append(Path(entry.path))
    return swept


def sweep() -> list[Path]:
    """Everything of this machine's killed runs: scratch directories and control groups."""
    from grader.grade import cgroups

    return [*sweep_scratch(), *cgroups.sweep()]
