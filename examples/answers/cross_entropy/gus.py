"""gus: a complete answer, but the uploaded file was cut off part-way (invalid JSON).

make_examples.py truncates this notebook on purpose. Expected: recorded as failed with the
reason "not valid JSON", 0 on every item, and the other submissions graded normally.
"""

import numpy as np

LOSES = "everything"  # the items it loses (for the example class's test)

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
    return float(np.mean(np.logaddexp(0.0, z) - t * z)), (sigmoid(z) - t) / len(z)

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    dS = np.exp(shifted - log_norm[:, None])
    dS[np.arange(n), y] -= 1.0
    return float(np.mean(log_norm - shifted[np.arange(n), y])), dS / n

# %% two_class_logit
def two_class_logit(S):
    return S[:, 1] - S[:, 0]

# %% derivation_reduction
# $p_1 = \sigma(s_1 - s_0)$, so $-\log p_y$ is the binary cross-entropy of $z = s_1 - s_0$.

# %% affine_map
a = np.array([0.0, 1.0])
b = np.array([0.0, 0.0])

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    return p - y, 2.0 * (p - y) * p * (1.0 - p)

# %% saturation
s = 1.0 / (1.0 + np.exp(8.0))
saturation_ratio = float(1.0 / (2.0 * s * (1.0 - s)))
x_star = float(-np.log(2.0))
