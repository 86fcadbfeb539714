"""A grading kernel as its worker sees it: a limited process behind three pipes.

The student's code runs in the kernel, so it gets hard limits (address space, CPU time, file
size, open files, processes, disk), applied by the forked child itself
(:mod:`grader.grade.zygote`), and single-threaded BLAS, so that parallel grading does not
oversubscribe the machine and one submission cannot starve the others.

:class:`Kernel` is the worker's handle: it sends requests (run a cell, call a function) and
waits for the answer while it drains the kernel's standard output and error into a sink, so
the kernel never blocks on a full pipe. Everything that comes back is bounded: an answer too
large is dropped as it arrives, and a kernel that stops answering, stops reading or dies is
noticed within the deadline. The kernel's supervisor (:mod:`grader.grade.supervisor`) says
how it ended once it and every process it started are gone; after every request, the handle
reads what the kernel's control group has counted, and a kernel whose processes reached their
limit is stopped there, during the request that did it.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from grader.grade import channel, leftovers
from grader.grade.cgroups import Counters
from grader.grade.template import INLINE_FIGURES, THREAD_VARIABLES

if TYPE_CHECKING:
    from grader.grade.sandbox import Plan
    from grader.grade.zygote import KernelFactory

#: Seconds an interrupted cell or call gets to stop before its kernel is killed.
GRACE = 3.0
#: Largest output message kept while a cell runs (the sink bounds the rest).
OUTPUT_FRAME = 4 * 2**20
#: Seconds between looks at a kernel's control group while a request runs.
WATCH = 1.0


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading kernel.

    Parameters
    ----------
    memory_mb : int
        Address-space limit in MiB (``RLIMIT_AS``); an allocation beyond it raises MemoryError.
        The kernel's processes together get this much memory and their disk (their control
        group's limit).
    cpu_seconds : int
        CPU-time limit of the kernel process (``RLIMIT_CPU``) and of all its processes
        together (read from its control group); the kernel is killed past it.
    file_mb : int
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    open_files : int
        Open file descriptors (``RLIMIT_NOFILE``).
    processes : int
        Processes and threads of the kernel and everything it starts (its control group's
        ``pids.max``; ``RLIMIT_NPROC`` of a sandboxed kernel's user too, root is exempt).
    disk_mb : int
        Everything the kernel may write, in total: the size of its own file system when it is
        sandboxed; without the sandbox, its working directory is measured after every cell.
    """

    memory_mb: int = 2048
    cpu_seconds: int = 600
    file_mb: int = 64
    open_files: int = 256
    processes: int = 64
    disk_mb: int = 256


def kernel_env() -> dict[str, str]:
    """Environment of a grading kernel: the grader's own, with single-threaded math libraries."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    # Figures are sent as images, as in Jupyter, whatever backend the grader itself uses.
    env["MPLBACKEND"] = INLINE_FIGURES
    return env


class KernelLost(Exception):
    """The kernel died, or had to be killed; the message says how."""


class Timeout(Exception):
    """The kernel did not answer before the deadline."""


class Sink(Protocol):
    """Where a kernel's outputs go while a request runs."""

    def stream(self, name: str, data: bytes) -> None: ...
    def output(self, output: dict[str, Any]) -> None: ...
    def clear(self, wait: bool) -> None: ...
    def dropped(self, size: int) -> None: ...


class Discard:
    """A sink for what the student prints while the hidden tests call their functions."""

    def stream(self, name: str, data: bytes) -> None:
        pass

    def output(self, output: dict[str, Any]) -> None:
        pass

    def clear(self, wait: bool) -> None:
        pass

    def dropped(self, size: int) -> None:
        pass


DISCARD = Discard()


#: Printed text held back behind a mark whose message has not come, at most; past it the mark
#: is let go (a kernel printing without end must not fill the worker's memory).
HELD_TEXT = 1 << 20


