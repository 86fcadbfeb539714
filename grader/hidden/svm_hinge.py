"""Hidden tests of the ``svm_hinge`` assignment, one function per graded item.

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

from grader import checks, reference

Func = Callable[..., object]
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

SVM_HINT = (
    "For each sample, every class j != y_i with margin s_j - s_{y_i} + 1 > 0 adds x_i to "
    "column j of dW and subtracts x_i from column y_i; then divide by N and add 2 reg W."
)
SOFTMAX_HINT = "dW = X.T (P - Y) / N + 2 reg W, with P = softmax(X W) and Y one-hot labels."
DERIVED_HINT = (
    " dW must be the derived formula, computed exactly: some margins are within 1e-10 of 0 "
    "and some probabilities are about 1e-10, so count a margin when it is > 0, with no "
    "tolerance; a numerical gradient is only accurate enough to check dW, not to be it."
)
STABLE_HINT = (
    "Subtract each row's maximum score before exponentiating, and compute the loss from "
    "log-probabilities S - max - log(sum(exp(S - max))) rather than log(softmax), "
    "which rounds to log(0) for a very unlikely true class."
)


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


def _describe(args: Problem) -> str:
    W, X, _, reg = args
    return f"(N={X.shape[0]}, D={X.shape[1]}, C={W.shape[1]}, reg={reg:g})"


def _run(func: Func, name: str, args: Problem) -> tuple[float, np.ndarray, str]:
    what = f"{name} {_describe(args)}"
    return (*checks.loss_and_gradient(func, args, name, "dW", args[0].shape, what), what)


def _value_problems(scale_cases: list) -> list[Problem]:
    return ([problem(*case) for case in CASES + scale_cases]
            + [kink_problem(*case) for case in KINK_CASES])


def _loss_item(func: Func, name: str, ref: Callable, hint: str,
               scale_cases: list = SCALE_CASES) -> None:
    for args in _value_problems(scale_cases):
        loss, _, what = _run(func, name, args)
        checks.assert_close(loss, ref(*args)[0], f"the loss of {what}", hint=hint)


def _svm_dW_scale(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Magnitude of each entry of the hinge gradient: what its terms add up to in absolute value."""
    m = _margins(W, X, y)
    coef = (np.isfinite(m) & (m > 0)).astype(np.float64)
    coef[np.arange(len(y)), y] = coef.sum(axis=1)
    return np.abs(X).T @ coef / X.shape[0] + 2.0 * reg * np.abs(W)


