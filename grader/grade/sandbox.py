"""Isolate a grading kernel before any student code runs (Linux namespaces, no extra tools).

Called in the forked child that is about to become the kernel, as root. It gives the process
its own mount and network namespaces and builds it a file system of its own: the system
directories (``/usr``, ``/lib``, ``/etc``, ``/dev``, and a ``/proc`` that shows only the
kernel's own PID namespace where it has one), the Python installation and
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
import functools
import os
import shutil
import sys
from dataclasses import dataclass, field

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
# What every process needs; everything else is left out of the kernel's file system.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc")


@dataclass(frozen=True)
class Plan:
    """What one kernel may see and write, and whom it runs as.

    Attributes
    ----------
    workdir : str
        The kernel's working directory. Its files (the instructor's data) are copied into
        the kernel's own disk, where the kernel finds them at the same path.
    keep : list of str
        Directories that stay visible besides the system ones (the interpreter, the
        environment).
    uid : int
        User (and group) id the kernel runs as once isolated.
    disk_mb : int
        Size of the one file system that holds everything the kernel can write: its working
        directory, ``/tmp`` and ``/dev/shm``.
    """

    workdir: str
    keep: list[str] = field(default_factory=list)
    uid: int = 65534
    disk_mb: int = 256


def plan_for(workdir: str, uid: int, disk_mb: int = 256) -> Plan:
    """Show the kernel the interpreter, its environment and ``workdir``, nothing else."""
    keep = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return Plan(workdir=os.path.realpath(workdir), keep=sorted(keep), uid=uid, disk_mb=disk_mb)


#: Where a sandboxed kernel's disk is mounted, inside its own root.
DISK = "/.disk"


@functools.lru_cache(maxsize=1)
def c_library() -> ctypes.CDLL:
    """The C library (looked up once: ``find_library`` runs ``ldconfig``, a process each time,
    so the factory looks it up and every kernel inherits it)."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def isolate(plan: Plan, own_proc: bool = False) -> str:  # pragma: no cover - in the kernel
    """Apply ``plan`` to this process; return ``"isolated"`` or why it could not be.

    ``own_proc``: the process is in a PID namespace of its own (:mod:`grader.grade.supervisor`),
    and gets a ``/proc`` of that namespace, which shows its own processes and no others.
    Must run before the process starts threads. A failure before the new root is entered
    leaves the process as it was; a failure after that raises, and the kernel does not start.
    """
    if sys.platform != "linux":
        return "not isolated: namespaces need Linux"
    if os.geteuid() != 0:
        return "not isolated: the grader does not run as root"
    libc = c_library()
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
        if path == "/proc" and own_proc:
            os.makedirs(root + path)
            _proc(libc, root + path)
        else:
            _show(libc, root, path)
    # One file system of a fixed size holds all the kernel can write: a cell that fills it
    # gets "No space left on device", and the machine's own disk is never touched.
    disk = root + DISK
    _tmpfs(libc, disk, f"mode=0755,size={plan.disk_mb}m".encode())
    places = {"tmp": "/tmp", "shm": "/dev/shm", "work": plan.workdir}
    for name, target in places.items():
        os.makedirs(f"{disk}/{name}")
        os.chown(f"{disk}/{name}", plan.uid, plan.uid)
        os.makedirs(root + target, exist_ok=True)
        _call(libc.mount(f"{disk}/{name}".encode(), (root + target).encode(), None, MS_BIND,
                         None), f"place {target}")
    os.chmod(f"{disk}/tmp", 0o1777)
    os.chmod(f"{disk}/shm", 0o1777)
    for path in plan.keep:
        _show(libc, root, path)
    _copy_files(plan.workdir, f"{disk}/work", plan.uid)
    os.chroot(root)
    os.chdir(plan.workdir)
    os.setgroups([])
    os.setgid(plan.uid)
    os.setuid(plan.uid)
    return "isolated"


def private_proc() -> bool:  # pragma: no cover - runs in the forked kernel child
    """Give this process (first in a PID namespace of its own, not sandboxed) a ``/proc`` of
    its namespace: its process ids mean there what they mean to it. False if it cannot be."""
    libc = c_library()
    try:
        _call(libc.unshare(CLONE_NEWNS), "unshare")
        _call(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        _proc(libc, "/proc")
    except OSError:
        return False
    return True


def _proc(libc: ctypes.CDLL, target: str) -> None:
    _call(libc.mount(b"proc", target.encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
          f"proc at {target}")


def _copy_files(source: str, target: str, uid: int) -> None:
    """Copy the instructor's files the worker put in ``source`` onto the kernel's disk."""
    for entry in os.scandir(source):
        if entry.name == ".root":
            continue
        destination = os.path.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, destination, symlinks=True)
        else:
            shutil.copy2(entry.path, destination, follow_symlinks=False)
    for folder, dirs, files in os.walk(target):
        for name in (*dirs, *files):
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


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
