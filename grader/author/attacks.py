"""Answers that must not earn points, made from any function's spec: the self-test tries them.

A gradient must be the derived formula, implemented: a gradient obtained by finite differences
of the loss must lose the gradient item (and keep the loss's own). :func:`finite_difference`
builds such an answer for any function of a spec, with any step and stencil, from its
reference; :func:`numerical` and :func:`per_sample_numerical` build them from a plain loss,
for an assignment's own tests; :func:`memoised` remembers its answers, which must gain nothing
on the loop-free and speed items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.author.function import Function
from grader.author.problems import Case

#: Steps and stencils a finite-difference gradient of the mean loss may try.
FD_STEPS = [(h, st) for h in (1e-2, 1e-4, 1e-6, 1e-9, 1e-12) for st in ("central", "forward")]
FD_STEPS += [(1e-3, "five"), (1e-5, "five")]
#: The steps a per-sample difference quotient may try: its best step is around 1e-5.
PER_SAMPLE_STEPS = [(h, st) for h in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-9, 1e-12)
                    for st in ("central", "forward")]
PER_SAMPLE_STEPS += [(h, "five") for h in (1e-2, 3e-3, 1e-3, 1e-4, 1e-5)]
#: Inputs larger than this are given the exact gradient (to keep the self-test quick): the
#: smaller inputs of a gradient item alone must expose a finite-difference answer.
MAX_ENTRIES = 2000


def difference_quotient(at: Callable[[float], Any], base: Any, h: float, stencil: str) -> Any:
    """The derivative of ``at(step)`` at 0 (where its value is ``base``) by a finite difference."""
    if stencil == "central":
        return (at(h) - at(-h)) / (2 * h)
    if stencil == "forward":
        return (at(h) - base) / h
    if stencil == "five":  # five-point, fourth order
        return (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h)
    raise ValueError(f"unknown stencil {stencil!r}: central, forward or five")


def _gradient_of(loss: Callable[[np.ndarray], float], x: np.ndarray, h: float,
                 stencil: str) -> np.ndarray:
    base = loss(x)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        def at(step: float, idx: tuple = idx) -> float:
            moved = x.copy()
            moved[idx] += step
            return loss(moved)
        grad[idx] = difference_quotient(at, base, h, stencil)
    return grad


def numerical(loss_fn: Callable[..., Any], h: float = 1e-5,
              stencil: str = "central") -> Callable[..., Any]:
    """An answer returning ``loss_fn``'s loss and, as its gradient, finite differences of that
    loss with respect to the first argument: the derivation avoided."""
    def answer(W: Any, *rest: Any) -> Any:
        W = np.asarray(W, dtype=np.float64)
        if W.size > MAX_ENTRIES:
            return loss_fn(W, *rest)
        loss = loss_fn(W, *rest)[0]
        return loss, _gradient_of(lambda v: loss_fn(v, *rest)[0], W, h, stencil)

    answer.__name__ = f"numerical_{loss_fn.__name__}_{stencil}_{h:g}"
    return answer


def per_sample_numerical(terms: Callable[..., np.ndarray], h: float = 1e-5,
                         stencil: str = "central") -> Callable[..., Any]:
    """An answer whose gradient is finite differences of each sample's own loss.

    Each sample's loss ``terms(X, *rest)[i]`` depends on row ``i`` of ``X`` only, so moving one
    column of every row together and dividing by N gives a whole column of the gradient: no
    sample's error is mixed with the mean loss.
    """
    def answer(X: Any, *rest: Any) -> Any:
        X = np.asarray(X, dtype=np.float64)
        base = terms(X, *rest)
        grad = np.zeros_like(X)
        for col in np.ndindex(X.shape[1:]):
            column = (slice(None), *col)

            def at(step: float, column: tuple = column) -> np.ndarray:
                moved = X.copy()
                moved[column] += step
                return terms(moved, *rest)
            grad[column] = difference_quotient(at, base, h, stencil) / X.shape[0]
        return float(np.mean(base)), grad

    answer.__name__ = f"per_sample_numerical_{terms.__name__}_{stencil}_{h:g}"
    return answer


def finite_difference(fn: Function, h: float, stencil: str) -> Callable[..., Any]:
    """An answer to ``fn`` that returns the reference's values with every gradient output
    replaced by finite differences of the reference's loss (of any form: tuples, dicts)."""
    def answer(*args: Any) -> Any:
        args = tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)
        case = Case(args)
        result = _mutable(fn.reference(*args))
        for output, index in fn.gradient_outputs(case):
            x = np.asarray(args[index], dtype=np.float64)
            if x.size > MAX_ENTRIES:
                continue
            _put(result, output.path, _gradient_of(fn.objective(case, index), x, h, stencil))
        return result

    answer.__name__ = f"finite_difference_{fn.name}_{stencil}_{h:g}"
    return answer


def _mutable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_mutable(v) for v in value]
    if isinstance(value, dict):
        return {k: _mutable(v) for k, v in value.items()}
    return value


def _put(result: Any, path: tuple, value: Any) -> None:
    for step in path[:-1]:
        result = result[step]
    if path:
        result[path[-1]] = value


def memoised(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same function, remembering its answer for every input it has seen."""
    seen: dict[bytes, Any] = {}

    def remembering(*args: Any) -> Any:
        key = b"".join(np.asarray(a).tobytes() for a in args)
        if key not in seen:
            seen[key] = func(*args)
        return seen[key]

    remembering.__name__ = f"memoised_{func.__name__}"
    return remembering


def tolerance_used(run: Callable[[], None]) -> float | None:
    """The largest share of its tolerance any entry-by-entry comparison used while ``run()``
    graded (comparisons scaled by each entry's magnitude only; None when there was none): an
    honest answer should use a small share, so that it passes whatever its formula and
    summation order."""
    from unittest import mock

    from grader import checks

    worst: list[float] = []
    original = checks.assert_close

    def spy(got: Any, expected: Any, what: str, rtol: float = 1e-7, atol: float = 1e-12,
            hint: str = "", scale: Any = None) -> None:
        if scale is not None:
            err = np.abs(np.asarray(got, float) - np.asarray(expected, float))
            allowed = atol + rtol * np.asarray(scale)
            worst.append(float(np.max(err / np.maximum(allowed, 1e-300))))
        original(got, expected, what, rtol, atol, hint, scale)

    with mock.patch.object(checks, "assert_close", spy):
        run()
    return max(worst) if worst else None
