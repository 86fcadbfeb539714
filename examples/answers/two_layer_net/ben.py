"""ben: right values everywhere, but the loss and its gradients loop over the samples.

Expected: loses test_net_loop_free (2) and test_net_speed (1); every item about values keeps
its points. The derivation is not written (0 points once graded).
"""

import numpy as np

LOSES = {"test_net_loop_free", "test_net_speed"}  # the items it loses (for the example class)

# %% relu
def relu(x):
    return np.maximum(x, 0.0)

# %% two_layer_forward
def two_layer_forward(X, W1, b1, W2, b2):
    return relu(X @ W1 + b1) @ W2 + b2

# %% two_layer_loss
def two_layer_loss(X, y, W1, b1, W2, b2, reg):
    N = X.shape[0]
    grads = {"W1": np.zeros_like(W1), "b1": np.zeros_like(b1),
             "W2": np.zeros_like(W2), "b2": np.zeros_like(b2)}
    loss = 0.0
    for i in range(N):
        a = X[i] @ W1 + b1
        h = relu(a)
        s = h @ W2 + b2
        s = s - s.max()
        log_p = s - np.log(np.sum(np.exp(s)))
        loss -= log_p[y[i]]
        ds = np.exp(log_p)
        ds[y[i]] -= 1.0
        grads["W2"] += np.outer(h, ds)
        grads["b2"] += ds
        da = (W2 @ ds) * (a > 0)
        grads["W1"] += np.outer(X[i], da)
        grads["b1"] += da
    for name in grads:
        grads[name] /= N
    grads["W1"] += 2 * reg * W1
    grads["W2"] += 2 * reg * W2
    return loss / N + reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2)), grads

# %% dead_units
def dead_units(X, W1, b1):
    return np.all(X @ W1 + b1 <= 0, axis=0)
