"""honest: jules, terse one-liners, tanh sigmoid, logsumexp by hand."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))

# %% softmax
def softmax(S):
    Z = np.exp(S - S.max(-1, keepdims=True))
    return Z / Z.sum(-1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    L = np.mean(np.maximum(z, 0) - t * z + np.log(1 + np.exp(-np.abs(z))))
    return L, (sigmoid(z) - t) / z.size

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    N = len(y)
    idx = (np.arange(N), y)
    P = softmax(S)
    mx = S.max(-1)
    L = np.mean(mx + np.log(np.exp(S - mx[:, None]).sum(-1)) - S[idx])
    P[idx] -= 1
    return L, P / N

# %% two_class_logit
def two_class_logit(S):
    return S @ np.array([-1.0, 1.0])

# %% affine_map
a = np.array([-1.0, 0.0])
b = np.array([0.5, 0.5])

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    return p - y, 2 * (p - y) * p * (1 - p)

# %% saturation
_p = sigmoid(-8.0)
saturation_ratio = float((1 - _p) / (2 * (1 - _p) * _p * (1 - _p)))
x_star = float(-np.log(2.0))
