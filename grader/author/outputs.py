"""What a function returns: named outputs, read from a student's answer like the reference's.

A signature such as ``svm_loss_naive(W, X, y, reg) -> (loss, dW)`` names the arguments and the
outputs; the reference's return value gives each output its form: a number, an array of a
shape, or a dict of them (``two_layer_loss(...) -> (loss, grads)`` with ``grads`` a dict of
arrays). A student's return value is read against that form, output by output, with a message
that says what is wrong where (a missing ``return``, a pair instead of a triple, a missing key,
an array of another shape).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader import checks

_SIGNATURE = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*\((?P<args>[^()]*)\)\s*"
                        r"(->\s*(?P<out>\(?[^()]*\)?))?\s*$")


@dataclass(frozen=True)
class Signature:
    """A parsed ``name(arg, ...) -> (out, ...)`` line.

    ``outputs`` has one name for a function that returns one value, several for one that
    returns a tuple (``tuple_result`` then True).
    """

    name: str
    args: tuple[str, ...]
    outputs: tuple[str, ...]
    tuple_result: bool

    @classmethod
    def parse(cls, text: str) -> Signature:
        """Read ``text``; raise ValueError naming what is malformed."""
        match = _SIGNATURE.match(text)
        if not match:
            raise ValueError(f"signature {text!r}: expected 'name(arg, ...) -> output' or "
                             "'name(arg, ...) -> (output, ...)'")
        args = tuple(a.strip() for a in match["args"].split(",") if a.strip())
        out = (match["out"] or "result").strip()
        many = out.startswith("(")
        outputs = tuple(o.strip() for o in out.strip("()").split(",") if o.strip())
        for name in (*args, *outputs):
            if not name.isidentifier():
                raise ValueError(f"signature {text!r}: {name!r} is not a Python name")
        if not outputs:
            raise ValueError(f"signature {text!r}: no output named")
        return cls(match["name"], args, outputs, many)


@dataclass(frozen=True)
class Output:
    """One number or array a function returns.

    ``path`` leads to it in the return value: ``()`` for the whole of it, ``(1,)`` for the
    second of a tuple, ``(1, "W1")`` for key ``"W1"`` of the dict returned second.
    """

    name: str
    path: tuple[int | str, ...]
    scalar: bool
    shape: tuple[int, ...]


def layout(signature: Signature, reference: Any) -> list[Output]:
    """The outputs of ``signature``, with the forms the reference's return value gives them."""
    parts = reference if signature.tuple_result else (reference,)
    if signature.tuple_result and (not isinstance(reference, (tuple, list))
                                   or len(reference) != len(signature.outputs)):
        raise ValueError(f"the reference of {signature.name} should return "
                         f"{len(signature.outputs)} values ({', '.join(signature.outputs)})")
    found = []
    for index, (name, value) in enumerate(zip(signature.outputs, parts)):
        where: tuple[int | str, ...] = (index,) if signature.tuple_result else ()
        if isinstance(value, Mapping):
            for key, item in value.items():
                found.append(_leaf(f'{name}["{key}"]', (*where, str(key)), item))
        else:
            found.append(_leaf(name, where, value))
    return found


def _leaf(name: str, path: tuple[int | str, ...], value: Any) -> Output:
    if isinstance(value, np.ndarray):
        return Output(name, path, False, value.shape)
    return Output(name, path, True, ())


def _plural(signature: Signature) -> str:
    count = len(signature.outputs)
    kind = {2: "a pair", 3: "a triple"}.get(count, f"a tuple of {count} values")
    return f"{kind} ({', '.join(signature.outputs)})"


def read(signature: Signature, outputs: Sequence[Output], value: Any,
         what: str, only: Collection[str] | None = None,
         shapes: bool = True) -> dict[str, Any]:
    """Every output of a student's return ``value``, as float or float64 array, by name.

    Parameters
    ----------
    signature : Signature
        The function's signature.
    outputs : sequence of Output
        Its outputs (:func:`layout` of the reference's result on the same inputs).
    value : object
        What the student's function returned.
    what : str
        The call, as messages name it.
    only : collection of str, optional
        Read only these outputs (an item about the loss does not depend on the gradient's
        shape); the form of the whole (a tuple of the right length) is checked anyway.
    shapes : bool
        Require each array to have the reference's shape (else any shape will do).

    Raises
    ------
    AssertionError
        With a message for the student, for the first output that is not as expected.
    """
    name = signature.name
    if signature.tuple_result:
        expected = f"{name} should return {_plural(signature)}"
        if value is None:
            raise AssertionError(f"{expected}; it returned None. Is a `return` statement "
                                 "missing?")
        if not isinstance(value, (tuple, list)):
            raise AssertionError(f"{expected}; it returned a single {type(value).__name__}.")
        if len(value) != len(signature.outputs):
            raise AssertionError(f"{expected}; it returned {len(value)} values.")
    got: dict[str, Any] = {}
    single = len(signature.outputs) == 1 and not signature.tuple_result
    for output in outputs:
        if only is not None and output.name not in only:
            continue
        part = value
        for depth, step in enumerate(output.path):
            if isinstance(step, int):
                part = part[step]
                continue
            owner = signature.outputs[output.path[0]] if signature.tuple_result \
                else signature.outputs[0]
            keys = [o.path[depth] for o in outputs if o.path[:depth] == output.path[:depth]]
            if not isinstance(part, Mapping):
                raise AssertionError(
                    f"{owner} of {what} should be a dict with the keys "
                    f"{', '.join(repr(k) for k in keys)}; it is a {type(part).__name__}.")
            if step not in part:
                raise AssertionError(f"{owner} of {what} has no key {step!r} (it should have "
                                     f"{', '.join(repr(k) for k in keys)}).")
            part = part[step]
        label = what if single else _label(output, what)
        if output.scalar:
            got[output.name] = checks.as_float(part, label)
        else:
            shape = output.shape if shapes else np.shape(part)
            got[output.name] = checks.as_array(part, label, shape)
    return got


def label(signature: Signature, output: Output, what: str) -> str:
    """How messages name ``output`` of the call ``what``."""
    if len(signature.outputs) == 1 and not signature.tuple_result and not output.path:
        return what
    return _label(output, what)


def _label(output: Output, what: str) -> str:
    # "the loss of f(...)", "dW of f(...)"
    return f"the {output.name} of {what}" if output.scalar else f"{output.name} of {what}"
