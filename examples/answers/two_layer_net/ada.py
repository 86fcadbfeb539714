"""ada: everything right, in her own style.

relu through np.where, the forward pass with einsum, the loss from scipy-free log-sum-exp with a
one-hot matrix, a Fortran-ordered dW1 and the loss as a 0-d array, a print in the training loop.

Expected: every autograded item at full marks; the derivation awaits manual grading.
"""

import numpy as np

LOSES: set[str] = set()  # the items it loses (for the example class's test)

# %% relu
def relu(x):
    return np.where(x > 0, x, 0.0)

# %% two_layer_forward
def two_layer_forward(X, W1, b1, W2, b2):
    hidden = relu(np.einsum("nd,dh->nh", X, W1) + b1)
    return np.einsum("nh,hc->nc", hidden, W2) + b2

# %% two_layer_loss
def two_layer_loss(X, y, W1, b1, W2, b2, reg):
    N, C = X.shape[0], W2.shape[1]
    Y = np.eye(C)[y]
    A = X @ W1 + b1
    H = relu(A)
    S = H @ W2 + b2
    top = S.max(axis=1, keepdims=True)
    log_p = S - top - np.log(np.exp(S - top).sum(axis=1, keepdims=True))
    loss = np.array(-(Y * log_p).sum() / N + reg * (np.vdot(W1, W1) + np.vdot(W2, W2)))
    dS = (np.exp(log_p) - Y) / N
    dA = np.where(A > 0, dS @ W2.T, 0.0)
    return loss, {
        "W2": H.T @ dS + 2 * reg * W2,
        "b2": dS.sum(axis=0),
        "W1": np.asfortranarray(X.T @ dA) + 2 * reg * W1,
        "b1": dA.sum(axis=0),
    }

# %% derivation_relu
# $d\mathrm{Hid} = dS\,W_2^T$; the ReLU passes it only where $A > 0$, so
# $dA = (dS\,W_2^T) \odot \mathbf{1}(A > 0)$ and $dW_1 = X^T dA + 2\lambda W_1$.
# A negative pre-activation is a flat piece of the ReLU: its derivative is 0, and nothing
# flows back through it.

# %% dead_units
def dead_units(X, W1, b1):
    return ~np.any(X @ W1 + b1 > 0, axis=0)

# %% training
def train_two_layer_net(X, y, hidden=64, reg=1e-4, learning_rate=0.5, num_steps=500, seed=0):
    rng = np.random.default_rng(seed)
    num_classes = int(y.max()) + 1
    params = {"W1": 0.1 * rng.standard_normal((X.shape[1], hidden)), "b1": np.full(hidden, 0.01),
              "W2": 0.1 * rng.standard_normal((hidden, num_classes)), "b2": np.zeros(num_classes)}
    losses = []
    for step in range(num_steps):
        loss, grads = two_layer_loss(X, y, reg=reg, **params)
        losses.append(float(loss))
        if step % 100 == 0:
            print("step", step, "loss", float(loss))
        for name in params:
            params[name] = params[name] - learning_rate * grads[name]
    return params, losses
