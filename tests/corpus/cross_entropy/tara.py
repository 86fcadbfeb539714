"""copy of mei: every disguise at once (names, order, comments, blank lines, a helper inlined)."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    # logistic function via logaddexp (stable)
    arr = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -arr))

# %% softmax
def softmax(S):
    M = np.asarray(S, dtype=np.float64)

    lz = np.logaddexp.reduce(M, axis=1, keepdims=True)   # log partition function
    return np.exp(M - lz)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    tt = np.asarray(t, dtype=np.float64)
    zz = np.asarray(z, dtype=np.float64)
    terms = tt * np.logaddexp(0.0, -zz) + (1.0 - tt) * np.logaddexp(0.0, zz)
    grad = (np.exp(-np.logaddexp(0.0, -zz)) - tt) / zz.shape[0]
    return terms.mean(), grad

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    M = np.asarray(S, dtype=np.float64)
    rows, cols = M.shape
    lp = M - np.logaddexp.reduce(M, axis=1, keepdims=True)
    T = np.zeros((rows, cols))
    T[np.arange(rows), y] = 1.0

    value = -(T * lp).sum() / rows
    return value, (np.exp(lp) - T) / rows

# %% two_class_logit
def two_class_logit(S):
    return np.subtract(S[:, 1], S[:, 0])

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([7.0, 7.0])

# %% logit_gradients
def logit_gradients(x, y):
    yy = np.asarray(y, dtype=np.float64)
    xx = np.asarray(x, dtype=np.float64)
    p = sigmoid(xx)
    return p - yy, 2.0 * (p - yy) * sigmoid(xx) * sigmoid(-xx)

# %% saturation
d_ce, d_se = logit_gradients(-8.0, 1.0)
x_star = float(-np.log(2.0))
saturation_ratio = float(np.abs(d_ce / d_se))
