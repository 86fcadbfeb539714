"""honest: omar, also the textbook forms, with his own habits (keepdims, float(), asarray)."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    ex = np.exp(-np.abs(z))
    return np.where(z < 0, ex / (1.0 + ex), 1.0 / (1.0 + ex))

# %% softmax
def softmax(S):
    S = np.asarray(S, dtype=np.float64)
    exps = np.exp(S - np.max(S, axis=1, keepdims=True))
    return exps / np.sum(exps, axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    loss = float(np.mean(np.logaddexp(0.0, z) - t * z))
    grad = (sigmoid(z) - t) / len(z)
    return loss, grad

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    N = S.shape[0]
    P = softmax(S)
    m = np.max(S, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(S - m), axis=1))
    loss = float(np.mean(lse - S[np.arange(N), y]))
    P[np.arange(N), y] -= 1.0
    return loss, P / N

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([1.0, 2.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    g_ce = p - y
    g_se = 2.0 * (p - y) * p * (1.0 - p)
    return g_ce, g_se

# %% saturation
g_ce, g_se = logit_gradients(-8.0, 1.0)
saturation_ratio = float(abs(g_ce) / abs(g_se))
x_star = float(np.log(0.5))
