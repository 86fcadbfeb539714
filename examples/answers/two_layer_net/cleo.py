"""cleo: backpropagates through the ReLU as if it were the identity (no mask).

dA = dS @ W2.T, without the factor 1(A > 0): the hidden layer's gradients are wrong wherever a
unit is off, the output layer's are right.

Expected: loses test_net_gradient_hidden (2) only. The derivation awaits manual grading.
"""

import numpy as np

LOSES = {"test_net_gradient_hidden"}  # the items it loses (for the example class's test)

# %% relu
def relu(x):
    return np.maximum(x, 0.0)

# %% two_layer_forward
def two_layer_forward(X, W1, b1, W2, b2):
    return relu(X @ W1 + b1) @ W2 + b2

# %% two_layer_loss
def two_layer_loss(X, y, W1, b1, W2, b2, reg):
    N = X.shape[0]
    rows = np.arange(N)
    hidden = relu(X @ W1 + b1)
    S = hidden @ W2 + b2
    S = S - S.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(S).sum(axis=1))
    loss = np.mean(log_norm - S[rows, y]) + reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dS = np.exp(S - log_norm[:, None])
    dS[rows, y] -= 1
    dS /= N
    dA = dS @ W2.T
    return loss, {"W1": X.T @ dA + 2 * reg * W1, "b1": dA.sum(axis=0),
                  "W2": hidden.T @ dS + 2 * reg * W2, "b2": dS.sum(axis=0)}

# %% derivation_relu
# By the chain rule $dW_1 = X^T (dS\,W_2^T) + 2\lambda W_1$.

# %% dead_units
def dead_units(X, W1, b1):
    return (X @ W1 + b1).max(axis=0) <= 0
