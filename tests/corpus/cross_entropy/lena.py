"""honest: lena, loops first (she finds them clearer), math module for scalars."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    import math
    arr = np.asarray(z, dtype=np.float64)
    flat = arr.ravel()
    out = np.array([1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
                    for v in flat])
    return out.reshape(arr.shape)

# %% softmax
def softmax(S):
    out = np.zeros_like(S, dtype=np.float64)
    for i in range(S.shape[0]):
        top = np.max(S[i, :])
        total = 0.0
        for j in range(S.shape[1]):
            out[i, j] = np.exp(S[i, j] - top)
            total += out[i, j]
        out[i, :] /= total
    return out

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    import math
    N = len(z)
    loss = 0.0
    for zi, ti in zip(z, t):
        if zi > 0:
            loss += zi + math.log1p(math.exp(-zi)) - ti * zi
        else:
            loss += math.log1p(math.exp(zi)) - ti * zi
    return loss / N, (sigmoid(z) - t) / N

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    N, C = S.shape
    P = softmax(S)
    loss = 0.0
    for i in range(N):
        shifted = S[i] - S[i].max()
        loss += np.log(np.exp(shifted).sum()) - shifted[y[i]]
    dS = P
    for i in range(N):
        dS[i, y[i]] -= 1.0
    return loss / N, dS / N

# %% two_class_logit
def two_class_logit(S):
    return np.array([s1 - s0 for s0, s1 in S])

# %% affine_map
a = np.array([2.0, 3.0])
b = np.array([1.0, 1.0])

# %% logit_gradients
def logit_gradients(x, y):
    s = sigmoid(x)
    return s - y, 2 * s * (1 - s) * (s - y)

# %% saturation
import math
sig = 1 / (1 + math.exp(8))
saturation_ratio = (1 - sig) / (2 * (1 - sig) * sig * (1 - sig))
x_star = math.log(1 / 2)
