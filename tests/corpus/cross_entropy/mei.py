"""honest: mei, softmax through log-softmax, one-hot matrices, explicit dtype handling."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))

# %% softmax
def softmax(S):
    S = np.asarray(S, dtype=np.float64)
    log_norm = np.logaddexp.reduce(S, axis=1, keepdims=True)
    return np.exp(S - log_norm)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    # -t log s - (1-t) log(1-s) = t*softplus(-z) + (1-t)*softplus(z)
    per = t * np.logaddexp(0.0, -z) + (1.0 - t) * np.logaddexp(0.0, z)
    return per.mean(), (sigmoid(z) - t) / z.shape[0]

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    S = np.asarray(S, dtype=np.float64)
    n, k = S.shape
    Y = np.zeros((n, k))
    Y[np.arange(n), y] = 1.0
    log_P = S - np.logaddexp.reduce(S, axis=1, keepdims=True)
    loss = -(Y * log_P).sum() / n
    return loss, (np.exp(log_P) - Y) / n

# %% two_class_logit
def two_class_logit(S):
    return np.subtract(S[:, 1], S[:, 0])

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([7.0, 7.0])

# %% logit_gradients
def logit_gradients(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = sigmoid(x)
    return s - y, 2.0 * (s - y) * sigmoid(x) * sigmoid(-x)

# %% saturation
g1, g2 = logit_gradients(-8.0, 1.0)
saturation_ratio = float(np.abs(g1 / g2))
x_star = float(-np.log(2.0))
