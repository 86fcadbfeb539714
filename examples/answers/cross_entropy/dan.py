"""dan: three mistakes, each confined to one item.

* softmax shifts the scores in place (``S -= ...``): the values are right, but the caller's
  array changes -> loses softmax_untouched (1).
* logit_gradients has the sign of the squared-error gradient wrong -> loses
  logit_gradients (2).
* the affine map has a1 - a0 = -1, which gives sigma(-x) -> loses affine_map (2).

Everything else is right; the derivation awaits manual grading.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_affine_map", "test_logit_gradients", "test_softmax_untouched"}

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% softmax
def softmax(S):
    S -= S.max(axis=1, keepdims=True)   # changes the caller's S
    E = np.exp(S)
    return E / E.sum(axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    loss = np.mean(np.logaddexp(0, z) - t * z)
    return loss, (sigmoid(z) - t) / z.shape[0]

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    log_P = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_P[np.arange(n), y].mean()
    dS = np.exp(log_P)
    dS[np.arange(n), y] -= 1
    return loss, dS / n

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% derivation_reduction
# $p_1 = e^{s_1}/(e^{s_0} + e^{s_1}) = \sigma(s_1 - s_0)$, so (1) becomes
# $-\log\sigma(z)$ when the true class is 1 and $-\log(1 - \sigma(z))$ when it is 0, with
# $z = s_1 - s_0$; that is (2) with $t_1 \in \{0, 1\}$.

# %% affine_map
a = np.array([1.0, 0.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    return p - y, 2 * (y - p) * p * (1 - p)

# %% saturation
p = 1 / (1 + np.exp(8.0))
saturation_ratio = 1 / (2 * p * (1 - p))
x_star = -np.log(2)
