"""Isolate a grading kernel before any student code runs (Linux namespaces, no extra tools).

Called in the forked child that is about to become the kernel, as root. It gives the process
its own mount and network namespaces, then hides what a student must not see: the course
directory (solutions, hidden tests, the gradebook, other students' work) except the virtual
environment the kernel runs from, the ``grader`` package wherever it is installed, other
kernels' working directories under ``/tmp``, and home directories. The network namespace has
no interfaces, so the kernel has no network (it talks to the grader over Unix sockets in its
working directory). Last, the process drops root for a user id of its own, which makes the
process limit effective and the rest of the file system read-only to it.

Where namespaces are not available (a container without the privilege, a CI runner without
user namespaces) nothing is hidden: the kernel keeps its resource limits and the grader
prints a warning.
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
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
HOMES = ("/root", "/home")


@dataclass(frozen=True)
class Plan:
    """What one kernel may see, what it may not, and whom it runs as.

    Attributes
    ----------
    workdir : str
        The kernel's own working directory (stays visible and writable).
    hide : list of str
        Paths to cover: directories with an empty file system, files with ``/dev/null``.
    keep : list of str
        Paths that stay visible even inside a hidden one (the interpreter, the environment).
    uid : int
        User (and group) id the kernel runs as once isolated.
    """

    workdir: str
    hide: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    uid: int = 65534


def plan_for(course_root: str, workdir: str, uid: int) -> Plan:
    """Hide the course directory, the ``grader`` package (and the checkout it was installed
    from), scratch and home directories; keep the interpreter and the environment."""
    import grader

    package = os.path.dirname(os.path.realpath(grader.__file__))
    keep = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    hide = [os.path.realpath(course_root), package, *SCRATCH, *HOMES]
    # grader installed from a course checkout (an editable install): that course too
    checkout = os.path.dirname(package)
    if any(os.path.exists(os.path.join(checkout, n)) for n in ("nbgrader_config.py", "source")):
        hide.append(checkout)
    return Plan(workdir=os.path.realpath(workdir), hide=hide,
                keep=sorted(keep | {os.path.realpath(workdir)}), uid=uid)


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def isolate(plan: Plan) -> str:  # pragma: no cover - runs in the forked kernel child
    """Apply ``plan`` to this process; return ``"isolated"`` or why it could not be.

    Must run before the process starts threads. A failure before anything is hidden leaves
    the process as it was; a failure after that raises, and the kernel does not start.
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
    # Handles on what must stay visible: covering a parent hides the path, not the handle.
    keep = {path: os.open(path, os.O_PATH) for path in plan.keep if os.path.exists(path)}
    covered: list[str] = []
    late = []
    for path in sorted(set(plan.hide), key=len):
        if any(_inside(path, done) for done in covered) or not os.path.exists(path):
            continue
        if any(_inside(path, kept) for kept in keep):
            late.append(path)  # inside the environment: cover it once that is back
            continue
        scratch = path in SCRATCH
        _cover(libc, path, b"mode=1777,size=64m" if scratch else b"mode=0755,size=1m")
        covered.append(path)
    for path, handle in sorted(keep.items()):
        if any(_inside(path, done) for done in covered):
            if os.path.isdir(f"/proc/self/fd/{handle}"):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            _call(libc.mount(f"/proc/self/fd/{handle}".encode(), path.encode(), None,
                             MS_BIND | MS_REC, None), f"keep {path}")
        os.close(handle)
    for path in late:
        _cover(libc, path, b"mode=0755,size=1m")
    os.setgroups([])
    os.setgid(plan.uid)
    os.setuid(plan.uid)
    return "isolated"


def _cover(libc: ctypes.CDLL, path: str, options: bytes) -> None:
    target = path.encode()
    if os.path.isdir(path):
        _call(libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options),
              f"hide {path}")
    else:
        _call(libc.mount(b"/dev/null", target, None, MS_BIND, None), f"hide {path}")
