"""Numeric gradient checking by central differences, in float64.

A gradient is compared with ``(f(x + h e) - f(x - h e)) / 2h``: entry by entry for small inputs
(:func:`check_gradient`), along a few random unit directions for large ones
(:func:`check_directional`). Either way the result says where the worst disagreement is and how
large it is, so a failing test can name the entry of ``dW`` that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Objective = Callable[[NDArray[np.float64]], float]

#: Entries below this fraction of the largest gradient entry are judged by their absolute error
#: relative to that entry. Central differences carry an absolute rounding error of about
#: ``eps * |f| / h``, while the gradient of a mean loss shrinks like ``1 / N``: small entries
#: cannot be resolved relatively, and a wrong gradient is wrong at the gradient's own scale.
SCALE_FLOOR = 1e-2


@dataclass(frozen=True)
class GradCheck:
    """Outcome of a gradient check, reported at its worst entry (or direction).

    Attributes
    ----------
    max_rel_error : float
        Largest relative error found.
    index : tuple of int
        Index of the worst gradient entry; for a directional check, ``(k,)`` of the worst
        random direction.
    analytic : float
        The analytic value there (an entry, or the directional derivative ``g . v``).
    numeric : float
        The central-difference value there.
    directional : bool
        Whether random directions were used instead of single entries.
    """

    max_rel_error: float
    index: tuple[int, ...]
    analytic: float
    numeric: float
    directional: bool = False

    def passed(self, tol: float = 1e-6) -> bool:
        """Whether the largest relative error is at most `tol` (NaN never passes)."""
        return bool(self.max_rel_error <= tol)

    def describe(self) -> str:
        """One line naming the worst entry, e.g. ``at entry [2, 1]: analytic 0.5, numeric 0.25``."""
        if self.directional:
            where = f"along random direction #{self.index[0]}"
        else:
            where = "at entry [" + ", ".join(str(i) for i in self.index) + "]"
        return (
            f"{where}: analytic {self.analytic:.6g}, numeric {self.numeric:.6g} "
            f"(relative error {self.max_rel_error:.2e})"
        )


def rel_error(a: ArrayLike, b: ArrayLike, floor: float = 1e-8) -> NDArray[np.float64]:
    """Relative error ``|a - b| / max(|a| + |b|, floor)``, elementwise.

    Symmetric in `a` and `b`, at most 1 where finite, and well behaved where both are near zero
    (then it becomes an absolute error scaled by ``1 / floor``).

    Parameters
    ----------
    a, b : array_like
        Values to compare (broadcast together).
    floor : float
        Smallest denominator.

    Returns
    -------
    ndarray
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)


def numeric_gradient(f: Objective, x: ArrayLike, h: float = 1e-5) -> NDArray[np.float64]:
    """Central-difference gradient of a scalar function, one entry at a time.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; called ``2 * x.size`` times on a float64 copy of `x`.
    x : array_like
        Point at which to differentiate (not modified).
    h : float
        Step.

    Returns
    -------
    ndarray
        Same shape as `x`.
    """
    x = np.array(x, dtype=np.float64)  # our own copy: we nudge it in place
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = float(f(x))
        x[idx] = old - h
        minus = float(f(x))
        x[idx] = old
        grad[idx] = (plus - minus) / (2.0 * h)
    return grad


def _floor(*grads: NDArray[np.float64]) -> float:
    scale = max((float(np.max(np.abs(g), initial=0.0)) for g in grads), default=0.0)
    return max(SCALE_FLOOR * scale, 1e-12) if np.isfinite(scale) else 1e-12


def check_gradient(f: Objective, x: ArrayLike, analytic: ArrayLike, h: float = 1e-5) -> GradCheck:
    """Compare `analytic` with the central-difference gradient of `f` at `x`, entry by entry.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : array_like
        Point of the check.
    analytic : array_like
        Claimed gradient of `f` at `x`, same shape as `x`.
    h : float
        Step.

    Returns
    -------
    GradCheck
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != np.shape(x):
        raise ValueError(f"gradient has shape {analytic.shape}, input has {np.shape(x)}")
    numeric = numeric_gradient(f, x, h)
    err = rel_error(analytic, numeric, _floor(numeric, analytic))
    err = np.where(np.isnan(err), np.inf, err)  # a NaN entry is the worst entry
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    return GradCheck(
        max_rel_error=float(err[idx]),
        index=tuple(int(i) for i in idx),
        analytic=float(analytic[idx]),
        numeric=float(numeric[idx]),
    )


def check_directional(
    f: Objective,
    x: ArrayLike,
    analytic: ArrayLike,
    h: float = 1e-5,
    n_directions: int = 4,
    seed: int = 0,
) -> GradCheck:
    """Compare directional derivatives ``analytic . v`` with central differences along random `v`.

    Costs ``2 * n_directions`` evaluations of `f` whatever the size of `x`; a wrong gradient
    is caught with probability 1 by any one random direction.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : array_like
        Point of the check.
    analytic : array_like
        Claimed gradient of `f` at `x`, same shape as `x`.
    h : float
        Step.
    n_directions : int
        Number of random unit directions.
    seed : int
        Seed of the directions, so that a check is reproducible.

    Returns
    -------
    GradCheck
    """
    x = np.asarray(x, dtype=np.float64)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(f"gradient has shape {analytic.shape}, input has {x.shape}")
    rng = np.random.default_rng(seed)
    # A directional derivative is at most the gradient's norm; scale the floor by that norm.
    floor = max(SCALE_FLOOR * float(np.linalg.norm(analytic)), 1e-12)
    worst = None
    for k in range(n_directions):
        v = rng.standard_normal(x.shape)
        v /= np.linalg.norm(v)
        numeric = (float(f(x + h * v)) - float(f(x - h * v))) / (2.0 * h)
        claimed = float(np.sum(analytic * v))
        err = float(rel_error(claimed, numeric, floor))
        err = np.inf if np.isnan(err) else err
        if worst is None or err > worst.max_rel_error:
            worst = GradCheck(err, (k,), claimed, numeric, directional=True)
    assert worst is not None, "n_directions must be positive"
    return worst


def gradient_check(
    f: Objective, x: ArrayLike, analytic: ArrayLike, h: float = 1e-5, max_entries: int = 400
) -> GradCheck:
    """Full check for inputs with at most `max_entries` entries, directional check otherwise.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : array_like
        Point of the check.
    analytic : array_like
        Claimed gradient of `f` at `x`.
    h : float
        Step.
    max_entries : int
        Largest input checked entry by entry.

    Returns
    -------
    GradCheck
    """
    if np.size(x) <= max_entries:
        return check_gradient(f, x, analytic, h)
    return check_directional(f, x, analytic, h)
