"""Call a student's functions across the process boundary, with plain numbers only.

The grader never runs a hidden test inside the student's kernel. Instead the hidden test runs
here, in the grading process, and each student object it uses is a stand-in: calling a
:class:`StudentFunction` sends the inputs to the kernel, calls the student's function there and
brings back the result. Inputs and results cross as JSON holding ``.npy`` bytes read with
``allow_pickle=False``: numbers and arrays, never objects, so nothing the student's kernel sends
can run code here. In-place changes to array inputs are mirrored back, so a test can still see
that a function modified its input.
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import socket
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from jupyter_client import BlockingKernelClient

# Runs inside the student's kernel. It only moves numbers: decode the request, call, encode.
KERNEL_SIDE = r'''
def __grader_bridge(request):
    import base64, builtins, io, json, sys, numpy
    def encode(value, depth=0):
        plain = isinstance(value, (bool, int, float)) and not isinstance(value, numpy.generic)
        if value is None or plain:
            return {"f": repr(value)} if isinstance(value, float) else {"py": value}
        if isinstance(value, (numpy.ndarray, numpy.generic)):
            array = numpy.asarray(value)
            if array.dtype.kind not in "biuf":
                return {"type": "array of " + str(array.dtype)}
            buffer = io.BytesIO()
            numpy.save(buffer, array, allow_pickle=False)
            return {"npy": base64.b64encode(buffer.getvalue()).decode()}
        if isinstance(value, (tuple, list)) and depth < 3:
            return {"seq": [encode(v, depth + 1) for v in value], "tuple": isinstance(value, tuple)}
        return {"type": type(value).__name__}
    def decode(value):
        if "npy" in value:
            return numpy.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)
        if "f" in value:
            return float(value["f"])
        if "seq" in value:
            items = [decode(v) for v in value["seq"]]
            return tuple(items) if value["tuple"] else items
        return value.get("py")
    request = json.loads(request)
    space = sys.modules["__main__"].__dict__
    name = request["name"]
    if request["op"] == "kind":
        if name not in space:
            return json.dumps({"kind": "missing"})
        return json.dumps({"kind": "callable" if callable(space[name]) else "value"})
    if request["op"] == "get":
        return json.dumps({"value": encode(space[name])})
    if request["op"] == "stage":
        space["__grader_staged"] = [decode(a) for a in request["args"]]
        return json.dumps({})
    if request["op"] == "run":
        args = space.get("__grader_staged", [])
    else:
        args = [decode(a) for a in request["args"]]
    if request["op"] == "trace":
        import gc, os, sysconfig
        paths = (sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values())
        library = ("<frozen ", *sorted({os.path.realpath(p) for p in paths}))
        own, count = {}, [0]
        def tracer(frame, event, arg):
            if event in ("call", "line"):
                code = frame.f_code
                if code not in own:
                    own[code] = not code.co_filename.startswith(library)
                count[0] += own[code]
            return tracer
        collecting = gc.isenabled()
        gc.disable()
        sys.settrace(tracer)
        try:
            space[name](*args)
        except BaseException as error:
            return json.dumps({"error": [type(error).__name__, str(error)[:2000]]})
        finally:
            tampered = sys.gettrace() is not tracer
            sys.settrace(None)
            if collecting:
                gc.enable()
        return json.dumps({"events": count[0], "tampered": tampered})
    before = [numpy.array(a, copy=True) if isinstance(a, numpy.ndarray) else None for a in args]
    try:
        result = space[name](*args)
    except BaseException as error:
        return json.dumps({"error": [type(error).__name__, str(error)[:2000]]})
    changed = {str(i): encode(a) for i, (a, b) in enumerate(zip(args, before)) if b is not None
               and not (a.shape == b.shape and numpy.array_equal(a, b, equal_nan=True))}
    if request["op"] == "run":
        return json.dumps({"changed": changed})
    return json.dumps({"result": encode(result), "changed": changed})

def __grader_serve(path):
    import os, socket
    def receive(conn, size):
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.settimeout(60)
    server.bind(path)
    server.listen(1)
    try:
        conn, _ = server.accept()
    finally:
        server.close()
        os.unlink(path)
    with conn:
        while True:
            request = receive(conn, int.from_bytes(receive(conn, 8), "big"))
            if request == b"stop":
                return
            reply = __grader_bridge(request.decode()).encode()
            conn.sendall(len(reply).to_bytes(8, "big") + reply)
'''


MAX_FRAME = 256 * 2**20  # no hidden test needs an answer this large


class BridgeError(RuntimeError):
    """The kernel could not answer (it died, timed out or broke the channel)."""


def encode(value: Any) -> dict:
    """A JSON-able description of numbers, arrays and sequences of them."""
    if isinstance(value, (np.ndarray, np.generic)):
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        return {"npy": base64.b64encode(buffer.getvalue()).decode()}
    if isinstance(value, float):
        return {"f": repr(value)}
    if isinstance(value, (tuple, list)):
        return {"seq": [encode(v) for v in value], "tuple": isinstance(value, tuple)}
    if value is None or isinstance(value, (bool, int)):
        return {"py": value}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def decode(value: dict, what: str) -> Any:
    """The inverse of :func:`encode`; refuses anything that is not numbers."""
    if "npy" in value:
        return np.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)
    if "f" in value:
        return float(value["f"])
    if "seq" in value:
        items = [decode(v, what) for v in value["seq"]]
        return tuple(items) if value.get("tuple") else items
    if "py" in value and (value["py"] is None or isinstance(value["py"], (bool, int))):
        return value["py"]
    raise TypeError(f"{what} is a {value.get('type', 'value of unknown type')}, not numbers")


class KernelBridge:
    """A private channel to a running kernel, for calling what the student defined.

    A session is one execute request that runs a small server in the kernel, answering
    requests on a Unix socket in the kernel's working directory until told to stop: one
    kernel round trip per hidden test instead of one per call.

    Parameters
    ----------
    connection_info : dict
        The kernel's connection information (``KernelManager.get_connection_info()``).
    socket_path : str
        Where the kernel listens (inside its working directory).
    timeout : float
        Seconds one call may take before the kernel is interrupted.
    interrupt : callable
        Interrupts the kernel.
    """

    def __init__(self, connection_info: dict, socket_path: str, timeout: float,
                 interrupt: Any) -> None:
        self.client = BlockingKernelClient()
        self.client.load_connection_info(connection_info)
        self.client.start_channels()
        self.socket_path = socket_path
        self.timeout = timeout
        self.interrupt = interrupt
        self._defined = False
        self._conn: socket.socket | None = None
        self._msg_id: str | None = None
        self._broken: str | None = None

    def close(self) -> None:
        self.end()
        self.client.stop_channels()

    def begin(self) -> None:
        """Start the kernel-side server and connect to it.

        If the server never starts (an honest notebook never does this: something in the
        kernel rewrites or swallows the request), the bridge is broken for the rest of the
        notebook and later hidden tests fail at once instead of waiting again.
        """
        if self._broken:
            raise BridgeError(self._broken)
        # Defined once: what the student's later cells do to it can only break their own
        # answers, never produce values they could not compute themselves.
        code = "" if self._defined else KERNEL_SIDE
        self._defined = True
        self._msg_id = self.client.execute(code + f"\n__grader_serve({self.socket_path!r})",
                                           silent=True, store_history=False)
        deadline = time.monotonic() + self.timeout
        while True:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(self.socket_path)
                break
            except OSError:
                conn.close()
                if time.monotonic() > deadline:
                    self.interrupt()
                    self._broken = "the kernel does not answer the grader's calls"
                    raise BridgeError(self._broken) from None
                time.sleep(0.002)
        conn.settimeout(self.timeout)
        self._conn = conn

    def end(self) -> None:
        """Stop the kernel-side server and wait until the kernel is free again."""
        if self._conn is not None:
            try:
                _send_frame(self._conn, b"stop")
            except OSError:
                pass
            self._conn.close()
            self._conn = None
        if self._msg_id is not None:
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                try:
                    reply = self.client.get_shell_msg(timeout=1.0)
                except Exception:  # queue.Empty
                    if not self.client.is_alive():
                        break
                    continue
                if reply["parent_header"].get("msg_id") == self._msg_id:
                    break
            self._msg_id = None

    def request(self, op: str, name: str, args: Sequence[Any] = ()) -> dict:
        """Send one request; return the kernel's decoded JSON answer."""
        if self._conn is None:
            self.begin()
        assert self._conn is not None
        payload = json.dumps({"op": op, "name": name, "args": [encode(a) for a in args]})
        try:
            _send_frame(self._conn, payload.encode())
            answer = _recv_frame(self._conn)
        except TimeoutError:
            self.interrupt()
            self._conn.close()
            self._conn = None
            raise BridgeError(f"{name} did not return within {self.timeout:g} s") from None
        except OSError as error:
            self._conn.close()
            self._conn = None
            raise BridgeError(f"the kernel stopped answering ({error})") from None
        try:
            return json.loads(answer)
        except ValueError as error:
            raise BridgeError("the kernel's answer was unreadable") from error


