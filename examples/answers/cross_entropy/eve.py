"""eve: half done. Parts 1 and 2.2 are written; the rest still raises NotImplementedError.

Expected: full marks on the sigmoid, softmax and binary cross-entropy items (17 points);
0 on every other item (softmax_cross_entropy, two_class_logit and the reduction, the affine
map, logit_gradients, saturation_ratio, concave_threshold). No derivation.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_affine_map", "test_concave_threshold", "test_logit_gradients", "test_reduction",
         "test_saturation_ratio", "test_sce_gradient", "test_sce_loss", "test_sce_shapes",
         "test_sce_stable", "test_sce_untouched", "test_two_class_logit"}

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out

# %% softmax
def softmax(S):
    E = np.exp(S - S.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    loss = np.mean(np.logaddexp(0.0, z) - t * z)
    return float(loss), (sigmoid(z) - t) / len(z)
