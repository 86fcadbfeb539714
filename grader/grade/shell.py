"""The grading kernel: IPython's shell behind a pipe.

A Jupyter kernel is IPython's ``InteractiveShell`` plus ZeroMQ sockets, threads and a
message protocol, which a grader pays for at every cell. Here the shell itself runs in the
kernel process and talks to its worker over pipes (:mod:`grader.grade.channel`): the worker
sends a cell, the shell runs it, and everything a notebook records reaches the worker as it
happens — the streams through the process's own standard output and error (so output from
compiled code is kept too), display data, execution results and errors as messages. The same
channel answers the hidden tests' calls of the student's functions (numbers only).

This module runs in the student's process: it holds nothing secret, and the worker trusts
nothing it says beyond what the student's own code could have computed.
"""

from __future__ import annotations

import io
import os
import signal
import sys
from typing import Any

import numpy
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
from traitlets.config.loader import KVArgParseConfigLoader

from grader.grade import channel

STDOUT, STDERR = 1, 2


def shell_config(arguments: list[str]) -> tuple[Config, list[str]]:
    """The shell's configuration from kernel command-line options, and its start-up lines.

    Courses configure kernels with ipykernel's options (``Execute.extra_arguments``); the ones
    that concern the shell (``--InteractiveShell.*``, ``--HistoryManager.*``) apply as they
    are, and ``exec_lines`` of ``IPKernelApp`` or ``InteractiveShellApp`` run at start-up.
    """
    config = KVArgParseConfigLoader(argv=list(arguments)).load_config()
    lines: list[str] = []
    for app in ("InteractiveShellApp", "IPKernelApp"):
        if app in config and "exec_lines" in config[app]:
            given = config[app].exec_lines
            # one option on the command line is one line (a list when given in a config file)
            lines.extend([given] if isinstance(given, str) else list(given))
    return config, lines


class PipeDisplayHook(DisplayHook):
    """Sends a cell's result (``Out[n]``) to the worker as an ``execute_result``."""

    def start_displayhook(self) -> None:
        super().start_displayhook()
        self._data: dict[str, Any] = {}
        self._metadata: dict[str, Any] = {}

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict, md_dict: dict | None = None) -> None:
        self._data, self._metadata = format_dict, md_dict or {}

    def finish_displayhook(self) -> None:
        if self._data:
            self.shell.send_output({"output_type": "execute_result", "data": self._data,
                                    "metadata": self._metadata,
                                    "execution_count": self.prompt_count})
        self._is_active = False


class PipeDisplayPublisher(DisplayPublisher):
    """Sends ``display(...)`` output (and figures) to the worker as ``display_data``."""

    def publish(self, data: dict, metadata: dict | None = None, source: Any = None, *,
                transient: Any = None, update: bool = False, **kwargs: Any) -> None:
        self.shell.send_output({"output_type": "display_data", "data": data,
                                "metadata": metadata or {}})

    def clear_output(self, wait: bool = False) -> None:
        self.shell.send({"op": "clear", "mark": self.shell.mark(), "wait": bool(wait)})


