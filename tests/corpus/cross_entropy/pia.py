"""copy of hana: variables renamed, comments added, blank lines changed."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    v = np.asarray(z, dtype=float)

    # split into positive and negative part to stay stable
    mask = v >= 0
    res = np.empty_like(v)
    res[mask] = 1 / (1 + np.exp(-v[mask]))

    e = np.exp(v[~mask])
    res[~mask] = e / (1 + e)
    return res

# %% softmax
def softmax(S):
    # subtract the max of each row first
    centered = S - np.max(S, axis=1, keepdims=True)
    top = np.exp(centered)

    return top / np.sum(top, axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    m = z.shape[0]
    value = np.logaddexp(0, z).mean() - (t * z).mean()   # softplus minus t*z
    g = (sigmoid(z) - t) / m
    return float(value), g

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    m = S.shape[0]
    p = softmax(S)

    c = S - np.max(S, axis=1, keepdims=True)
    lp = c - np.log(np.sum(np.exp(c), axis=1, keepdims=True))
    value = -np.mean(lp[np.arange(m), y])

    # gradient is softmax minus one-hot, divided by m
    g = p.copy()
    g[np.arange(m), y] -= 1
    g /= m
    return float(value), g

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    sg = sigmoid(np.asarray(x, dtype=float))
    d1 = sg - y
    d2 = 2 * (sg - y) * sg * (1 - sg)
    return d1, d2

# %% saturation
first, second = logit_gradients(-8.0, 1.0)
saturation_ratio = float(abs(first) / abs(second))
x_star = float(np.log(0.5))
