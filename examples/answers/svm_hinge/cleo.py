"""cleo: right hinge losses; a softmax loss that does not shift the scores.

She also takes the hinge indicator as margin >= 0 instead of > 0; no test puts a margin exactly
at 0 (some are 1e-10 away), so that choice costs nothing.

Expected: loses softmax_stable (1) only. The derivation awaits manual grading.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_softmax_stable"}

# %% derivation_hinge
# $L_i = \sum_{j \ne y_i} \max(0, s_j - s_{y_i} + 1)$ with $s_j = \mathbf{w}_j^T \mathbf{x}_i$.
# The term for $j$ depends on $\mathbf{w}_j$ through $s_j$
# ($\partial s_j / \partial \mathbf{w}_j = \mathbf{x}_i$)
# and every term depends on $\mathbf{w}_{y_i}$ through $-s_{y_i}$. The hinge has slope 1 where the
# margin is positive and 0 elsewhere, which gives (3) and (4).

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        s = X[i] @ W
        for j in range(C):
            if j != y[i]:
                margin = s[j] - s[y[i]] + 1
                if margin >= 0:
                    loss += margin
                    dW[:, j] += X[i]
                    dW[:, y[i]] -= X[i]
    return loss / N + reg * (W ** 2).sum(), dW / N + 2 * reg * W

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X @ W
    idx = np.arange(N)
    margins = S - S[idx, y].reshape(-1, 1) + 1
    margins[idx, y] = 0
    active = margins >= 0
    active[idx, y] = False
    loss = (margins * active).sum() / N + reg * (W ** 2).sum()
    M = active.astype(float)
    M[idx, y] = -active.sum(axis=1)
    return loss, X.T @ M / N + 2 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    E = np.exp(X @ W)
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(N), y]).mean() + reg * (W ** 2).sum()
    P[np.arange(N), y] -= 1
    return loss, X.T @ P / N + 2 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(loss)
        W = W - learning_rate * dW
    return W, losses