def _send_frame(conn: socket.socket, data: bytes) -> None:
    conn.sendall(len(data).to_bytes(8, "big") + data)


def _recv_frame(conn: socket.socket) -> bytes:
    size = int.from_bytes(_recv_exact(conn, 8), "big")
    if size > MAX_FRAME:
        raise OSError(f"an answer of {size} bytes")
    return _recv_exact(conn, size)


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = conn.recv(min(missing, 1 << 20))
        if not chunk:
            raise OSError("connection closed")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


class StudentFunction:
    """Stands in for a function defined in the student's kernel."""

    def __init__(self, bridge: KernelBridge, name: str) -> None:
        self.bridge = bridge
        self.__name__ = self.name = name

    def _send(self, op: str, args: tuple) -> dict:
        answer = self.bridge.request(op, self.name, args)
        if "error" in answer:
            ename, evalue = answer["error"]
            kind = getattr(builtins, ename, None)
            if isinstance(kind, type) and issubclass(kind, Exception) and kind is not SystemExit:
                raise kind(evalue)
            raise RuntimeError(f"{ename}: {evalue}")
        for index, value in answer.get("changed", {}).items():
            if int(index) >= len(args):
                continue
            target = args[int(index)]
            changed = decode(value, f"argument {index} of {self.name}")
            if isinstance(target, np.ndarray) and np.shape(changed) == target.shape:
                np.copyto(target, changed, casting="unsafe")
        return answer

    def __call__(self, *args: Any) -> Any:
        answer = self._send("call", args)
        return decode(answer["result"], f"what {self.name} returned")

    def trace_events(self, *args: Any) -> int:
        """Trace events of one call in the student's own code, counted inside the kernel."""
        answer = self._send("trace", args)
        if answer.get("tampered"):
            raise AssertionError("the function changed the Python tracer (sys.settrace).")
        return int(answer["events"])

    def best_time(self, *args: Any, repeats: int = 5, budget: float = 0.5,
                  good_enough: float = 0.0) -> float:
        """Shortest time of a call, measured from here: the kernel cannot misreport it.

        The cost of a round trip that calls nothing is measured the same way and subtracted.
        """
        self.bridge.request("stage", self.name, args)  # inputs cross once, not every time
        start = time.perf_counter()
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            self._send("run", ())
            t1 = time.perf_counter()
            self.bridge.request("kind", self.name)
            t2 = time.perf_counter()
            best = min(best, max(0.0, (t1 - t0) - (t2 - t1)))
            if best <= good_enough or time.perf_counter() - start > budget:
                break
        return best


class StudentNamespace(dict):
    """Names a hidden test uses, looked up in the student's kernel when not set here."""

    def __init__(self, bridge: KernelBridge) -> None:
        super().__init__()
        self.bridge = bridge

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name):
            raise KeyError(name)  # let Python find the builtin
        kind = self.bridge.request("kind", name)["kind"]
        if kind == "missing":
            raise KeyError(name)
        if kind == "callable":
            value: Any = StudentFunction(self.bridge, name)
        else:
            value = decode(self.bridge.request("get", name)["value"], f"`{name}`")
        self[name] = value
        return value
