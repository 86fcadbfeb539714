"""gus: a complete, correct svm_hinge notebook (his cross_entropy upload is damaged).

Expected: every autograded item at full marks; the derivation awaits manual grading.
"""

import numpy as np

LOSES: set[str] = set()  # the items it loses (for the example class's test)

# %% derivation_hinge
# Each violated margin $m_{ij} > 0$ contributes $+\mathbf{x}_i$ to $\nabla_{\mathbf{w}_j} L_i$
# (3) and
# $-\mathbf{x}_i$ to $\nabla_{\mathbf{w}_{y_i}} L_i$ (4); the mean and $2\lambda W$ follow for $L$.

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(N):
        s = X[i] @ W
        for j in range(C):
            margin = s[j] - s[y[i]] + 1.0
            if j != y[i] and margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return float(loss / N + reg * np.sum(W * W)), dW / N + 2.0 * reg * W

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = np.maximum(0.0, S - S[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    M = (margins > 0).astype(np.float64)
    M[rows, y] = -M.sum(axis=1)
    return float(margins.sum() / N + reg * np.sum(W * W)), X.T @ M / N + 2.0 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    S = S - S.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(S).sum(axis=1))
    P = np.exp(S - log_norm[:, None])
    P[rows, y] -= 1.0
    loss = float(np.mean(log_norm - S[rows, y]) + reg * np.sum(W * W))
    return loss, X.T @ P / N + 2.0 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(float(loss))
        W = W - learning_rate * dW
    return W, losses
