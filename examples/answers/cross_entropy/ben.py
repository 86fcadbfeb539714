"""ben: everything right, with Python loops over samples and entries.

Expected: every autograded item at full marks (this assignment does not grade
vectorisation); the derivation awaits manual grading.
"""

import numpy as np

LOSES: set[str] = set()  # the items it loses (for the example class's test)

# %% sigmoid
def sigmoid(z):
    import math

    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    for k in np.ndindex(z.shape):
        v = float(z[k])
        if v >= 0:
            out[k] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            out[k] = e / (1.0 + e)
    return out

# %% softmax
def softmax(S):
    P = np.empty(S.shape)
    for i in range(S.shape[0]):
        e = np.exp(S[i] - np.max(S[i]))
        P[i] = e / np.sum(e)
    return P

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    import math

    n = len(z)
    total = 0.0
    dz = np.zeros(n)
    for i in range(n):
        zi, ti = float(z[i]), float(t[i])
        softplus = max(zi, 0.0) + math.log1p(math.exp(-abs(zi)))
        total += softplus - ti * zi
        dz[i] = (sigmoid(np.array(zi)) - ti) / n
    return total / n, dz

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n = S.shape[0]
    total = 0.0
    dS = np.zeros(S.shape)
    for i in range(n):
        row = S[i] - np.max(S[i])
        log_sum = np.log(np.sum(np.exp(row)))
        total += log_sum - row[y[i]]
        dS[i] = np.exp(row - log_sum)
        dS[i, y[i]] -= 1.0
    return total / n, dS / n

# %% two_class_logit
def two_class_logit(S):
    return np.array([row[1] - row[0] for row in S])

# %% derivation_reduction
# For $C = 2$ the softmax probability of class 1 is
# $\frac{e^{s_1}}{e^{s_0} + e^{s_1}} = \frac{1}{1 + e^{-(s_1 - s_0)}}$, the sigmoid of
# $z = s_1 - s_0$. With $t_1 = 1$ for a positive sample and $0$ otherwise, $-\log p_y$ is
# $-\log\sigma(z)$ or $-\log(1 - \sigma(z))$, i.e. (2). The gradients are
# $\sigma(z) - t_1$ for $s_1$ and $t_1 - \sigma(z)$ for $s_0$.

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    x_arr = np.asarray(x, dtype=np.float64)
    y_arr = np.asarray(y, dtype=np.float64)
    g_bce = np.empty(x_arr.shape)
    g_mse = np.empty(x_arr.shape)
    for k in np.ndindex(x_arr.shape):
        p = float(sigmoid(x_arr[k]))
        g_bce[k] = p - y_arr[k]
        g_mse[k] = 2.0 * (p - y_arr[k]) * p * (1.0 - p)
    return g_bce, g_mse

# %% saturation
s = 1.0 / (1.0 + np.exp(8.0))
saturation_ratio = float(1.0 / (2.0 * s * (1.0 - s)))
x_star = float(-np.log(2.0))
