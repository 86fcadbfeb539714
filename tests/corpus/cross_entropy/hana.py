"""honest: hana, compact NumPy, stable formulas through np.where and logaddexp."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    pos = z >= 0
    out = np.empty_like(z)
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out

# %% softmax
def softmax(S):
    shifted = S - np.max(S, axis=1, keepdims=True)
    num = np.exp(shifted)
    return num / np.sum(num, axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    N = z.shape[0]
    loss = np.logaddexp(0, z).mean() - (t * z).mean()
    dz = (sigmoid(z) - t) / N
    return float(loss), dz

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    N = S.shape[0]
    probs = softmax(S)
    shifted = S - np.max(S, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(N), y])
    grad = probs.copy()
    grad[np.arange(N), y] -= 1
    grad /= N
    return float(loss), grad

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    s = sigmoid(np.asarray(x, dtype=float))
    grad_ce = s - y
    grad_se = 2 * (s - y) * s * (1 - s)
    return grad_ce, grad_se

# %% saturation
gc, gs = logit_gradients(-8.0, 1.0)
saturation_ratio = float(abs(gc) / abs(gs))
x_star = float(np.log(0.5))