def _softmax_dW_scale(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Magnitude of each entry of the softmax gradient, ``|X|.T (P + Y) / N + 2 reg |W|``."""
    P = reference.softmax(X @ W)
    P[np.arange(len(y)), y] += 1.0
    return np.abs(X).T @ P / X.shape[0] + 2.0 * reg * np.abs(W)


def _gradient_item(func: Func, name: str, ref: Callable, hint: str,
                   scale_cases: list = SCALE_CASES, extra: list | None = None,
                   entry_scale: Callable = _svm_dW_scale, rtol: float = GRAD_RTOL) -> None:
    for case in CASES + scale_cases:
        W, X, y, reg = args = problem(*case)
        _, dW, what = _run(func, name, args)
        checks.assert_gradient(lambda w, X=X, y=y, reg=reg: ref(w, X, y, reg)[0], W, dW,
                               f"dW of {what}", hint=hint)
        checks.assert_close(dW, ref(*args)[1], f"dW of {what}", rtol=rtol, atol=0.0,
                            scale=entry_scale(*args), hint=hint + DERIVED_HINT)
    # Near the kink (and on the extra problems), only the derived formula is exact.
    for args in [kink_problem(*case) for case in KINK_CASES] + (extra or []):
        _, dW, what = _run(func, name, args)
        checks.assert_close(dW, ref(*args)[1], f"dW of {what}", rtol=rtol, atol=0.0,
                            scale=entry_scale(*args), hint=hint + DERIVED_HINT)


def _shapes_item(func: Func, name: str) -> None:
    for case in SHAPE_CASES:
        loss, dW, what = _run(func, name, problem(*case))
        checks.assert_finite(loss, f"the loss of {what}")
        checks.assert_finite(dW, f"dW of {what}")


def _untouched_item(func: Func, name: str) -> None:
    checks.assert_untouched(func, *problem(*CASES[4]), name=name, arg_names=["W", "X", "y", "reg"])


def _does_the_work(func: Func, name: str, ref: Callable, args: Problem) -> None:
    """Vectorisation is credited to a function that computes the loss or the gradient.

    Without this, ``return 0.0, np.zeros_like(W)`` would be loop-free and fast. One wrong
    part (loss or gradient) still counts as doing the work: that mistake costs its own item.
    """
    loss, dW, what = _run(func, name, args)
    ref_loss, ref_dW = ref(*args)
    if not (np.isclose(loss, ref_loss, rtol=1e-6, atol=1e-9)
            or np.allclose(dW, ref_dW, rtol=1e-5, atol=1e-9)):
        raise AssertionError(
            f"{name}: neither the loss nor dW of {what} is right, so there is no vectorized "
            "computation to credit yet; make the loss or the gradient right first.")


def _loop_free_item(func: Func, name: str, ref: Callable) -> None:
    _does_the_work(func, name, ref, problem(*LARGE))
    checks.assert_loop_free(func, lambda k: problem(*SMALL, seed=k),
                            lambda k: problem(*LARGE, seed=k), name,
                            sizes=(_describe(problem(*SMALL)), _describe(problem(*LARGE))))


def _speed_item(func: Func, name: str, ref: Callable) -> None:
    _does_the_work(func, name, ref, problem(*SPEED))
    checks.assert_fast(func, ref, lambda k: problem(*SPEED, seed=k), name)


# ---- svm_loss_naive ------------------------------------------------------------------------

def svm_naive_loss(svm_loss_naive: Func) -> None:
    """The loss of ``svm_loss_naive`` equals the hinge-loss definition."""
    _loss_item(svm_loss_naive, "svm_loss_naive", reference.svm_loss,
               "loss = (1/N) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W**2).")


def svm_naive_gradient(svm_loss_naive: Func) -> None:
    """``dW`` of ``svm_loss_naive`` matches numerical and reference gradients."""
    _gradient_item(svm_loss_naive, "svm_loss_naive", reference.svm_loss, SVM_HINT)


def svm_naive_shapes(svm_loss_naive: Func) -> None:
    """A single-number loss and ``dW`` of shape ``(D, C)`` for N=1, D=1, C=2."""
    _shapes_item(svm_loss_naive, "svm_loss_naive")


def svm_naive_untouched(svm_loss_naive: Func) -> None:
    """``svm_loss_naive`` does not modify its arguments."""
    _untouched_item(svm_loss_naive, "svm_loss_naive")


# ---- svm_loss_vectorized -------------------------------------------------------------------

def svm_vec_loss(svm_loss_vectorized: Func) -> None:
    """The loss of ``svm_loss_vectorized`` equals the hinge-loss definition."""
    _loss_item(svm_loss_vectorized, "svm_loss_vectorized", reference.svm_loss,
               "Same value as svm_loss_naive: mask the y_i column out of the margins.")


def svm_vec_gradient(svm_loss_vectorized: Func) -> None:
    """``dW`` of ``svm_loss_vectorized`` matches numerical and reference gradients."""
    _gradient_item(svm_loss_vectorized, "svm_loss_vectorized", reference.svm_loss, SVM_HINT)


def svm_vec_shapes(svm_loss_vectorized: Func) -> None:
    """A single-number loss and ``dW`` of shape ``(D, C)`` for N=1, D=1, C=2."""
    _shapes_item(svm_loss_vectorized, "svm_loss_vectorized")


def svm_vec_untouched(svm_loss_vectorized: Func) -> None:
    """``svm_loss_vectorized`` does not modify its arguments."""
    _untouched_item(svm_loss_vectorized, "svm_loss_vectorized")


def svm_vec_loop_free(svm_loss_vectorized: Func) -> None:
    """``svm_loss_vectorized`` runs no Python loop over samples or classes."""
    _loop_free_item(svm_loss_vectorized, "svm_loss_vectorized", reference.svm_loss)


def svm_vec_speed(svm_loss_vectorized: Func) -> None:
    """``svm_loss_vectorized`` is about as fast as a vectorized reference."""
    _speed_item(svm_loss_vectorized, "svm_loss_vectorized", reference.svm_loss)


# ---- softmax_loss_vectorized ---------------------------------------------------------------

NAME_SOFTMAX = "softmax_loss_vectorized"


def softmax_loss(softmax_loss_vectorized: Func) -> None:
    """The loss equals ``mean(-log softmax(X W)[i, y_i]) + reg * sum(W**2)``."""
    _loss_item(softmax_loss_vectorized, NAME_SOFTMAX, reference.softmax_loss,
               "loss = mean over samples of -log softmax(X W)[i, y_i], plus reg * sum(W**2).",
               SOFTMAX_SCALE_CASES)


def softmax_gradient(softmax_loss_vectorized: Func) -> None:
    """``dW`` matches numerical and reference gradients."""
    _gradient_item(softmax_loss_vectorized, NAME_SOFTMAX, reference.softmax_loss, SOFTMAX_HINT,
                   SOFTMAX_SCALE_CASES, [unlikely_class_problem(*case) for case in UNLIKELY_CASES],
                   _softmax_dW_scale, SOFTMAX_GRAD_RTOL)


def softmax_stable(softmax_loss_vectorized: Func) -> None:
    """Loss and gradient are finite and correct for scores up to about 1e4."""
    for case in [(12, 4, 5, 2000.0, 1.0, 0.0), (6, 3, 3, 3000.0, 1.0, 1e-6)]:
        args = problem(*case)
        loss, dW, what = _run(softmax_loss_vectorized, NAME_SOFTMAX, args)
        ref_loss, ref_dW = reference.softmax_loss(*args)
        what = f"{what}, scores up to {np.abs(args[1] @ args[0]).max():.0f}"
        checks.assert_close(loss, ref_loss, f"the loss of {what}", hint=STABLE_HINT)
        checks.assert_close(dW, ref_dW, f"dW of {what}", rtol=1e-6,
                            atol=1e-10 * float(np.abs(ref_dW).max()), hint=STABLE_HINT)


def softmax_shapes(softmax_loss_vectorized: Func) -> None:
    """A single-number loss and ``dW`` of shape ``(D, C)`` for N=1, D=1, C=2."""
    _shapes_item(softmax_loss_vectorized, NAME_SOFTMAX)


def softmax_untouched(softmax_loss_vectorized: Func) -> None:
    """``softmax_loss_vectorized`` does not modify its arguments."""
    _untouched_item(softmax_loss_vectorized, NAME_SOFTMAX)


def softmax_loop_free(softmax_loss_vectorized: Func) -> None:
    """``softmax_loss_vectorized`` runs no Python loop over samples or classes."""
    _loop_free_item(softmax_loss_vectorized, NAME_SOFTMAX, reference.softmax_loss)


def softmax_speed(softmax_loss_vectorized: Func) -> None:
    """``softmax_loss_vectorized`` is about as fast as a vectorized reference."""
    _speed_item(softmax_loss_vectorized, NAME_SOFTMAX, reference.softmax_loss)
