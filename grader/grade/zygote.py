"""Fresh kernels on demand, forked from a clean, warm process.

Starting a Python kernel costs about a second of CPU, mostly imports, paid again for every
submission. Each grading worker forks a *factory* first thing, while it is still
single-threaded and before it imports the hidden tests or the reference solutions: the
factory holds the modules the template preloaded and an IPython shell already configured,
and nothing of the grader's secrets. Whenever the worker needs a kernel (one per submission,
one more after a kernel died, a clean one to measure a function), the factory forks: the
child applies its sandbox and limits and becomes the kernel (:mod:`grader.grade.shell`), a
fresh process that has run nothing of anyone else's, booted in milliseconds.

The child is forked twice, so that the worker — a child subreaper — becomes its parent: the
worker can wait for it, read how it ended and leave no zombie behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import resource
import signal
import socket
import sys
from typing import Any

from grader.grade.sandbox import Plan, isolate

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants of this process its children (Linux); True if it worked.

    ``on=False`` undoes it (a test process that borrowed the role gives it back).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


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
        """Ask for a kernel that gets ``fds`` (its ends of the pipes) and obeys ``order``."""
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
        # Kernels share these pages copy-on-write; a collection walking them would copy them.
        gc.freeze()
        while True:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 8)
            if not message:
                break
            child = os.fork()
            if child == 0:
                sock.close()
                if os.fork() == 0:
                    _kernel(json.loads(message), fds, shell)
                os._exit(0)
            for fd in fds:
                os.close(fd)
            os.waitpid(child, 0)
        code = 0
    finally:
        os._exit(code)


def _apply_limits(limits: dict[str, Any]) -> None:
    mib = 2**20
    for name, value in (
        (resource.RLIMIT_AS, limits["memory_mb"] * mib),
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_FSIZE, limits["file_mb"] * mib),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        # counts this user's processes: effective once the kernel no longer runs as root
        (resource.RLIMIT_NPROC, limits["processes"]),
    ):
        resource.setrlimit(name, (value, value))


def _kernel(order: dict[str, Any], fds: list[int], shell: Any) -> None:  # pragma: no cover
    """Become a kernel: isolate, limit, connect the shell to the pipes, serve."""
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
            status = isolate(Plan(**order["sandbox"]))
        os.chdir(order["cwd"])
        null = os.open(os.devnull, os.O_RDWR)
        for source, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(source, target)
            os.close(source)
        os.environ.clear()
        os.environ.update(order["env"])
        _apply_limits(order["limits"])
        kernel_side.start(shell, to_kernel, to_worker)
        shell.send({"op": "ready", "pid": os.getpid(), "sandbox": status})
        kernel_side.serve(shell, to_kernel)
        code = 0
    finally:
        os._exit(code)
