"""hal: a naive gradient by finite differences, and a vectorised loss that assumes 64 features.

* svm_loss_naive computes the loss with loops, as asked, but dW with the notebook's
  numerical_gradient applied to its own loss instead of formulas (3) and (4): the derivation
  avoided. Its values are close, not exact; near the hinge's kink they are wrong.
* svm_loss_vectorized uses at most 64 features (the digits data of part 5).
* softmax_loss_vectorized is right, written as (X.T P - X.T Y) / N.

Expected: loses svm_naive_gradient (2), svm_vec_loss (2) and svm_vec_gradient (2). Its
loop-free and speed items stay: the function does vectorised work on their problems. The
derivation is not written (0 points once graded).
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_svm_naive_gradient", "test_svm_vec_gradient", "test_svm_vec_loss"}
# what the staff are told (a flag for review)
FLAGGED = ["svm_loss_naive computes a gradient by finite differences"]

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]

    def loss_at(V):
        total = 0.0
        for i in range(N):
            s = X[i] @ V
            for j in range(C):
                margin = s[j] - s[y[i]] + 1
                if j != y[i] and margin > 0:
                    total += margin
        return total / N + reg * np.sum(V * V)

    return loss_at(W), numerical_gradient(loss_at, W)  # noqa: F821 - the notebook defines it

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    D = min(X.shape[1], 64)
    N = X.shape[0]
    rows = np.arange(N)
    S = X[:, :D] @ W[:D]
    margins = np.maximum(0, S - S[rows, y][:, None] + 1)
    margins[rows, y] = 0
    M = (margins > 0).astype(float)
    M[rows, y] = -M.sum(axis=1)
    dW = np.zeros_like(W)
    dW[:D] = X[:, :D].T @ M / N
    return margins.sum() / N + reg * np.sum(W * W), dW + 2 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    S = X @ W
    m = S.max(axis=1, keepdims=True)
    E = np.exp(S - m)
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.eye(C)[y]
    loss = np.mean(np.log(E.sum(axis=1)) + m[:, 0] - S[np.arange(N), y]) + reg * np.sum(W * W)
    return loss, (X.T @ P - X.T @ Y) / N + 2 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(float(loss))
        W = W - learning_rate * dW
    return W, losses
