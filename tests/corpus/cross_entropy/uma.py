"""copy of noor: names changed, a comment per function, blank lines, two lines swapped."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    # stable: exp(-|z|) is at most 1
    arr = np.asarray(z, dtype=np.float64)
    ex = np.exp(-np.abs(arr))
    return np.where(arr >= 0, 1 / (1 + ex), ex / (1 + ex))

# %% softmax
def softmax(S):
    # shift by the row max
    ex = np.exp(S - S.max(axis=1, keepdims=True))

    return ex / ex.sum(axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    # softplus(z) - t z
    m = z.shape[0]
    grad = (sigmoid(z) - t) / m
    value = np.mean(np.logaddexp(0, z) - t * z)
    return value, grad

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    # log-softmax, then pick the true class
    m = S.shape[0]
    sh = S - S.max(axis=1, keepdims=True)
    lp = sh - np.log(np.exp(sh).sum(axis=1, keepdims=True))

    value = -np.mean(lp[np.arange(m), y])
    grad = np.exp(lp)
    grad[np.arange(m), y] -= 1
    return value, grad / m

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    # chain rule through the sigmoid
    sg = sigmoid(x)
    return sg - y, 2 * (sg - y) * sg * (1 - sg)

# %% saturation
sg = sigmoid(-8.0)
saturation_ratio = float((1 - sg) / (2 * (1 - sg) * sg * (1 - sg)))
x_star = float(-np.log(2))
