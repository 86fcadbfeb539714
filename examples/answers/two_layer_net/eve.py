"""eve: sums the output bias's gradient over the wrong axis (over the classes).

db2 = dS.sum(axis=1) has shape (N,), not (C,): the output layer's gradient item and the shapes
item fail; everything else is right, the hidden layer's gradients included. Not finished: the
dead units are left as the stub.

Expected: loses test_net_gradient_output (2), test_net_shapes (1) and test_dead_units (2).
No derivation.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_dead_units", "test_net_gradient_output", "test_net_shapes"}

# %% relu
def relu(x):
    return np.clip(x, 0, None)

# %% two_layer_forward
def two_layer_forward(X, W1, b1, W2, b2):
    return relu(X @ W1 + b1) @ W2 + b2

# %% two_layer_loss
def two_layer_loss(X, y, W1, b1, W2, b2, reg):
    N = X.shape[0]
    A = X @ W1 + b1
    hidden = relu(A)
    S = hidden @ W2 + b2
    S = S - np.max(S, axis=1, keepdims=True)
    log_p = S - np.log(np.sum(np.exp(S), axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N), y]) + reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dS = np.exp(log_p)
    dS[np.arange(N), y] -= 1
    dS /= N
    dA = dS @ W2.T * (A > 0)
    return loss, {"W1": X.T @ dA + 2 * reg * W1, "b1": np.sum(dA, axis=0),
                  "W2": hidden.T @ dS + 2 * reg * W2, "b2": np.sum(dS, axis=1)}
