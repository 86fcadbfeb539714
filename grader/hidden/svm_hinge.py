"""Hidden tests of the ``svm_hinge`` assignment, one function per graded item.

Problems ``(W, X, y, reg)`` come from fixed seeds. Every hinge margin ``s_j - s_{y_i} + 1``
(``j != y_i``) stays at least ``MIN_MARGIN`` away from 0, so choosing ``>`` or ``>=`` for the
indicator never decides a grade and numerical gradients never straddle the kink.
"""

from __future__ import annotations

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
SHAPE_CASES = [(1, 1, 2, 0.5, 1.0, 0.0), (1, 3, 7, 0.5, 1.0, 0.1), (30, 4, 2, 0.5, 1.0, 0.0)]
SMALL, LARGE = (4, 3, 3, 0.5, 1.0, 0.1), (64, 8, 16, 0.5, 1.0, 0.1)
SPEED = (4000, 8, 5, 0.01, 1.0, 0.1)

SVM_HINT = (
    "For each sample, every class j != y_i with margin s_j - s_{y_i} + 1 > 0 adds x_i to "
    "column j of dW and subtracts x_i from column y_i; then divide by N and add 2 reg W."
)
SOFTMAX_HINT = "dW = X.T (P - Y) / N + 2 reg W, with P = softmax(X W) and Y one-hot labels."
STABLE_HINT = (
    "Subtract each row's maximum score before exponentiating, and compute the loss from "
    "log-probabilities S - max - log(sum(exp(S - max))) rather than log(softmax), "
    "which rounds to log(0) for a very unlikely true class."
)


def _margins(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    S = X @ W
    m = S - S[np.arange(len(y)), y][:, None] + 1.0
    m[np.arange(len(y)), y] = np.inf  # not a margin
    return m


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


def _describe(args: Problem) -> str:
    W, X, _, reg = args
    return f"(N={X.shape[0]}, D={X.shape[1]}, C={W.shape[1]}, reg={reg:g})"


def _run(func: Func, name: str, args: Problem) -> tuple[float, np.ndarray, str]:
    what = f"{name} {_describe(args)}"
    return (*checks.loss_and_gradient(func, args, name, "dW", args[0].shape, what), what)


def _loss_item(func: Func, name: str, ref: Callable, hint: str) -> None:
    for case in CASES:
        args = problem(*case)
        loss, _, what = _run(func, name, args)
        checks.assert_close(loss, ref(*args)[0], f"the loss of {what}", hint=hint)


def _gradient_item(func: Func, name: str, ref: Callable, hint: str) -> None:
    for case in CASES:
        W, X, y, reg = args = problem(*case)
        _, dW, what = _run(func, name, args)
        checks.assert_gradient(lambda w, X=X, y=y, reg=reg: ref(w, X, y, reg)[0], W, dW,
                               f"dW of {what}", hint=hint)
        ref_dW = ref(*args)[1]
        checks.assert_close(dW, ref_dW, f"dW of {what}", rtol=1e-6,
                            atol=1e-10 * max(1.0, float(np.abs(ref_dW).max())), hint=hint)


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
    small, large = problem(*SMALL), problem(*LARGE)
    _does_the_work(func, name, ref, large)
    checks.assert_loop_free(func, small, large, name, sizes=(_describe(small), _describe(large)))


def _speed_item(func: Func, name: str, ref: Callable) -> None:
    args = problem(*SPEED)
    _does_the_work(func, name, ref, args)
    checks.assert_fast(func, ref, args, name)


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
               "loss = mean over samples of -log softmax(X W)[i, y_i], plus reg * sum(W**2).")


def softmax_gradient(softmax_loss_vectorized: Func) -> None:
    """``dW`` matches numerical and reference gradients."""
    _gradient_item(softmax_loss_vectorized, NAME_SOFTMAX, reference.softmax_loss, SOFTMAX_HINT)


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
