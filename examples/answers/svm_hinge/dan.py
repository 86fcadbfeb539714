"""dan: two gradient mistakes, each confined to its own item.

* svm_loss_naive forgets to divide the data part of dW by N -> loses svm_naive_gradient (2).
* svm_loss_vectorized puts +(number of violations) instead of - into the correct-class column
  of M -> loses svm_vec_gradient (2).

The losses themselves are right, and so is the softmax classifier. The derivation awaits manual
grading.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_svm_naive_gradient", "test_svm_vec_gradient"}

# %% derivation_hinge
# With $m_{ij} = \mathbf{w}_j^T\mathbf{x}_i - \mathbf{w}_{y_i}^T\mathbf{x}_i + 1$, the chain rule
# gives
# $\nabla_{\mathbf{w}_j} \max(0, m_{ij}) = \mathbb{1}(m_{ij} > 0)\,\mathbf{x}_i$, which is (3),
# and summing the
# $-\mathbf{x}_i$ of every violated margin gives (4).

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(N):
        s = X[i] @ W
        for j in range(C):
            if j == y[i]:
                continue
            margin = s[j] - s[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW + 2 * reg * W          # the 1/N is missing here
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    margins = np.maximum(0, S - S[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    M = (margins > 0).astype(float)
    M[rows, y] = M.sum(axis=1)     # sign error: formula (4) has a minus
    return loss, X.T @ M / N + 2 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W
    S = S - S.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(S).sum(axis=1))
    P = np.exp(S - log_norm[:, None])
    P[rows, y] -= 1
    loss = np.mean(log_norm - S[rows, y]) + reg * np.sum(W * W)
    return loss, X.T @ P / N + 2 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(float(loss))
        W = W - learning_rate * dW
    return W, losses
