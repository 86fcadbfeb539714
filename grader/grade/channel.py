"""Messages between a grading worker and its kernel, over pipes: JSON headers, raw buffers.

A frame is a 4-byte length, a JSON header and the binary buffers the header lists by size
(``"buffers": [n0, n1, ...]``). Arrays cross as raw bytes described by a dtype and a shape,
never as pickles: :func:`decode` accepts booleans, integers and floats only, so nothing a
kernel sends can become an object on the grader's side.

Both ends use this module: the kernel with blocking reads (its worker is trusted), the
worker with :class:`FrameReader`, which parses frames as bytes arrive, so a kernel that sends
half a frame and stops, or announces a huge one, never blocks or floods the worker.
"""

from __future__ import annotations

import json
import os
import re
import select
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Largest frame either side accepts (a hidden test never needs a larger answer).
MAX_FRAME = 256 * 2**20
_DTYPE = re.compile(r"^[<>|=]?[biuf][1-8]$")
_MAX_DEPTH = 3
_MAX_KEYS = 256


#: Written into the kernel's standard output before each output message (with its number),
#: so the worker can put a figure or a table where it was shown between two printed lines:
#: the two travel through different pipes.
MARK = b"\x1b]grader-output;%d\x07"
_MARK = re.compile(rb"\x1b\]grader-output;(\d+)\x07")


def split_marks(data: bytes) -> tuple[list[tuple[bytes, int | None]], bytes]:
    """Split stream bytes at the marks: ``[(text, mark or None), ...]`` and an unfinished tail.

    The tail (a mark cut in two by the pipe) is kept for the next bytes.
    """
    pieces: list[tuple[bytes, int | None]] = []
    start = 0
    for match in _MARK.finditer(data):
        pieces.append((data[start:match.start()], int(match.group(1))))
        start = match.end()
    rest = data[start:]
    cut = rest.rfind(b"\x1b")
    if cut >= 0 and len(rest) - cut < 40 and b"\x07" not in rest[cut:]:
        pieces.append((rest[:cut], None))
        return pieces, rest[cut:]
    pieces.append((rest, None))
    return pieces, b""


class ChannelClosed(OSError):
    """The other end has gone (the kernel died, or the worker)."""


def pack(header: dict[str, Any], buffers: Sequence[bytes | memoryview] = ()) -> list[bytes]:
    """The pieces of one frame, ready to be written in order."""
    head = json.dumps({**header, "buffers": [len(b) for b in buffers]}).encode()
    return [len(head).to_bytes(4, "big"), head, *[bytes(b) for b in buffers]]


def write_frame(fd: int, header: dict[str, Any], buffers: Sequence[bytes | memoryview] = (),
                deadline: float | None = None) -> None:
    """Write one frame to ``fd``; with a ``deadline``, give up (TimeoutError) past it.

    The worker writes with a deadline (its descriptor is non-blocking): a kernel that stops
    reading must not hold it forever.
    """
    pieces = pack(header, buffers)
    if sum(len(p) for p in pieces) <= 1 << 16:  # one write, one wake-up of the reader
        pieces = [b"".join(pieces)]
    for piece in pieces:
        view = memoryview(piece)
        while view:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the kernel stopped reading")
                select.select([], [fd], [], left)
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionError) as error:
                raise ChannelClosed(str(error)) from None
            view = view[written:]


