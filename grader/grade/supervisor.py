"""The first process of every kernel: it owns every process the kernel starts.

The kernel factory (:mod:`grader.grade.zygote`) forks a supervisor for each kernel, and the
supervisor forks the kernel. Where the machine allows it (Linux, root), the supervisor is
process 1 of a PID namespace of its own, made for it alone:

- every process the kernel starts, however it detaches (a new session, a double fork,
  another process group), is in that namespace, and the namespace ends with the kernel: its
  supervisor kills what is left, and the kernel of Linux kills anything that remains when
  process 1 exits;
- a process of the namespace can signal no process outside it: not its worker, the grader
  or the machine's (``os.kill(-1, ...)`` reaches the namespace only, ``os.getppid()`` is 0);
  and process 1 of a namespace ignores the signals it has no handler for when they come from
  inside, so the kernel can neither kill nor stop its supervisor.

It also makes control groups for the kernel, which the kernel joins first thing
(:mod:`grader.grade.cgroups`): the kernel's processes together get at most its process count,
its memory and one core, and their CPU time counts against its CPU limit. The supervisor
stays out of them, so a kernel that fills its share of the machine cannot slow the process
that is to end it.

Without the privilege, the supervisor is the kernel's child subreaper instead: a descendant
that detaches becomes its child when its parent ends, and when the kernel ends the supervisor
kills every such child until none is left; the kernel dies with its supervisor.

It talks to the worker over a socket: the worker asks it to interrupt (``i``) or kill
(``k``) the kernel; it says hello (its process ids, the containment in words, the control
groups) and, once the kernel and every process it started are gone, how the kernel ended and
the CPU time of them all. A kernel that stops (``SIGSTOP``) is killed at once, and the worker
going away ends the kernel too.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from grader.grade import cgroups, leftovers
from grader.grade.sandbox import c_library as _libc

CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants of this process its children (Linux); True if it worked.

    ``on=False`` undoes it (a test process that borrowed the role gives it back).
    """
    try:
        return _libc().prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent: int) -> bool:
    """Be killed when this process's parent ``parent`` ends; False if it has ended already."""
    try:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    return os.getppid() == parent


class PidNamespaces:
    """Where the factory forks supervisors: each into a PID namespace of its own, if it can."""

    def __init__(self) -> None:
        self._own: int | None = None
        self.refused: str | None = None
        if sys.platform != "linux":
            self.refused = "PID namespaces need Linux"
        elif os.geteuid() != 0:
            self.refused = "the grader does not run as root"
        else:
            try:
                self._own = os.open("/proc/self/ns/pid", os.O_RDONLY)
                _libc()  # looked up now, not in the kernels' namespaces
            except OSError as error:
                self.refused = f"no PID namespace: {error.strerror}"

    def enter(self) -> str | None:
        """Make this process's next child process 1 of a new namespace; None, or why not."""
        if self._own is None:
            return self.refused
        libc = _libc()
        if libc.unshare(CLONE_NEWPID) != 0:
            return f"no PID namespace: {os.strerror(ctypes.get_errno())}"
        return None

    def leave(self) -> None:
        """The next children are this process's own namespace's again."""
        assert self._own is not None
        if _libc().setns(self._own, CLONE_NEWPID) != 0:
            raise OSError(ctypes.get_errno(), "setns: cannot return to the factory's namespace")


def supervise(order: dict[str, Any], fds: list[int], kernel: Callable[[bool, bool], None],
              refused: str | None) -> NoReturn:  # pragma: no cover - runs in a forked child
    """Be the supervisor of a kernel, then exit. Called in the factory's child.

    ``fds`` are the kernel's four pipes and the supervisor's socket to the worker;
    ``kernel(contained, counted)`` becomes the kernel (it never returns); ``refused`` says
    why this process is not process 1 of a namespace of its own (None: it is).
    """
    code = 1
    try:
        *pipes, control = fds
        contained = refused is None and os.getpid() == 1
        if not contained:
            become_subreaper()
        host = _host_pid()
        limits = order["limits"]
        group = None
        if order.get("contain", True):
            group = cgroups.Group.create(f"{cgroups.PREFIX}{leftovers.owner(host)}",
                                         processes=limits["processes"],
                                         memory_mb=limits["memory_mb"] + limits["disk_mb"])
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(control)
            if not contained and not die_with_parent(me):
                os._exit(1)
            if group is not None and not group.join():
                os._exit(1)  # it would not be counted: it does not start
            kernel(contained, group is not None and "processes" in group.roles)
        for fd in pipes:
            os.close(fd)
        words = "own PID namespace" if contained else (
            f"process group and subreaper only ({refused or 'not process 1'})")
        words += "; " + (group.describe() if group else "no control group")
        _serve(socket.socket(fileno=control), pid, group, contained, limits, {
            "op": "hello", "pid": host, "start": leftovers.started(host),
            "kernel": _kernel_pid(pid, host, contained), "containment": words,
            "groups": {role: str(path) for role, path in (group.roles if group else {}).items()}})
        code = 0
    finally:
        os._exit(code)


