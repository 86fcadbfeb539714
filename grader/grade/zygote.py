"""Fresh kernels on demand, forked from a clean, warm process.

Starting a Python kernel costs about a second of CPU, mostly imports, paid again for every
submission. Each grading worker forks a *factory* first thing, while it is still
single-threaded and before it imports the hidden tests or the reference solutions: the
factory holds the modules the template preloaded and an IPython shell already configured,
and nothing of the grader's secrets. Whenever the worker needs a kernel (one per submission,
one more after a kernel died, a clean one to measure a function), the factory forks: the
child applies its sandbox and limits and becomes the kernel (:mod:`grader.grade.shell`), a
fresh process that has run nothing of anyone else's, booted in milliseconds.

Each kernel has a supervisor (:mod:`grader.grade.supervisor`): the factory forks it, into a
PID namespace of its own where the machine allows, and it forks the kernel. It owns every
process the kernel starts, ends them all with the kernel, and tells the worker how the
kernel ended.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import resource
import signal
import socket
import sys
from typing import Any

from grader.grade import cgroups
from grader.grade.sandbox import Plan, isolate, private_proc
from grader.grade.supervisor import PidNamespaces, supervise


class KernelFactory:
    """A forked process that forks kernels when asked; create it before any thread starts.

    Parameters
    ----------
    arguments : list of str
        The kernels' command-line options (``Execute.extra_arguments`` and the defaults).
    """

    def __init__(self, arguments: list[str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the factory never returns
            ours.close()
            _factory(theirs, arguments)
        theirs.close()
        self.pid = pid
        self._socket = ours

    def order(self, order: dict[str, Any], fds: list[int]) -> None:
        """Ask for a kernel that gets ``fds`` (its ends of the pipes, then its supervisor's
        socket to the worker) and obeys ``order``."""
        socket.send_fds(self._socket, [json.dumps(order).encode()], fds)

    def close(self) -> None:
        """Let the factory exit, and wait for it."""
        self._socket.close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _close_inherited(keep: tuple[int, ...]) -> None:
    """Close every descriptor this process inherited, but standard streams and ``keep``.

    A fork inherits all of its parent's descriptors, the worker's pipe to the scheduler among
    them: a kernel that could write there could send the grader an answer in its worker's name.
    """
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _factory(sock: socket.socket, arguments: list[str]) -> None:  # pragma: no cover - forked
    code = 1
    try:
        _close_inherited((sock.fileno(),))
        # Nothing of this process may reach the grader's terminal (the kernels get pipes).
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from grader.grade.shell import GradingShell, shell_config

        config, lines = shell_config(arguments)
        shell = GradingShell.instance(config=config)
        if "matplotlib" in sys.modules:
            # Imported by a parent, which may have chosen another backend: figures are shown
            # inline, as `%matplotlib inline` would make them (and as a kernel does by itself
            # when it imports matplotlib first).
            shell.enable_matplotlib("inline")
        for line in lines:
            shell.run_cell(line, store_history=False, silent=True)
        namespaces = PidNamespaces()
        cgroups.hierarchies()  # looked up once, here: every supervisor inherits the answer
        # Kernels share these pages copy-on-write; a collection walking them would copy them.
        gc.freeze()
        while True:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 8)
            if not message:
                break
            order = json.loads(message)
            refused = namespaces.enter() if order.get("contain", True) else "turned off"
            try:
                child = os.fork()
                if child == 0:
                    _close_inherited(tuple(fds))
                    supervise(order, fds, functools.partial(_kernel, order, fds[:4], shell),
                              refused)
            finally:
                if refused is None:
                    namespaces.leave()
            for fd in fds:
                os.close(fd)
            _reap_finished()
        code = 0
    finally:
        os._exit(code)


def _reap_finished() -> None:
    """Collect the supervisors that have exited (each reported to its worker already)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


#: Processes past the limit that ``RLIMIT_NPROC`` allows when a control group counts them:
#: the group refuses first, and says so (the supervisor reports it).
SLACK = 8


def _apply_limits(limits: dict[str, Any], counted: bool) -> None:
    mib = 2**20
    for name, value in (
        (resource.RLIMIT_AS, limits["memory_mb"] * mib),
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_FSIZE, limits["file_mb"] * mib),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        # counts this user's processes: effective once the kernel no longer runs as root
        (resource.RLIMIT_NPROC, limits["processes"] + (SLACK if counted else 0)),
    ):
        resource.setrlimit(name, (value, value))


def _kernel(order: dict[str, Any], fds: list[int], shell: Any, contained: bool,
            counted: bool) -> None:  # pragma: no cover - forked
    """Become a kernel: isolate, limit, connect the shell to the pipes, serve.

    ``contained``: first in a PID namespace of its own (its supervisor is process 1);
    ``counted``: a control group limits its processes.
    """
    from grader.grade import shell as kernel_side

    code = 1
    try:
        to_kernel, to_worker, out, err = fds
        _close_inherited(tuple(fds))
        os.setsid()  # a process group of its own, so interrupts and kills reach only it
        # The grading code this process inherited is no business of the student's.
        for name in [m for m in sys.modules if m == "grader" or m.startswith("grader.")]:
            del sys.modules[name]
        status = "not isolated: disabled"
        if order["sandbox"]:
            status = isolate(Plan(**order["sandbox"]), own_proc=contained)
        elif contained:
            private_proc()
        os.chdir(order["cwd"])
        null = os.open(os.devnull, os.O_RDWR)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
            os.close(source)
        os.environ.clear()
        os.environ.update(order["env"])
        _apply_limits(order["limits"], counted)
        kernel_side.start(shell, to_kernel, to_worker)
        shell.send({"op": "ready", "pid": os.getpid(), "sandbox": status})
        kernel_side.serve(shell, to_kernel)
        code = 0
    finally:
        os._exit(code)
