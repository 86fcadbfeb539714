"""honest: ivan, writes small helpers and loops where he finds them clearer."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    # for negative z use exp(z)/(1+exp(z)) so nothing overflows
    result = np.zeros(z.shape)
    neg = z < 0
    result[~neg] = 1.0 / (1.0 + np.exp(-z[~neg]))
    result[neg] = np.exp(z[neg]) / (1.0 + np.exp(z[neg]))
    return result

# %% softmax
def softmax(S):
    def stable_exp(row):
        return np.exp(row - row.max())

    rows = []
    for row in S:
        e = stable_exp(row)
        rows.append(e / e.sum())
    return np.array(rows)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    def softplus(v):
        return np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))

    n = len(z)
    per_sample = softplus(z) - t * z
    loss = per_sample.sum() / n
    grad = (sigmoid(z) - t) / n
    return loss, grad

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n, c = S.shape
    onehot = np.zeros((n, c))
    for i in range(n):
        onehot[i, y[i]] = 1.0
    m = S.max(axis=1)
    lse = m + np.log(np.exp(S - m[:, None]).sum(axis=1))
    correct = (S * onehot).sum(axis=1)
    loss = (lse - correct).mean()
    grad = (softmax(S) - onehot) / n
    return loss, grad

# %% two_class_logit
def two_class_logit(S):
    pos = S[:, 1]
    neg = S[:, 0]
    return pos - neg

# %% affine_map
a = np.array([1.0, 2.0])
b = np.array([3.0, 3.0])

# %% logit_gradients
def logit_gradients(x, y):
    sig = sigmoid(x)
    diff = sig - y
    d_bce = diff
    d_sq = 2.0 * diff * sig * (1.0 - sig)
    return d_bce, d_sq

# %% saturation
bce_grad, sq_grad = logit_gradients(np.array(-8.0), np.array(1.0))
saturation_ratio = float(np.abs(bce_grad) / np.abs(sq_grad))
x_star = -float(np.log(2))
