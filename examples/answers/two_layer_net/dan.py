"""dan: forgets the 2 of the penalty's gradient (d/dW of reg * sum(W**2) written as reg * W).

Expected: loses test_net_gradient_output (2) and test_net_gradient_hidden (2): both weight
gradients are off by reg * W wherever reg > 0; the loss and everything else keep their points.
The derivation awaits manual grading.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_net_gradient_hidden", "test_net_gradient_output"}

# %% relu
def relu(x):
    return x * (x > 0)

# %% two_layer_forward
def two_layer_forward(X, W1, b1, W2, b2):
    return relu(X @ W1 + b1) @ W2 + b2

# %% two_layer_loss
def two_layer_loss(X, y, W1, b1, W2, b2, reg):
    N = X.shape[0]
    A = X @ W1 + b1
    hidden = relu(A)
    S = hidden @ W2 + b2
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    loss = -np.mean(S[np.arange(N), y] - np.log(np.exp(S).sum(axis=1)))
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dS = P.copy()
    dS[np.arange(N), y] -= 1
    dS /= N
    dA = (dS @ W2.T) * (A > 0)
    return loss, {"W1": X.T @ dA + reg * W1, "b1": dA.sum(axis=0),
                  "W2": hidden.T @ dS + reg * W2, "b2": dS.sum(axis=0)}

# %% derivation_relu
# $dA = (dS\,W_2^T)\odot \mathbf{1}(A>0)$, $dW_1 = X^T dA + \lambda W_1$.

# %% dead_units
def dead_units(X, W1, b1):
    return np.all(X @ W1 + b1 <= 0, axis=0)
