"""ada: everything right, written differently from the reference solution.

Expected: every autograded item at full marks; the derivation awaits manual grading.
Styles on purpose: a sigmoid that evaluates both branches (NumPy warns about overflow, the
result is still exact), softmax through log-sum-exp, einsum, Python-float and 0-d array
losses, a Fortran-ordered gradient, print statements, another valid affine map.
"""

import numpy as np

LOSES: set[str] = set()  # the items it loses (for the example class's test)

# %% sigmoid
def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    # np.where evaluates both branches, so exp overflows (with a warning) in the branch that is
    # not selected; the selected one is always finite.
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))

# %% softmax
def softmax(S):
    m = np.max(S, axis=-1, keepdims=True)
    log_z = m + np.log(np.sum(np.exp(S - m), axis=-1, keepdims=True))
    return np.exp(S - log_z)

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    loss = (softplus - t * z).mean().item()  # a Python float
    print(f"BCE of {len(z)} samples: {loss:.4f}")
    return loss, (sigmoid(z) - t) / len(z)

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    n, c = S.shape
    Y = np.eye(c)[y]
    m = S.max(axis=1, keepdims=True)
    log_P = S - m - np.log(np.exp(S - m).sum(axis=1, keepdims=True))
    loss = -np.einsum("nc,nc->", Y, log_P) / n  # a 0-d array
    dS = np.asfortranarray((np.exp(log_P) - Y) / n)
    return np.asarray(loss), dS

# %% two_class_logit
def two_class_logit(S):
    return np.diff(S, axis=1)[:, 0]

# %% derivation_reduction
# With two classes write $z = s_1 - s_0$. Dividing by $e^{s_1}$,
# $p_1 = \frac{e^{s_1}}{e^{s_0} + e^{s_1}} = \frac{1}{1 + e^{-z}} = \sigma(z)$ and
# $p_0 = 1 - \sigma(z)$,
# so the single score of (2) is the difference $z$.
#
# Let $t_1 = 1$ if the true class is 1 and $t_1 = 0$ otherwise. Formula (1) is $-\log p_y$:
# for $t_1 = 1$ it is $-\log \sigma(z)$, for $t_1 = 0$ it is $-\log(1 - \sigma(z))$. Both cases
# together give $CE = -t_1 \log \sigma(z) - (1 - t_1) \log(1 - \sigma(z))$, which is (2).
#
# Gradients: $\partial CE/\partial z = \sigma(z) - t_1$, hence
# $\partial CE/\partial s_1 = \sigma(z) - t_1$ and $\partial CE/\partial s_0 = -(\sigma(z) - t_1)$.

# %% affine_map
a = np.array([-0.5, 0.5])   # a1 - a0 = 1
b = np.array([2.0, 2.0])    # b1 - b0 = 0

# %% logit_gradients
def logit_gradients(x, y):
    p = sigmoid(x)
    g_bce = p - y
    return g_bce, 2.0 * g_bce * p * sigmoid(-np.asarray(x, dtype=np.float64))

# %% saturation
g_ce, g_se = logit_gradients(-8.0, 1.0)
saturation_ratio = abs(g_ce / g_se)   # a NumPy float64
x_star = np.log(0.5)
print(saturation_ratio, x_star)
