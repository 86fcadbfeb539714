"""Isolate a grading kernel before any student code runs (Linux namespaces, no extra tools).

Called in the forked child that is about to become the kernel, as root. It gives the process
its own mount and network namespaces and builds it a file system of its own: the system
directories (``/usr``, ``/lib``, ``/etc``, ``/dev``, ``/proc``), the Python installation and
virtual environment the kernel runs from, an empty ``/tmp``, and the kernel's own working
directory — nothing else. Course directories, the ``grader`` package (reference solutions,
hidden tests), the gradebook, other kernels' files and home directories are simply not there,
wherever they are on the machine. The network namespace has no interfaces (the kernel talks to
the grader over Unix sockets in its working directory). Last, the process drops root for a
user id of its own, which makes the process limit effective and the rest read-only to it.

Where namespaces are not available (not root, a container or CI runner without the
privilege) nothing is hidden: the kernel keeps its resource limits and the grader prints a
warning.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from dataclasses import dataclass, field

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000
# What every process needs; everything else is left out of the kernel's file system.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc")


@dataclass(frozen=True)
class Plan:
    """What one kernel may see, and whom it runs as.

    Attributes
    ----------
    workdir : str
        The kernel's own working directory (visible and writable).
    keep : list of str
        Directories that stay visible besides the system ones (the interpreter, the
        environment).
    uid : int
        User (and group) id the kernel runs as once isolated.
    """

    workdir: str
    keep: list[str] = field(default_factory=list)
    uid: int = 65534


def plan_for(workdir: str, uid: int) -> Plan:
    """Show the kernel the interpreter, its environment and ``workdir``, nothing else."""
    keep = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return Plan(workdir=os.path.realpath(workdir), keep=sorted(keep), uid=uid)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def isolate(plan: Plan) -> str:  # pragma: no cover - runs in the forked kernel child
    """Apply ``plan`` to this process; return ``"isolated"`` or why it could not be.

    Must run before the process starts threads. A failure before the new root is entered
    leaves the process as it was; a failure after that raises, and the kernel does not start.
    """
    if sys.platform != "linux":
        return "not isolated: namespaces need Linux"
    if os.geteuid() != 0:
        return "not isolated: the grader does not run as root"
    libc = _libc()
    try:
        _call(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    except OSError as error:
        return f"not isolated: {error}"
    _call(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    # The new root lives inside the working directory: the grader removes it with the rest.
    root = os.path.join(plan.workdir, ".root")
    os.makedirs(root, exist_ok=True)
    _call(libc.mount(b"tmpfs", root.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                     b"mode=0755,size=1m"), "new root")
    for path in SYSTEM:
        _show(libc, root, path)
    _tmpfs(libc, root + "/tmp", b"mode=1777,size=64m")
    _tmpfs(libc, root + "/dev/shm", b"mode=1777,size=64m")
    for path in (*plan.keep, plan.workdir):
        _show(libc, root, path)
    os.chroot(root)
    os.chdir(plan.workdir)
    os.setgroups([])
    os.setgid(plan.uid)
    os.setuid(plan.uid)
    return "isolated"


def _show(libc: ctypes.CDLL, root: str, path: str) -> None:
    """Make ``path`` of the host appear at the same place under ``root``."""
    if not os.path.lexists(path):
        return
    target = root + path
    if os.path.islink(path) and path in SYSTEM:  # /bin -> usr/bin on a merged /usr
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return
    os.makedirs(target, exist_ok=True)
    # system directories come with what is mounted below them (/dev/pts, /proc/...); the
    # working directory must not (the new root itself is mounted inside it)
    flags = MS_BIND | (MS_REC if path in SYSTEM else 0)
    _call(libc.mount(path.encode(), target.encode(), None, flags, None), f"show {path}")


def _tmpfs(libc: ctypes.CDLL, target: str, options: bytes) -> None:
    os.makedirs(target, exist_ok=True)
    _call(libc.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options),
          f"empty {target}")
