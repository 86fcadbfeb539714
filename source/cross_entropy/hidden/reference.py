"""Reference solutions of ``cross_entropy``, vectorized and numerically stable.

Float64 throughout; losses are the mean over samples, returned as Python floats; gradients
are float64 arrays of the gradient of exactly that returned loss. Every exponential is taken
of a non-positive number (``exp(-|z|)``, scores shifted by their row maximum,
:func:`numpy.logaddexp`), so all results stay finite for ``|z|`` up to 1e4 and far beyond.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def sigmoid(z: ArrayLike) -> Array:
    """Logistic function ``1 / (1 + exp(-z))``, elementwise.

    Parameters
    ----------
    z : array_like
        Logits of any shape (a scalar gives a 0-d array).

    Returns
    -------
    ndarray
        ``sigma(z)`` with the shape of `z`, in ``[0, 1]``.
    """
    z = np.asarray(z, dtype=np.float64)
    # exp(-|z|) never overflows; both branches are exact rewrites of the same function.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(S: ArrayLike) -> Array:
    """Row-wise softmax of a score matrix.

    Parameters
    ----------
    S : array_like, shape (N, C)
        Scores.

    Returns
    -------
    ndarray, shape (N, C)
        Probabilities; each row sums to 1.
    """
    S = np.asarray(S, dtype=np.float64)
    # Shifting a row by a constant leaves softmax unchanged and makes the largest exponent 0.
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def logsumexp(S: ArrayLike) -> Array:
    """Row-wise ``log(sum(exp(S)))``, computed without overflow.

    Parameters
    ----------
    S : array_like, shape (N, C)
        Scores.

    Returns
    -------
    ndarray, shape (N,)
    """
    S = np.asarray(S, dtype=np.float64)
    m = S.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(S - m).sum(axis=-1, keepdims=True)))[..., 0]


def binary_cross_entropy(z: ArrayLike, t: ArrayLike) -> tuple[float, Array]:
    """Mean binary cross-entropy of logits and its gradient.

    Parameters
    ----------
    z : array_like, shape (N,)
        Logits.
    t : array_like, shape (N,)
        Targets in ``[0, 1]``.

    Returns
    -------
    loss : float
        ``mean(softplus(z) - t * z)``, i.e. ``mean(-t log sigma(z) - (1 - t) log(1 - sigma(z)))``.
    dz : ndarray, shape (N,)
        ``(sigma(z) - t) / N``.
    """
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    n = z.shape[0]
    # softplus(z) = log(1 + e^z) = logaddexp(0, z): finite for any finite z.
    loss = float(np.mean(np.logaddexp(0.0, z) - t * z))
    return loss, (sigmoid(z) - t) / n


def softmax_cross_entropy(S: ArrayLike, y: ArrayLike) -> tuple[float, Array]:
    """Mean softmax cross-entropy of a score matrix and its gradient.

    Parameters
    ----------
    S : array_like, shape (N, C)
        Scores.
    y : array_like of int, shape (N,)
        Labels in ``[0, C)``.

    Returns
    -------
    loss : float
        ``mean(logsumexp(S_i) - S[i, y_i])``.
    dS : ndarray, shape (N, C)
        ``(softmax(S) - onehot(y)) / N``.
    """
    S = np.asarray(S, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    n = S.shape[0]
    rows = np.arange(n)
    loss = float(np.mean(logsumexp(S) - S[rows, y]))
    dS = softmax(S)
    dS[rows, y] -= 1.0
    return loss, dS / n


def two_class_logit(S: ArrayLike) -> Array:
    """The logit ``z`` with ``sigma(z) == softmax(S)[:, 1]`` for two-class scores.

    Parameters
    ----------
    S : array_like, shape (N, 2)
        Scores; column 1 is the positive class.

    Returns
    -------
    ndarray, shape (N,)
        ``S[:, 1] - S[:, 0]``.
    """
    S = np.asarray(S, dtype=np.float64)
    return S[:, 1] - S[:, 0]


def logit_gradients(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    """Gradients with respect to the logit of BCE and of squared error of the sigmoid.

    Parameters
    ----------
    x : array_like
        Logits (scalar or array).
    y : array_like
        Targets, same shape as `x`.

    Returns
    -------
    g_bce : ndarray
        ``d/dx BCE(sigma(x), y) = sigma(x) - y``.
    g_mse : ndarray
        ``d/dx (sigma(x) - y)**2 = 2 (sigma(x) - y) sigma(x) (1 - sigma(x))``.
    """
    p = sigmoid(x)
    r = p - np.asarray(y, dtype=np.float64)
    return r, 2.0 * r * p * (1.0 - p)


def saturation_ratio(x: float = -8.0, y: float = 1.0) -> float:
    """Ratio ``|g_bce| / |g_mse|`` of the two logit gradients (about 1491 at ``x=-8, y=1``).

    Parameters
    ----------
    x : float
        Logit.
    y : float
        Target.

    Returns
    -------
    float
    """
    g_bce, g_mse = logit_gradients(x, y)
    return float(np.abs(g_bce) / np.abs(g_mse))


def concave_threshold() -> float:
    """The logit below which ``(sigma(x) - 1)**2`` is concave: ``-ln 2``.

    Its second derivative is ``-2 s'(x) (1 - s) (1 - 3 s)`` with ``s = sigma(x)``, negative
    exactly when ``s < 1/3``, i.e. ``x < ln(1/2)``.

    Returns
    -------
    float
    """
    return -math.log(2.0)
