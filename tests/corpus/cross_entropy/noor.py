"""honest: noor, the textbook forms from the lecture notes (close to what many students write)."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% softmax
def softmax(S):
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    n = z.shape[0]
    loss = np.mean(np.logaddexp(0, z) - t * z)
    dz = (sigmoid(z) - t) / n
    return loss, dz

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(n), y])
    dS = np.exp(log_probs)
    dS[np.arange(n), y] -= 1
    return loss, dS / n

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    s = sigmoid(x)
    return s - y, 2 * (s - y) * s * (1 - s)

# %% saturation
s = sigmoid(-8.0)
saturation_ratio = float((1 - s) / (2 * (1 - s) * s * (1 - s)))
x_star = float(-np.log(2))
