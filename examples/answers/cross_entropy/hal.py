"""hal: right at the sizes of the public tests, wrong past a batch of 2048 samples.

binary_cross_entropy averages over at most 2048 samples, a habit from training in batches:
every small test passes, real data does not.

Expected: loses bce_loss (2) and bce_gradient (2), and the reduction test (2), which compares
binary_cross_entropy with softmax_cross_entropy on 2100 samples. Everything else is right.
The derivation is not written (0 points once graded).
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_bce_gradient", "test_bce_loss", "test_reduction"}

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

# %% softmax
def softmax(S):
    E = np.exp(S - S.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    batch = min(z.shape[0], 2048)
    loss = np.sum(np.logaddexp(0.0, z[:batch]) - t[:batch] * z[:batch]) / batch
    dz = np.zeros_like(z)
    dz[:batch] = (sigmoid(z[:batch]) - t[:batch]) / batch
    return float(loss), dz

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dS = np.exp(log_p)
    dS[np.arange(n), y] -= 1
    return float(-log_p[np.arange(n), y].mean()), dS / n

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    return p - y, 2 * (p - y) * p * (1 - p)

# %% saturation
s = sigmoid(-8.0)
saturation_ratio = float(1 / (2 * s * (1 - s)))
x_star = float(-np.log(2))
