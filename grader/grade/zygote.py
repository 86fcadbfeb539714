"""Fresh kernels without the import bill: fork them from a warm template process.

Starting a Python kernel costs about a second of CPU, mostly imports (ipykernel, NumPy,
scikit-learn), paid again for every submission. The grading workers are forked from a
forkserver that has imported those modules once; each worker, while it is still
single-threaded, forks one child that waits for its launch order. When jupyter_client launches
the kernel, the order is sent and the child becomes the kernel with the modules already in
memory: still a fresh process per submission (nothing another submission ran is in it), but
one that boots in a fraction of the time.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time
from typing import Any

from grader.grade.kernel import Limits
from grader.grade.sandbox import Plan, isolate

_LAUNCHER = "ipykernel_launcher"


class ForkedKernel:
    """A forked child waiting to become a kernel; a ``subprocess.Popen`` look-alike.

    Create it before the process starts any thread: a fork copies only the calling thread, and
    locks held by others would stay locked forever in the child.
    """

    stdin = stdout = stderr = None

    def __init__(self) -> None:
        orders_in, orders_out = os.pipe()
        reports_in, reports_out = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            os.close(orders_out)
            os.close(reports_in)
            _become_kernel(orders_in, reports_out)
        os.close(orders_in)
        os.close(reports_out)
        self.pid = pid
        self.returncode: int | None = None
        self._orders = orders_out
        self._reports = reports_in

    def launch(self, cmd: list[str], cwd: str, env: dict[str, str], limits: Limits,
               sandbox: Plan | None = None) -> str:
        """Tell the child to run ``cmd`` (an ipykernel command line, or any other kernel).

        Returns how the child is isolated: ``"isolated"``, or ``"not isolated: why"``.
        """
        order = json.dumps({"cmd": cmd, "cwd": cwd, "env": env, "limits": limits.__dict__,
                            "sandbox": sandbox.__dict__ if sandbox else None})
        with os.fdopen(self._orders, "w") as pipe:
            pipe.write(order)
        ready, _, _ = select.select([self._reports], [], [], 30)
        status = os.read(self._reports, 4096).decode() if ready else ""
        os.close(self._reports)
        return status or "not isolated: the kernel did not report"

    def cancel(self) -> None:
        """Let an unused child exit."""
        try:
            os.close(self._orders)
        except OSError:
            pass
        self.wait()

    # -- the Popen interface jupyter_client's LocalProvisioner uses --
    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0
                return 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                return None
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _owned(workdir: str) -> list[str]:
    """Files the worker already put in the working directory (connection file, data)."""
    return [os.path.join(root, name) for root, dirs, files in os.walk(workdir)
            for name in (*dirs, *files)]


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


def _become_kernel(orders: int, reports: int) -> None:  # pragma: no cover - forked child
    code = 1
    try:
        _close_inherited((orders, reports))
        with os.fdopen(orders) as pipe:
            text = pipe.read()
        if not text:  # the worker ended without needing a kernel
            os._exit(0)
        order = json.loads(text)
        os.setsid()  # a process group of its own, so interrupts and kills reach only it
        # The grading code this process inherited is no business of the student's.
        for name in [m for m in sys.modules if m == "grader" or m.startswith("grader.")]:
            del sys.modules[name]
        status = "not isolated: disabled"
        if order["sandbox"] and os.geteuid() != 0:
            status = "not isolated: the grader does not run as root"
        elif order["sandbox"]:
            plan = Plan(**order["sandbox"])
            for path in (plan.workdir, *_owned(plan.workdir)):
                os.chown(path, plan.uid, plan.uid)
            status = isolate(plan)
        os.write(reports, status.encode())
        os.close(reports)
        os.chdir(order["cwd"])
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.environ.clear()
        os.environ.update(order["env"])
        _apply_limits(order["limits"])
        cmd = order["cmd"]
        if _LAUNCHER not in cmd:
            os.execvpe(cmd[0], cmd, order["env"])
        argv = cmd[cmd.index(_LAUNCHER) + 1:]
        sys.argv = [_LAUNCHER, *argv]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=argv)
        code = 0
    finally:
        os._exit(code)