def _serve(control: socket.socket, kernel: int, group: cgroups.Group | None, contained: bool,
           limits: dict[str, Any], hello: dict[str, Any]) -> None:  # pragma: no cover
    _send(control, hello)
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    reason: str | None = None
    listening = True
    while True:
        status, stopped = _reap(kernel)
        if status is not None:
            break
        if stopped is not None and reason is None:
            reason = f"it was stopped by {_name(stopped)} and then killed"
            _kill(kernel, contained)
        watched = [wake_r, control] if listening else [wake_r]
        readable = select.select(watched, [], [])[0]
        if wake_r in readable:
            while True:
                try:
                    if not os.read(wake_r, 512):
                        break
                except BlockingIOError:
                    break
        if control in readable:
            try:
                asked = control.recv(64)
            except OSError:
                asked = b""
            if not asked:  # the worker is gone: nobody will grade with this kernel
                listening = False
                _kill(kernel, contained)
            for byte in asked:
                if byte == ord("i"):
                    os.kill(kernel, signal.SIGINT)
                elif byte == ord("k"):
                    _kill(kernel, contained)
    _end_all(contained)
    if reason is None and group is not None:
        counters = group.counters()
        if counters.refused_processes():
            reason = f"its processes reached the limit of {limits['processes']} processes"
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and \
                counters.memory_kills():
            reason = (f"killed: its processes used more than their {limits['memory_mb']} MB "
                      f"of memory and {limits['disk_mb']} MB of disk")
        counters.close()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel's and every reaped one
    if listening:
        _send(control, {"op": "exit", "status": status, "reason": reason,
                        "cpu": usage.ru_utime + usage.ru_stime})
    if group is not None:
        group.remove()


def _name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    try:
        control.sendall(json.dumps(message).encode() + b"\n")
    except OSError:  # the worker is gone
        pass


def _reap(kernel: int) -> tuple[int | None, int | None]:
    """Reap every child that ended; the kernel's wait status, or the signal that stopped it."""
    status = stopped = None
    while True:
        try:
            pid, result = os.waitpid(-1, os.WNOHANG | os.WUNTRACED)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid == kernel:
            if os.WIFSTOPPED(result):
                stopped = os.WSTOPSIG(result)
            else:
                status = result
    return status, stopped


def _kill(kernel: int, contained: bool) -> None:
    """Kill the kernel (not reaped yet, so its process id and group are still its own)."""
    kills = [os.kill] if contained else [os.killpg, os.kill]
    for kill in kills:
        try:
            kill(kernel, signal.SIGKILL)
        except OSError:
            pass


def _end_all(contained: bool) -> None:
    """Kill and reap every process left once the kernel has ended, until none is left."""
    while True:
        if contained and os.getpid() == 1:
            # process 1 of the kernel's own namespace: -1 is that namespace and nothing else
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        else:
            # the subreaper: a descendant whose parent ended is a child of this process now
            left = children()
            if not left:
                _reap(-1)
                return
            for child in left:
                try:
                    os.kill(child, signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def children() -> list[int]:
    """This process's children, zombies included (Linux ``/proc``; empty elsewhere)."""
    found: list[int] = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as handle:
                found.extend(int(pid) for pid in handle.read().split())
    except (OSError, ValueError):
        pass
    return found


def _host_pid() -> int:
    """This process's id as the worker knows it (the machine's ``/proc`` names it)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def _kernel_pid(kernel: int, host: int, contained: bool) -> int | None:
    """The kernel's process id as the worker knows it: the supervisor's only child."""
    if not contained:
        return kernel
    try:
        with open(f"/proc/{host}/task/{host}/children") as handle:
            children = [int(pid) for pid in handle.read().split()]
    except (OSError, ValueError):
        return None
    return children[0] if len(children) == 1 else None


def end_strays(keep: set[int]) -> int:
    """Kill and reap every child of this process (a subreaper) but ``keep``; return how many.

    A worker's only child is its kernel factory; any other is a process that outlived its
    supervisor (an unprivileged grader's kernel that killed it) and was handed to the worker.
    """
    ended = 0
    for _ in range(100):  # each round, the children of the killed ones become this one's
        strays = [pid for pid in children() if pid not in keep]
        if not strays:
            break
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                ended += 1
            except (OSError, ChildProcessError):
                pass
    return ended