class InOrder:
    """A cell's printed text and its output messages, put back in the order they were made.

    They travel through different pipes; before each message the kernel writes a numbered mark
    into its standard output (:data:`grader.grade.channel.MARK`). Text after a mark waits for
    that mark's message; a message waits for its mark. A kernel that never writes the mark
    (its output closed) has its messages placed at the end of the cell.
    """

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._tail = b""
        self._queue: deque[bytes | int] = deque()  # text, or the number of a mark
        self._held = 0  # bytes of text in the queue
        self._messages: dict[int, Callable[[], None]] = {}

    def stdout(self, data: bytes) -> None:
        pieces, self._tail = channel.split_marks(self._tail + data)
        for text, mark in pieces:
            if text:
                self._queue.append(text)
                self._held += len(text)
            if mark is not None:
                self._queue.append(mark)
        self._release()

    def message(self, mark: Any, apply: Callable[[], None]) -> None:
        if not isinstance(mark, int):
            apply()
            return
        self._messages[mark] = apply
        self._release()

    def _release(self) -> None:
        while self._queue:
            head = self._queue[0]
            if isinstance(head, int):
                if head in self._messages:
                    self._messages.pop(head)()
                elif self._held <= HELD_TEXT:
                    return  # its message may still come
                # else: text piles up behind a mark whose message does not come (dropped as
                # too large, or a mark the student printed): let it go
            else:
                self.sink.stream("stdout", head)
                self._held -= len(head)
            self._queue.popleft()

    def finish(self) -> None:
        """Everything still held back, in order (the cell or call is over)."""
        for head in self._queue:
            if isinstance(head, int):
                if head in self._messages:
                    self._messages.pop(head)()
            else:
                self.sink.stream("stdout", head)
        self._queue.clear()
        self._held = 0
        if self._tail:
            self.sink.stream("stdout", self._tail)
            self._tail = b""
        for mark in sorted(self._messages):
            self._messages.pop(mark)()


def describe_exit(status: int | None) -> str:
    """How a process ended, in words (``status`` as ``os.waitstatus_to_exitcode`` gives it)."""
    if status is None:
        return "it was stopped"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        if -status == signal.SIGKILL:
            return f"killed by {name} (a memory, CPU-time or disk limit, or os.kill)"
        return f"killed by {name}"
    return f"exited with code {status}"


