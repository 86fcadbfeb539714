"""copy of lena: loops turned into comprehensions, names changed, statements reordered."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    import math
    a = np.asarray(z, dtype=np.float64)
    vals = [1 / (1 + math.exp(-q)) if q >= 0 else math.exp(q) / (1 + math.exp(q))
            for q in a.ravel()]
    return np.array(vals).reshape(a.shape)

# %% softmax
def softmax(S):
    res = np.zeros_like(S, dtype=np.float64)
    for r in range(S.shape[0]):
        big = np.max(S[r, :])
        res[r, :] = [np.exp(S[r, c] - big) for c in range(S.shape[1])]
        res[r, :] /= sum(res[r, :])
    return res

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    import math
    n = len(z)
    terms = [zz + math.log1p(math.exp(-zz)) - tt * zz if zz > 0
             else math.log1p(math.exp(zz)) - tt * zz for zz, tt in zip(z, t)]
    return sum(terms) / n, (sigmoid(z) - t) / n

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n, k = S.shape
    total = sum(np.log(np.exp(S[r] - S[r].max()).sum()) - (S[r] - S[r].max())[y[r]]
                for r in range(n))
    grad = softmax(S)
    for r in range(n):
        grad[r, y[r]] -= 1.0
    return total / n, grad / n

# %% two_class_logit
def two_class_logit(S):
    return np.array([hi - lo for lo, hi in S])

# %% affine_map
a = np.array([2.0, 3.0])
b = np.array([1.0, 1.0])

# %% logit_gradients
def logit_gradients(x, y):
    q = sigmoid(x)
    return q - y, 2 * q * (1 - q) * (q - y)

# %% saturation
import math
q = 1 / (1 + math.exp(8))
x_star = math.log(1 / 2)
saturation_ratio = (1 - q) / (2 * (1 - q) * q * (1 - q))
