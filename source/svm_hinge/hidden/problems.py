"""Inputs of the ``svm_hinge`` hidden tests: fixed-seed linear-classifier problems.

Problems ``(W, X, y, reg)`` come from fixed seeds (``problem(..., seed)``, ``kink_problem``;
the seed of each generator is ``[seed, N, D, C]``), so the same submission always gets the
same score. Three families:

* ``CASES``: small, hand-checkable sizes and the edge cases (``N = 1``, ``C = 2``,
  ``reg = 0``), every hinge margin ``s_j - s_{y_i} + 1`` (``j != y_i``) at least
  ``MIN_MARGIN`` away from 0, so ``>`` or ``>=`` never decides a grade and numerical
  gradients never straddle the kink;
* ``SCALE_CASES``: the sizes of real use, each past a size an answer might assume (a batch
  of 2048 samples, 3073 CIFAR features, 10, 100 or 1000 classes);
* ``KINK_CASES``: one margin of every sample deliberately close to, but not at, 0 (from
  ``1e-2`` down to ``1e-10``, both signs). Every analytic gradient, with ``>`` or ``>=``,
  agrees there to rounding error; a finite-difference gradient either crosses the kink (off
  by about ``|x| / 2N``) or takes so small a step that rounding swamps it, and a margin
  counted only above a small tolerance misses the margins below it.

Gradients are compared with the reference entry by entry within ``GRAD_RTOL`` of each
entry's magnitude (the sum of the absolute values of the terms it adds up): thousands of
times any honest rounding difference, far below the error of a numerical gradient.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from . import reference

Problem = tuple[np.ndarray, np.ndarray, np.ndarray, float]

MIN_MARGIN = 1e-3

#: (N, D, C, scale of W, scale of X, reg): N=1, C=2, reg=0 and reg>0, tiny initial weights
#: (every margin active), weights giving a mix of active and inactive margins, pixel-like inputs.
CASES = [
    (1, 3, 2, 0.5, 1.0, 0.0),
    (1, 4, 5, 0.5, 1.0, 0.1),
    (6, 3, 2, 0.8, 1.0, 0.0),
    (8, 5, 4, 1e-3, 1.0, 0.0),
    (20, 6, 3, 0.7, 1.0, 0.05),
    (25, 8, 5, 1e-3, 30.0, 0.5),
    (40, 10, 10, 0.3, 1.0, 1.0),
    (60, 50, 10, 0.1, 1.0, 0.01),  # 500 weights: checked along random directions
]
#: Sizes students meet: thousands of samples, thousands of features, a thousand classes.
SCALE_CASES = [
    (2100, 4, 2, 0.5, 1.0, 0.01),
    (9, 3100, 3, 0.02, 1.0, 0.001),
    (3, 5, 1001, 1.5, 1.0, 1e-4),
]
#: The softmax classifier also meets many classes with more samples.
SOFTMAX_SCALE_CASES = SCALE_CASES + [(40, 6, 130, 0.5, 1.0, 0.01),
                                     (7, 6, 1001, 0.5, 1.0, 0.001)]
#: (N, D, C, reg): problems with one margin of every sample near the kink.
KINK_CASES = [(100, 10, 6, 0.1), (30, 120, 15, 0.0)]
#: Sizes of the near-kink margins, relative to scores of order 1.
KINK_LADDER = (1e-2, 1e-4, 1e-6, 1e-8, 1e-10)
#: (N, D, C): softmax problems whose last class is all but impossible.
UNLIKELY_CASES = [(50, 8, 6), (400, 20, 12)]
SHAPE_CASES = [(1, 1, 2, 0.5, 1.0, 0.0), (1, 3, 7, 0.5, 1.0, 0.1), (30, 4, 2, 0.5, 1.0, 0.0)]
SMALL, LARGE = (4, 3, 3, 0.5, 1.0, 0.1), (64, 8, 16, 0.5, 1.0, 0.1)
SPEED = (4000, 8, 5, 0.01, 1.0, 0.1)

#: Largest error of a gradient entry, relative to its magnitude (see the module docstring).
GRAD_RTOL = 1e-9
#: Same for the softmax classifier, whose probabilities carry a relative rounding error of
#: about ``eps * |score|``.
SOFTMAX_GRAD_RTOL = 1e-7



def _frozen(make: Callable[..., Problem]) -> Callable[..., Problem]:
    """Generate each problem once per process (they are deterministic) and make it read-only.

    The student's functions and the checks only ever receive copies.
    """
    @functools.lru_cache(maxsize=64)
    def cached(*args: object) -> Problem:
        generated = make(*args)
        for part in generated:
            if isinstance(part, np.ndarray):
                part.setflags(write=False)
        return generated

    signature = inspect.signature(make)

    @functools.wraps(make)
    def frozen(*args: object, **kwargs: object) -> Problem:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return cached(*bound.args)

    return frozen


def _margins(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    S = X @ W
    m = S - S[np.arange(len(y)), y][:, None] + 1.0
    m[np.arange(len(y)), y] = np.inf  # not a margin
    return m


@_frozen
def problem(n: int, d: int, c: int, w_scale: float, x_scale: float, reg: float,
            seed: int = 0) -> Problem:
    """A fixed-seed problem whose hinge margins all stay ``MIN_MARGIN`` away from 0.

    Parameters
    ----------
    n, d, c : int
        Samples, features, classes.
    w_scale, x_scale : float
        Standard deviations of the weights and inputs.
    reg : float
        Regularisation strength, passed through.
    seed : int
        Seed of the generator.

    Returns
    -------
    tuple
        ``(W, X, y, reg)``.
    """
    rng = np.random.default_rng([seed, n, d, c])
    W = w_scale * rng.standard_normal((d, c))
    X = x_scale * rng.standard_normal((n, d))
    y = rng.integers(0, c, size=n)
    # Redraw the samples that sit near the kink; a few rounds always suffice.
    for _ in range(100):
        near = (np.abs(_margins(W, X, y)) < MIN_MARGIN).any(axis=1)
        if not near.any():
            return W, X, y, reg
        X[near] = x_scale * rng.standard_normal((int(near.sum()), d))
    raise RuntimeError("could not keep the margins away from the kink")


@_frozen
def kink_problem(n: int, d: int, c: int, reg: float, seed: int = 0) -> Problem:
    """A fixed-seed problem with one margin of every sample close to, but not at, the kink.

    Sample ``i`` gets the margin ``+-KINK_LADDER[i % 5]`` for one class ``j != y_i`` (moving
    ``x_i`` along ``w_j - w_{y_i}``); its other margins stay ``MIN_MARGIN`` away from 0.
    Every near-kink margin is at least ``1e-10`` from 0, a million times the rounding error
    of any honest way of computing it, so ``>`` and ``>=`` agree on all of them.

    Parameters
    ----------
    n, d, c : int
        Samples, features, classes (``c >= 2``).
    reg : float
        Regularisation strength, passed through.
    seed : int
        Seed of the generator.

    Returns
    -------
    tuple
        ``(W, X, y, reg)``.
    """
    rng = np.random.default_rng([seed, n, d, c, 7])
    W = rng.standard_normal((d, c)) / np.sqrt(d)
    X = np.empty((n, d))
    y = rng.integers(0, c, size=n)
    for i in range(n):
        target = KINK_LADDER[i % len(KINK_LADDER)] * (1.0 if i % 2 else -1.0)
        for _ in range(100):
            j = (y[i] + 1 + rng.integers(0, c - 1)) % c
            v = W[:, j] - W[:, y[i]]
            x = rng.standard_normal(d)
            x += (target - (x @ v + 1.0)) * v / (v @ v)
            m = x @ W - x @ W[:, y[i]] + 1.0
            others = np.delete(m, [y[i], j])
            if (abs(m[j] - target) <= 1e-3 * abs(target) and np.all(np.abs(others) >= MIN_MARGIN)
                    and np.abs(x).max() < 10):
                X[i] = x
                break
        else:
            raise RuntimeError("could not place a margin near the kink")
    return W, X, y, reg


@_frozen
def unlikely_class_problem(n: int, d: int, c: int, seed: int = 0) -> Problem:
    """Pixel-like inputs and weights under which the last class is never the label and has a
    probability of about ``1e-10`` for every sample: the gradient's last column is tiny.

    A derived gradient gets it to a relative ``1e-13``; a numerical gradient, whatever its
    step, is off by more than the column itself (its error grows with the loss, which is of
    order 1, not with the column).

    Parameters
    ----------
    n, d, c : int
        Samples, features (the last one a constant 1), classes.
    seed : int
        Seed of the generator.

    Returns
    -------
    tuple
        ``(W, X, y, 0.0)``.
    """
    rng = np.random.default_rng([seed, n, d, c, 11])
    X = rng.uniform(0.0, 1.0, (n, d))
    X[:, -1] = 1.0
    W = rng.standard_normal((d, c))
    W[:, -1] = 0.05 * rng.standard_normal(d)
    W[-1, -1] = -19.0
    y = rng.integers(0, c - 1, size=n)
    return W, X, y, 0.0


def svm_dW_scale(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Magnitude of each entry of the hinge gradient: what its terms add up to in absolute value."""
    m = _margins(W, X, y)
    coef = (np.isfinite(m) & (m > 0)).astype(np.float64)
    coef[np.arange(len(y)), y] = coef.sum(axis=1)
    return np.abs(X).T @ coef / X.shape[0] + 2.0 * reg * np.abs(W)


def softmax_dW_scale(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Magnitude of each entry of the softmax gradient, ``|X|.T (P + Y) / N + 2 reg |W|``."""
    P = reference.softmax(X @ W)
    P[np.arange(len(y)), y] += 1.0
    return np.abs(X).T @ P / X.shape[0] + 2.0 * reg * np.abs(W)