class Kernel:
    """A fresh kernel, forked by ``factory``, booting in the background until first used.

    Parameters
    ----------
    factory : KernelFactory
        Forks the kernel.
    limits : Limits
        Its resource limits.
    workdir : str
        Its working directory (holding the instructor's files, if any).
    env : dict
        Its environment.
    sandbox : Plan or None
        How to isolate it; None for limits only.
    contain : bool
        Give it a PID namespace and control groups where the machine allows (False: only
        what an unprivileged grader has, its supervisor as subreaper).
    """

    def __init__(self, factory: KernelFactory, limits: Limits, workdir: str,
                 env: dict[str, str], sandbox: Plan | None, contain: bool = True) -> None:
        to_kernel_r, self._to_kernel = os.pipe()
        self._from_kernel, to_worker_w = os.pipe()
        self._out, out_w = os.pipe()
        self._err, err_w = os.pipe()
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        order = {"limits": asdict(limits), "cwd": workdir, "env": env,
                 "sandbox": asdict(sandbox) if sandbox else None, "contain": contain}
        try:
            factory.order(order, [to_kernel_r, to_worker_w, out_w, err_w, theirs.fileno()])
        finally:
            for fd in (to_kernel_r, to_worker_w, out_w, err_w):
                os.close(fd)
            theirs.close()
        for fd in (self._to_kernel, self._from_kernel, self._out, self._err):
            os.set_blocking(fd, False)
        self._control.setblocking(False)
        self.workdir = workdir
        self.limits = limits
        self.sandboxed = sandbox is not None
        self.pid: int | None = None  # the kernel's, once its supervisor said hello
        self.sandbox_status = "not isolated: not started"
        self.containment = "not started"
        self.exit: str | None = None
        self.cpu = 0.0
        self._started = False
        self._hello: dict[str, Any] | None = None
        self._heard = b""  # the supervisor's last line, until it is whole
        self._gone = False  # the supervisor has exited
        self._stopped_for: str | None = None  # why this handle killed the kernel
        self._counters: Counters | None = None
        self._watched = 0.0
        self._pidfd: int | None = None  # the supervisor's, for a last resort
        self._reader = channel.FrameReader()
        self._order = InOrder(DISCARD)
        self._closed = False
        self._streams = {self._out: "stdout", self._err: "stderr"}
        # Each request carries a number the kernel's answer must repeat: code of the
        # student's that writes a frame of its own to the channel answers nothing.
        self._nonce: str | None = None

    # ---- life -----------------------------------------------------------------------------
    def ready(self, timeout: float = 60.0) -> None:
        """Wait until the kernel has isolated itself and is ready for requests."""
        if self._started:
            return
        deadline = time.monotonic() + timeout
        header, _ = self._wait(deadline, DISCARD)
        if header.get("op") != "ready":
            self.kill()
            raise KernelLost("the kernel did not start properly")
        self.sandbox_status = str(header.get("sandbox", ""))[:300]
        # its supervisor said hello before forking it; the two channels race
        while self._hello is None and not self._gone and time.monotonic() < deadline:
            self._listen(deadline - time.monotonic())
        if self._hello is None:
            self.kill()
            raise KernelLost("the kernel's supervisor did not start properly")
        self._started = True

    def interrupt(self) -> None:
        """Interrupt what the kernel is running (KeyboardInterrupt in the student's code)."""
        self._tell(b"i")

    def kill(self) -> None:
        """End the kernel and every process it started."""
        self._tell(b"k")

    def _tell(self, what: bytes) -> None:
        if self.exit is None and not self._gone:
            try:
                self._control.send(what)
            except OSError:
                pass

    def close(self) -> str:
        """Stop the kernel (politely, then not), wait until it and all its processes are
        gone; return how it ended."""
        if self.exit is None:
            if self._started:
                try:
                    channel.write_frame(self._to_kernel, {"op": "stop"},
                                        deadline=time.monotonic() + 1.0)
                except (OSError, TimeoutError):
                    pass
                self._reap(wait=1.0)
            if self.exit is None:
                self.kill()
                self._reap(wait=5.0)
            if self.exit is None and self._pidfd is not None:  # a supervisor that hangs
                try:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                except OSError:
                    pass
                self._reap(wait=1.0)
        for fd in (self._to_kernel, self._from_kernel, self._out, self._err, self._pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._pidfd = None
        self._control.close()
        if self._counters is not None:
            self._counters.close()
            self._counters = None
        return self.exit or "it was stopped"

    def _reap(self, wait: float) -> None:
        """Wait up to ``wait`` seconds for the supervisor's word that the kernel has ended."""
        end = time.monotonic() + wait
        while self.exit is None and not self._gone:
            left = end - time.monotonic()
            if left <= 0:
                return
            self._listen(left)

    def _listen(self, timeout: float) -> None:
        if select.select([self._control], [], [], max(0.0, timeout))[0]:
            self._hear()

    def _hear(self) -> None:
        """Take in what the supervisor said: hello, then how the kernel ended."""
        while not self._gone:
            try:
                data = self._control.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:  # it exited: the kernel and every process it started are gone
                self._gone = True
                if self.exit is None:
                    self.exit = self._stopped_for or "killed with its supervisor"
                return
            self._heard += data
            while b"\n" in self._heard:
                line, self._heard = self._heard.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get("op") == "hello":
                    self._greeted(message)
                elif message.get("op") == "exit":
                    status = message.get("status")
                    self.exit = self._stopped_for or message.get("reason") or describe_exit(
                        os.waitstatus_to_exitcode(status) if isinstance(status, int) else None)
                    self.cpu = float(message.get("cpu") or 0.0)

    def _greeted(self, hello: dict[str, Any]) -> None:
        self._hello = hello
        if isinstance(hello.get("kernel"), int):
            self.pid = hello["kernel"]
        self.containment = str(hello.get("containment", ""))[:300]
        groups = hello.get("groups")
        if isinstance(groups, dict) and groups:
            self._counters = Counters({str(k): str(v) for k, v in groups.items()})
        pid, start = hello.get("pid"), hello.get("start")
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError, TypeError):
            return
        if leftovers.started(pid) == start:  # the same process, not one that took its id
            self._pidfd = pidfd
        else:
            os.close(pidfd)

    def _over(self) -> str | None:
        """Why the kernel's processes are past their limits (None: they are not)."""
        counters = self._counters
        if counters is None or self.exit is not None:
            return None
        if counters.refused_processes():
            return f"its processes reached the limit of {self.limits.processes} processes"
        cpu = counters.cpu_seconds()
        if cpu is not None and cpu > self.limits.cpu_seconds:
            return f"its processes used more than {self.limits.cpu_seconds} s of CPU time"
        return None

    def _check(self) -> None:
        """Stop the kernel, during the request that did it, if its processes are past their
        limits."""
        reason = self._over()
        if reason is not None:
            self._stopped_for = reason
            self.kill()
            self._reap(wait=5.0)
            raise KernelLost(f"the kernel was stopped: {reason}")

    # ---- requests -------------------------------------------------------------------------
    def request(self, header: dict[str, Any], buffers: list[bytes] | None = None,
                timeout: float = 60.0, sink: Sink = DISCARD,
                limit: int = channel.MAX_FRAME) -> tuple[dict[str, Any], list[bytearray]]:
        """Send one request and wait for its answer.

        Raises
        ------
        Timeout
            No answer before ``timeout`` (the caller decides whether to interrupt).
        KernelLost
            The kernel died.
        """
        self.ready()
        deadline = time.monotonic() + timeout
        self._nonce = secrets.token_hex(16)
        try:
            channel.write_frame(self._to_kernel, {**header, "nonce": self._nonce},
                                buffers or [], deadline=deadline)
        except TimeoutError:
            raise Timeout() from None
        except channel.ChannelClosed:
            self._died()
        self._reader.limit = limit
        self._order = InOrder(sink)
        answer = self._wait(deadline, sink)
        self._check()
        return answer

    def answer(self, timeout: float, sink: Sink = DISCARD,
               limit: int = channel.MAX_FRAME) -> tuple[dict[str, Any], list[bytearray]]:
        """Wait for the answer to a request already sent (after an interrupt)."""
        self._reader.limit = limit
        if self._order.sink is not sink:
            self._order = InOrder(sink)
        answer = self._wait(time.monotonic() + timeout, sink)
        self._check()
        return answer

    def _wait(self, deadline: float, sink: Sink) -> tuple[dict[str, Any], list[bytearray]]:
        try:
            return self._next(deadline, sink)
        finally:
            self._order.finish()

    def _next(self, deadline: float, sink: Sink) -> tuple[dict[str, Any], list[bytearray]]:
        while True:
            frame = self._reader.pop()
            if frame is not None:
                header, buffers = frame
                op = header.get("op")
                if op == "output" and isinstance(header.get("output"), dict):
                    output = header["output"]
                    self._order.message(header.get("mark"), lambda o=output: sink.output(o))
                    continue
                if op == "clear":
                    wait = bool(header.get("wait"))
                    self._order.message(header.get("mark"), lambda w=wait: sink.clear(w))
                    continue
                if op == "too large" and sink is not DISCARD:
                    sink.dropped(int(header.get("size", 0)))
                    continue
                if op in ("output", "clear", "too large"):
                    continue
                if self._nonce is not None and header.get("nonce") != self._nonce:
                    self.kill()
                    self._reap(wait=5.0)
                    raise KernelLost("the kernel broke its channel: an answer to no request")
                self._drain(sink)  # what it printed before it answered
                return header, buffers
            if self._closed or self.exit is not None:
                self._died()
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            if self._counters is not None:
                left = min(left, WATCH)  # a fork loop is stopped at its limit, not its timeout
            watched = [self._from_kernel, *self._streams]
            if not self._gone:
                watched.append(self._control.fileno())
            readable, _, _ = select.select(watched, [], [], left)
            for fd in readable:
                if fd == self._control.fileno():
                    self._hear()
                else:
                    self._read(fd, sink)
            if self.exit is not None:
                # Gone: what it wrote before it died is still in the pipes.
                self._drain(sink)
                self._read(self._from_kernel, sink)
            elif self._counters is not None and time.monotonic() - self._watched >= WATCH:
                self._watched = time.monotonic()
                self._check()

    def _read(self, fd: int, sink: Sink) -> None:
        while True:
            try:
                data = os.read(fd, 1 << 20)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                if fd == self._from_kernel:
                    self._closed = True
                self._streams.pop(fd, None)
                return
            if fd == self._from_kernel:
                try:
                    self._reader.feed(data)
                except channel.ChannelClosed:  # garbage: code in the kernel wrote to it
                    self.kill()
                    self._reap(wait=5.0)
                    raise KernelLost("the kernel broke its channel to the grader") from None
            elif fd == self._out:
                self._order.stdout(data)
            else:
                sink.stream(self._streams[fd], data)
            if len(data) < 1 << 20:
                return

    def _drain(self, sink: Sink) -> None:
        for fd in list(self._streams):
            self._read(fd, sink)

    def _died(self) -> None:
        self.kill()
        self._reap(wait=5.0)
        raise KernelLost(f"the kernel died ({self.exit or 'it stopped answering'})")

    # ---- disk ----------------------------------------------------------------------------
    def disk_used(self) -> int | None:
        """Bytes the kernel has written to its disk (None when that cannot be told)."""
        try:
            if self.sandboxed and self.pid is not None:
                from grader.grade.sandbox import DISK

                stats = os.statvfs(f"/proc/{self.pid}/root{DISK}")
                return (stats.f_blocks - stats.f_bfree) * stats.f_frsize
            total = 0
            for folder, _, files in os.walk(self.workdir):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(folder, name)).st_size
                    except OSError:
                        pass
            return total
        except OSError:
            return None
