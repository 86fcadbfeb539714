"""Call a student's functions across the process boundary, with plain numbers only.

The grader never runs a hidden test inside the student's kernel. The hidden test runs here, in
the grading worker, and each student object it uses is a stand-in: calling a
:class:`StudentFunction` sends the inputs to the kernel, calls the student's function there and
brings back the result. Inputs and results cross as raw array bytes described by dtype and
shape (:mod:`grader.grade.channel`), never as objects, so nothing the kernel sends can run code
here. In-place changes to array inputs are mirrored back, so a test can still see that a
function modified its input.

A fault stays with the function at fault. A function that does not return within the call
timeout is interrupted once and from then on fails at once, with the same reason, however
often the tests call it; a function during which the kernel dies is never called again (the
notebook goes on in a fresh kernel, see :mod:`grader.grade.execute`).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.checks import Review
from grader.grade import channel
from grader.grade.kernel import GRACE, Kernel, KernelLost, Timeout

if TYPE_CHECKING:
    from grader.grade.clean import CleanProcess


#: The ``ename`` of a function that computes something else where it is measured than in its
#: notebook: every item that used it scores 0 and the submission is flagged.
DIVERGED = "BehavesDifferentlyWhenMeasured"


class BridgeError(RuntimeError):
    """A call could not be answered (a fault of the student's code, or a broken kernel)."""

    def __init__(self, message: str, ename: str = "GradingError") -> None:
        super().__init__(message)
        self.ename = ename


class Bridge:
    """The hidden tests' way into one kernel.

    Parameters
    ----------
    kernel : Kernel
        The kernel the student's objects live in.
    timeout : float
        Seconds one call may take before it is interrupted.
    faults : dict
        Functions that must not be called again, with why (shared with the executor, which
        adds the functions whose cells hung or killed a kernel).
    clean : CleanProcess, optional
        Where loop-freeness, speed and untouched inputs are measured (see
        :mod:`grader.grade.clean`); without one, in ``kernel``.
    """

    def __init__(self, kernel: Kernel, timeout: float, faults: dict[str, BridgeError],
                 clean: CleanProcess | None = None) -> None:
        self.kernel = kernel
        self.timeout = timeout
        self.faults = faults
        self.clean = clean
        self.lost = False

    def request(self, op: str, name: str, args: Sequence[Any] = ()) -> tuple[dict, list]:
        """Send one request about ``name``; return the kernel's answer and its buffers."""
        if name in self.faults:
            raise self.faults[name]
        if self.lost:
            raise BridgeError("the kernel is gone", "KernelDied")
        buffers: list[bytes] = []
        header = {"op": op, "name": name, "args": [channel.encode(a, buffers) for a in args]}
        try:
            try:
                answer, data = self.kernel.request(header, buffers, timeout=self.timeout)
            except Timeout:
                self.kernel.interrupt()
                try:
                    self.kernel.answer(GRACE)
                except Timeout:
                    self.kernel.kill()
                    self.lost = True
                fault = BridgeError(
                    f"{name} did not return within {self.timeout:g} s and was stopped; the tests "
                    f"that call it fail without calling it again.", "TimeoutError")
                self.faults[name] = fault
                raise fault from None
        except KernelLost as error:
            self.lost = True
            fault = BridgeError(f"{error} while {name} ran; the tests that call {name} fail "
                                "without calling it again.", "KernelDied")
            self.faults[name] = fault
            raise fault from None
        if answer.get("op") == "too large":
            raise BridgeError(f"what {name} returned is too large to check")
        return answer, data


class StudentFunction:
    """Stands in for a function defined in the student's kernel.

    Loop-freeness and speed are measured on :attr:`isolated`, the same function in a clean
    process (:meth:`traced_call`, :meth:`timed_call`); hidden tests of untouched inputs call
    :attr:`isolated` too.
    """

    def __init__(self, bridge: Bridge, name: str, clean_copy: bool = False) -> None:
        self.bridge = bridge
        self.__name__ = self.name = name
        self.clean_copy = clean_copy

    @property
    def isolated(self) -> StudentFunction:
        """This function in the clean process (raises ``Review`` where it cannot be trusted)."""
        if self.clean_copy or self.bridge.clean is None:
            return self
        return StudentFunction(self.bridge.clean.function(self.name), self.name, True)

    def _send(self, op: str, args: tuple) -> tuple[dict, list]:
        answer, data = self.bridge.request(op, self.name, args)
        if "error" in answer:
            ename, evalue = (list(answer["error"]) + ["", ""])[:2]
            if self.clean_copy and ename == "NameError":
                # it runs in the kernel, where the notebook's other statements ran first
                raise Review(f"held for review: {self.name} uses a name its notebook defines "
                             f"by running code ({evalue}), so it cannot be measured on its own.")
            kind = getattr(builtins, str(ename), None)
            if isinstance(kind, type) and issubclass(kind, Exception) and kind is not SystemExit:
                try:
                    error = kind(str(evalue))
                except TypeError:  # one that takes other arguments (UnicodeDecodeError)
                    error = None
                if error is not None:
                    raise error
            raise RuntimeError(f"{ename}: {evalue}" if evalue else str(ename))
        for index, value in answer.get("changed", {}).items():
            if not str(index).isdigit() or int(index) >= len(args):
                continue
            target = args[int(index)]
            changed = channel.decode(value, data, f"argument {index} of {self.name}")
            if isinstance(target, np.ndarray) and np.shape(changed) == target.shape:
                np.copyto(target, changed, casting="unsafe")
        return answer, data

    def __call__(self, *args: Any) -> Any:
        answer, data = self._send("call", args)
        return channel.decode(answer.get("result"), data, f"what {self.name} returned")

    def traced_call(self, *args: Any) -> tuple[int, Any]:
        """Trace events of one call in the student's own code, counted in the clean process,
        and what the call returned there."""
        if not self.clean_copy and self.bridge.clean is not None:
            return self.isolated.traced_call(*args)
        answer, data = self._send("trace", args)
        if answer.get("tampered"):
            raise AssertionError("the function changed the Python tracer (sys.settrace).")
        result = channel.decode(answer.get("result"), data, f"what {self.name} returned")
        return int(answer.get("events", 0)), result

    def timed_call(self, *args: Any) -> tuple[float, Any]:
        """Time of one call, measured from here (the kernel cannot misreport it), and what the
        call returned, fetched after the timed window.

        The cost of a round trip that calls nothing is measured the same way and subtracted.
        The function runs in the clean process, where nothing else of the notebook runs.
        """
        if not self.clean_copy and self.bridge.clean is not None:
            return self.isolated.timed_call(*args)
        self.bridge.request("stage", self.name, args)  # inputs cross before the timing
        t0 = time.perf_counter()
        self._send("repeat", ())
        t1 = time.perf_counter()
        self.bridge.request("kind", self.name)
        t2 = time.perf_counter()
        answer, data = self._send("last", ())
        result = channel.decode(answer.get("result"), data, f"what {self.name} returned")
        return max(0.0, (t1 - t0) - (t2 - t1)), result

    def diverged(self, reason: str) -> None:
        """The function answers differently where it is measured than in its notebook: from
        now on it fails at once, and the items already earned with it are revoked."""
        self.bridge.faults[self.name] = BridgeError(reason, DIVERGED)


class StudentNamespace(dict):
    """Names a hidden test uses, looked up in the student's kernel when not set here."""

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name):
            raise KeyError(name)  # let Python find the builtin
        answer, data = self.bridge.request("kind", name)
        kind = answer.get("kind")
        if kind == "missing":
            raise KeyError(name)
        if kind == "callable":
            value: Any = StudentFunction(self.bridge, name)
        else:
            answer, data = self.bridge.request("get", name)
            value = channel.decode(answer.get("value"), data, f"`{name}`")
        self[name] = value
        return value