class GradingShell(InteractiveShell):
    """An ``InteractiveShell`` whose outputs go to the grading worker over a pipe."""

    displayhook_class = PipeDisplayHook
    display_pub_class = PipeDisplayPublisher
    to_worker = -1
    marks = 0
    #: True while student code runs at the worker's request: an interrupt outside of that
    #: (a timeout that raced the end of a cell) must not fall into the next cell.
    busy = False

    def init_environment(self) -> None:
        os.environ.update(TERM="dumb", PAGER="cat", GIT_PAGER="cat", CLICOLOR="0")

    def send(self, header: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        channel.write_frame(self.to_worker, header, buffers or [])

    def flush_streams(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a stream the student replaced and broke
                pass

    def mark(self) -> int:
        """Mark this point of the standard output; the next message carries the number."""
        self.flush_streams()
        self.marks += 1
        try:
            os.write(STDOUT, channel.MARK % self.marks)
        except OSError:  # the student closed it: the worker puts the output at the cell's end
            pass
        return self.marks

    def send_output(self, output: dict[str, Any]) -> None:
        """Send one output, marked so that it keeps its place among the printed lines."""
        mark = self.mark()
        try:
            self.send({"op": "output", "mark": mark, "output": output})
        except (TypeError, ValueError):  # data that is not JSON: keep what can be kept
            text = str(output.get("data", {}).get("text/plain", ""))
            self.send({"op": "output", "mark": mark,
                       "output": {**output, "data": {"text/plain": text}, "metadata": {}}})

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        self.send_output({"output_type": "error", "ename": getattr(etype, "__name__", "Error"),
                          "evalue": _text(evalue), "traceback": list(stb)})

    def enable_gui(self, gui: Any = None) -> None:
        pass


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # an exception whose __str__ raises
        return f"<{type(value).__name__}>"


def _outermost_call(tb: Any, space: dict[str, Any]) -> str | None:
    """The student's top-level function the cell was inside when it stopped (for timeouts)."""
    while tb is not None:
        code = tb.tb_frame.f_code
        if getattr(space.get(code.co_name), "__code__", None) is code:
            return code.co_name
        tb = tb.tb_next
    return None


def start(shell: GradingShell, to_kernel: int, to_worker: int) -> None:
    """Make this process's standard streams the worker's pipes (already on fds 1 and 2)."""
    shell.to_worker = to_worker
    for name, fd in (("stdout", STDOUT), ("stderr", STDERR)):
        stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    signal.signal(signal.SIGINT, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    if GradingShell.busy:
        raise KeyboardInterrupt


def serve(shell: GradingShell, to_kernel: int) -> None:
    """Answer the worker until it says stop or goes away."""
    while True:
        try:
            request, buffers = channel.read_frame(to_kernel)
        except channel.ChannelClosed:
            return
        except KeyboardInterrupt:  # a late interrupt between requests
            continue
        op, nonce = request.get("op"), request.get("nonce")
        if op == "stop":
            return
        if op == "cell":
            reply = _run_cell(shell, str(request.get("code", "")))
            shell.flush_streams()
            shell.send({**reply, "nonce": nonce})
            continue
        if op == "define":  # the clean process: each cell's definitions, quietly, in order
            for code in request.get("cells", []):
                shell.run_cell(str(code), store_history=False, silent=True)
            shell.send({"op": "done", "nonce": nonce})
            continue
        out: list[bytes] = []
        try:
            reply = _call(shell.user_ns, request, buffers, out)
        except KeyboardInterrupt:
            reply, out = {"error": ["KeyboardInterrupt", "interrupted"]}, []
        except Exception as error:  # a name that is gone, an argument that cannot be read
            reply, out = {"error": [type(error).__name__, _text(error)[:2000]]}, []
        shell.flush_streams()
        shell.send({**reply, "nonce": nonce}, out)


def _run_cell(shell: GradingShell, code: str) -> dict[str, Any]:
    count = shell.execution_count
    GradingShell.busy = True
    try:
        result = shell.run_cell(code, store_history=True)
    except KeyboardInterrupt:  # landed outside the cell's own code
        return {"op": "done", "count": count, "error": "KeyboardInterrupt", "culprit": None}
    finally:
        GradingShell.busy = False
    error = result.error_in_exec or result.error_before_exec
    culprit = None
    if isinstance(error, KeyboardInterrupt):
        culprit = _outermost_call(error.__traceback__, shell.user_ns)
    return {"op": "done", "count": count,
            "error": type(error).__name__ if error is not None else None, "culprit": culprit}


# ---- the hidden tests' calls --------------------------------------------------------------

def _call(space: dict[str, Any], request: dict[str, Any], buffers: list[bytearray],
          out: list[bytes]) -> dict[str, Any]:
    """One request of a hidden test: look up, fetch, call, trace or time a student object."""
    op, name = request.get("op"), request.get("name", "")
    if op == "kind":
        if name not in space:
            return {"kind": "missing"}
        return {"kind": "callable" if callable(space[name]) else "value"}
    if op == "get":
        return {"value": channel.encode(space[name], out)}
    args = [channel.decode(a, buffers, "an argument") for a in request.get("args", [])]
    if op == "stage":  # kept out of the student's namespace, where the timed code could swap it
        _STAGED[:] = args
        _LAST[:] = []
        return {}
    if op == "last":  # what the last timed call returned, fetched after its timing
        return {"result": channel.encode(_LAST[0] if _LAST else None, out)}
    if op == "repeat":
        args = list(_STAGED)
    func = space[name]
    if op == "trace":
        reply, buffers_out = _trace(func, args)
        out.extend(buffers_out)
        return reply
    timed = op == "repeat"  # the worker times it: nothing but the call
    before = [] if timed else [numpy.array(a, copy=True) if isinstance(a, numpy.ndarray)
                               else None for a in args]
    GradingShell.busy = True
    try:
        result = func(*args)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return {"error": [type(error).__name__, _text(error)[:2000]]}
    finally:
        GradingShell.busy = False
    if timed:
        _LAST[:] = [result]
        return {}
    changed = {str(i): channel.encode(a, out) for i, (a, b) in enumerate(zip(args, before))
               if b is not None and not (a.shape == b.shape
                                         and numpy.array_equal(a, b, equal_nan=True))}
    return {"result": channel.encode(result, out), "changed": changed}


#: The inputs of the timed calls, staged once (``stage``) and used by every ``repeat``, and
#: what the last of them returned.
_STAGED: list[Any] = []
_LAST: list[Any] = []


def _trace(func: Any, args: list[Any]) -> tuple[dict[str, Any], list[bytes]]:
    import gc
    import sysconfig

    paths = (sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values())
    library = ("<frozen ", *sorted({os.path.realpath(p) for p in paths}))
    own: dict[Any, bool] = {}
    count = [0]

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if event in ("call", "line"):
            code = frame.f_code
            if code not in own:
                own[code] = not code.co_filename.startswith(library)
            count[0] += own[code]
        return tracer

    collecting = gc.isenabled()
    gc.disable()
    GradingShell.busy = True
    sys.settrace(tracer)
    try:
        result = func(*args)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return {"error": [type(error).__name__, _text(error)[:2000]]}, []
    finally:
        tampered = sys.gettrace() is not tracer
        sys.settrace(None)
        GradingShell.busy = False
        if collecting:
            gc.enable()
    out: list[bytes] = []
    return {"events": count[0], "tampered": tampered, "result": channel.encode(result, out)}, out
