"""Reference solutions of ``svm_hinge``: the linear classifier's two losses, vectorized.

Float64 throughout; losses are the mean over samples plus ``reg * sum(W**2)``, returned as
Python floats; gradients are the gradient of exactly that returned loss. The softmax is
shifted by each row's maximum, so it stays finite for any scores.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def softmax(S: ArrayLike) -> Array:
    """Row-wise softmax of a score matrix ``(N, C)``, shifted by each row's maximum."""
    S = np.asarray(S, dtype=np.float64)
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(S: ArrayLike, y: ArrayLike) -> tuple[float, Array]:
    """Mean softmax cross-entropy ``mean(logsumexp(S_i) - S[i, y_i])`` and its gradient
    ``(softmax(S) - onehot(y)) / N``."""
    S = np.asarray(S, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    n = S.shape[0]
    rows = np.arange(n)
    m = S.max(axis=1, keepdims=True)
    log_norm = (m + np.log(np.exp(S - m).sum(axis=1, keepdims=True)))[:, 0]
    loss = float(np.mean(log_norm - S[rows, y]))
    dS = softmax(S)
    dS[rows, y] -= 1.0
    return loss, dS / n


def svm_loss(W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float) -> tuple[float, Array]:
    """Multiclass hinge (SVM) loss of a linear classifier and its gradient.

    Same values as ``svm_loss_naive``/``svm_loss_vectorized`` of the course, with the margin
    indicator taken as ``margin > 0``.

    Parameters
    ----------
    W : array_like, shape (D, C)
        Weights.
    X : array_like, shape (N, D)
        Inputs.
    y : array_like of int, shape (N,)
        Labels in ``[0, C)``.
    reg : float
        L2 regularisation strength.

    Returns
    -------
    loss : float
        ``(1/N) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W**2)``.
    dW : ndarray, shape (D, C)
    """
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    n = X.shape[0]
    rows = np.arange(n)
    S = X @ W
    margins = S - S[rows, y][:, None] + 1.0
    margins[rows, y] = 0.0  # the j == y_i term is not part of the sum
    active = (margins > 0).astype(np.float64)
    loss = float(np.sum(margins * active) / n + reg * np.sum(W * W))
    # Each active margin adds x_i to column j and subtracts x_i from column y_i (formulas 3, 4).
    coef = active
    coef[rows, y] = -active.sum(axis=1)
    dW = X.T @ coef / n + 2.0 * reg * W
    return loss, dW


def softmax_loss(W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float) -> tuple[float, Array]:
    """Softmax (cross-entropy) loss of a linear classifier and its gradient.

    Parameters
    ----------
    W : array_like, shape (D, C)
        Weights.
    X : array_like, shape (N, D)
        Inputs.
    y : array_like of int, shape (N,)
        Labels in ``[0, C)``.
    reg : float
        L2 regularisation strength.

    Returns
    -------
    loss : float
        ``mean(-log softmax(X W)[i, y_i]) + reg * sum(W**2)``.
    dW : ndarray, shape (D, C)
        ``X.T (P - Y) / N + 2 reg W``.
    """
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    loss, dS = softmax_cross_entropy(X @ W, y)
    return loss + float(reg * np.sum(W * W)), X.T @ dS + 2.0 * reg * W