def _read_exact(fd: int, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise ChannelClosed("the other end closed the channel")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[dict[str, Any], list[bytearray]]:
    """Read one frame from a blocking descriptor (the kernel's side)."""
    size = int.from_bytes(_read_exact(fd, 4), "big")
    header = json.loads(_read_exact(fd, size))
    buffers = [bytearray(_read_exact(fd, int(n))) for n in header.pop("buffers", [])]
    return header, buffers


class FrameReader:
    """Frames parsed from bytes as they arrive (the worker's side of a kernel's channel).

    Parameters
    ----------
    limit : int
        Largest frame accepted; a larger one is skipped as it arrives and reported as
        ``{"op": "too large", "size": n}`` instead.
    """

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self.limit = limit
        self._data = bytearray()
        self._skip = 0
        self._frames: list[tuple[dict[str, Any], list[bytearray]]] = []

    def feed(self, data: bytes) -> None:
        """Add bytes read from the channel."""
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
        self._data += data
        while self._parse():
            pass

    def _parse(self) -> bool:
        data = self._data
        if len(data) < 4:
            return False
        size = int.from_bytes(data[:4], "big")
        if len(data) > 4 and data[4] != ord("{"):  # every header is a JSON object: garbage
            raise ChannelClosed("the kernel sent an unreadable message")
        if size > self.limit:
            return self._too_large(size, 4 + size)
        if len(data) < 4 + size:
            return False
        try:
            header = json.loads(bytes(data[4:4 + size]))
            sizes = [int(n) for n in header.pop("buffers", [])]
        except (ValueError, TypeError, AttributeError, RecursionError):  # nested past reason
            raise ChannelClosed("the kernel sent an unreadable message") from None
        total = 4 + size + sum(sizes)
        if total > self.limit or min(sizes, default=0) < 0:
            return self._too_large(total, total)
        if len(data) < total:
            return False
        buffers, start = [], 4 + size
        for n in sizes:
            buffers.append(bytearray(data[start:start + n]))
            start += n
        del data[:total]
        self._frames.append((header, buffers))
        return True

    def _too_large(self, size: int, length: int) -> bool:
        self._frames.append(({"op": "too large", "size": size}, []))
        dropped = min(length, len(self._data))
        del self._data[:dropped]
        self._skip = length - dropped
        return bool(self._data)

    def pop(self) -> tuple[dict[str, Any], list[bytearray]] | None:
        """The oldest complete frame, or None."""
        return self._frames.pop(0) if self._frames else None


def encode(value: Any, buffers: list[bytes], depth: int = 0) -> dict[str, Any]:
    """Describe numbers, arrays and (nested) tuples, lists or string-keyed dicts of them;
    append array bytes.

    Anything else is described only by its type name: it cannot cross.
    """
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf" or array.dtype.itemsize > 8:
            return {"type": f"array of {array.dtype}"}
        buffers.append(np.ascontiguousarray(array).tobytes())
        return {"array": len(buffers) - 1, "dtype": array.dtype.str, "shape": list(array.shape)}
    if isinstance(value, float):
        return {"f": repr(value)}
    if value is None or isinstance(value, (bool, int)):
        return {"py": value}
    if isinstance(value, (tuple, list)) and depth < _MAX_DEPTH:
        return {"seq": [encode(v, buffers, depth + 1) for v in value],
                "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and depth < _MAX_DEPTH and len(value) <= _MAX_KEYS \
            and all(isinstance(key, str) for key in value):
        # a dict of gradients, say; keys cross as JSON strings, values as any of the above
        return {"map": [[key, encode(v, buffers, depth + 1)] for key, v in value.items()]}
    return {"type": type(value).__name__}


def decode(value: Any, buffers: Sequence[bytearray], what: str, depth: int = 0) -> Any:
    """The inverse of :func:`encode`; raises TypeError for anything that is not numbers."""
    if not isinstance(value, dict):
        raise TypeError(f"{what} could not be read")
    if "array" in value:
        return _array(value, buffers, what)
    if "f" in value and isinstance(value["f"], str):
        try:
            return float(value["f"])
        except ValueError:
            raise TypeError(f"{what} could not be read") from None
    if "seq" in value and isinstance(value["seq"], list) and depth < _MAX_DEPTH:
        items = [decode(v, buffers, what, depth + 1) for v in value["seq"]]
        return tuple(items) if value.get("tuple") else items
    if "map" in value and isinstance(value["map"], list) and depth < _MAX_DEPTH:
        pairs = value["map"]
        if len(pairs) > _MAX_KEYS or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise TypeError(f"{what} could not be read")
        return {key: decode(v, buffers, what, depth + 1) for key, v in pairs}
    if "py" in value and (value["py"] is None or isinstance(value["py"], (bool, int))):
        return value["py"]
    raise TypeError(f"{what} is a {value.get('type', 'value of unknown type')}, not numbers")


def _array(value: dict[str, Any], buffers: Sequence[bytearray], what: str) -> np.ndarray:
    dtype, shape, index = value.get("dtype"), value.get("shape"), value.get("array")
    if not (isinstance(dtype, str) and _DTYPE.match(dtype) and isinstance(shape, list)
            and len(shape) <= 32 and all(isinstance(n, int) and n >= 0 for n in shape)
            and isinstance(index, int) and 0 <= index < len(buffers)):
        raise TypeError(f"{what} could not be read")
    dtype = np.dtype(dtype)
    buffer = buffers[index]
    if len(buffer) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise TypeError(f"{what} could not be read")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)
