"""cleo: the textbook formulas, without the numerical-stability tricks.

Her sigmoid is exp(z) / (1 + exp(z)), her softmax does not shift by the row maximum, and both
losses take the logarithm of probabilities. Everything is right for moderate inputs.

Expected: loses sigmoid_stable, softmax_stable, bce_stable and sce_stable (1 point each), and
nothing else: the other tests use moderate logits, where these formulas are accurate. The
derivation is not written (0 points once graded).
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_bce_stable", "test_sce_stable", "test_sigmoid_stable", "test_softmax_stable"}

# %% sigmoid
def sigmoid(z):
    e = np.exp(z)
    return e / (1.0 + e)

# %% softmax
def softmax(S):
    E = np.exp(S)
    return E / E.sum(axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    p = sigmoid(z)
    loss = np.mean(-t * np.log(p) - (1 - t) * np.log(1 - p))
    return loss, (p - t) / len(z)

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n = S.shape[0]
    P = softmax(S)
    loss = -np.mean(np.log(P[np.arange(n), y]))
    dS = P.copy()
    dS[np.arange(n), y] -= 1
    return loss, dS / n

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% affine_map
a = np.array([0.0, 1.0])
b = np.zeros(2)

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    return p - y, 2 * (p - y) * p * (1 - p)

# %% saturation
p = sigmoid(-8.0)
saturation_ratio = float(1 / (2 * p * (1 - p)))
x_star = -0.6931471805599453
