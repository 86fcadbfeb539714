"""Reference solutions of ``two_layer_net``: a network with one hidden ReLU layer, its
softmax loss and the loss's gradients by backpropagation, vectorized and stable.

Parameters ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``, ``b2 (C,)``; pre-activations
``A = X W1 + b1``, hidden units ``relu(A)``, scores ``S = relu(A) W2 + b2``. The loss is the
mean softmax cross-entropy plus ``reg * (sum(W1**2) + sum(W2**2))`` (biases not regularised);
the derivative of ``relu`` at 0 is taken as 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def relu(x: ArrayLike) -> Array:
    """``max(0, x)`` elementwise, as float64."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def two_layer_forward(X: ArrayLike, W1: ArrayLike, b1: ArrayLike, W2: ArrayLike,
                      b2: ArrayLike) -> Array:
    """Scores ``relu(X W1 + b1) W2 + b2``, shape ``(N, C)``."""
    return relu(np.asarray(X) @ W1 + b1) @ W2 + b2


def two_layer_loss(X: ArrayLike, y: ArrayLike, W1: ArrayLike, b1: ArrayLike, W2: ArrayLike,
                   b2: ArrayLike, reg: float) -> tuple[float, dict[str, Array]]:
    """The network's loss and its gradients ``{"W1", "b1", "W2", "b2"}``.

    Returns
    -------
    loss : float
        ``mean(logsumexp(S_i) - S[i, y_i]) + reg * (sum(W1**2) + sum(W2**2))``.
    grads : dict
        The gradient of ``loss`` with respect to each parameter, of its shape.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    W1, b1, W2, b2 = (np.asarray(p, dtype=np.float64) for p in (W1, b1, W2, b2))
    n = X.shape[0]
    rows = np.arange(n)
    A = X @ W1 + b1
    hidden = np.maximum(A, 0.0)
    S = hidden @ W2 + b2
    shifted = S - S.max(axis=1, keepdims=True)  # every exponent <= 0
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    loss = float(np.mean(log_norm - shifted[rows, y])
                 + reg * (np.sum(W1 * W1) + np.sum(W2 * W2)))
    dS = np.exp(shifted - log_norm[:, None])  # softmax(S)
    dS[rows, y] -= 1.0
    dS /= n
    dhidden = dS @ W2.T
    dA = dhidden * (A > 0)
    grads = {"W1": X.T @ dA + 2.0 * reg * W1, "b1": dA.sum(axis=0),
             "W2": hidden.T @ dS + 2.0 * reg * W2, "b2": dS.sum(axis=0)}
    return loss, grads


def dead_units(X: ArrayLike, W1: ArrayLike, b1: ArrayLike) -> NDArray[np.bool_]:
    """Hidden units inactive for every sample of the batch (``X W1 + b1 <= 0`` in the whole
    column): their incoming weights and bias get a zero gradient."""
    return np.all(np.asarray(X) @ W1 + b1 <= 0.0, axis=0)
