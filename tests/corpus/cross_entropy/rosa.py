"""copy of kofi: short names instead of long ones, comments removed, independent lines reordered."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    v = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(v))
    neg = e / (1.0 + e)
    pos = 1.0 / (1.0 + e)
    return np.where(v >= 0, pos, neg)

# %% softmax
def softmax(S):
    x = np.asarray(S, dtype=np.float64)
    mx = x.max(axis=1).reshape(-1, 1)
    ex = np.exp(x - mx)
    tot = ex.sum(axis=1).reshape(-1, 1)
    return ex / tot

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    tg = np.asarray(t, dtype=np.float64)
    lg = np.asarray(z, dtype=np.float64)
    sp = np.log1p(np.exp(-np.abs(lg))) + np.maximum(lg, 0.0)
    n = lg.shape[0]
    g = (sigmoid(lg) - tg) / n
    loss = np.mean(sp - tg * lg)
    return float(loss), g

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    lab = np.asarray(y)
    sc = np.asarray(S, dtype=np.float64)
    n = sc.shape[0]
    mx = sc.max(axis=1)
    idx = np.arange(n)
    corr = sc[idx, lab]
    lognorm = mx + np.log(np.exp(sc - mx[:, np.newaxis]).sum(axis=1))
    g = softmax(sc)
    loss = np.mean(lognorm - corr)
    g[idx, lab] = g[idx, lab] - 1.0
    g = g / n
    return float(loss), g

# %% two_class_logit
def two_class_logit(S):
    sc = np.asarray(S, dtype=np.float64)
    return sc[:, 1] - sc[:, 0]

# %% affine_map
a = np.array([0.25, 1.25])
b = np.array([-1.0, -1.0])

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    r = p - np.asarray(y, dtype=np.float64)
    g_se = 2.0 * r * p * (1.0 - p)
    g_ce = r
    return g_ce, g_se

# %% saturation
ce8, se8 = logit_gradients(-8.0, 1.0)
x_star = float(np.log(1.0 / 2.0))
saturation_ratio = float(abs(ce8) / abs(se8))
