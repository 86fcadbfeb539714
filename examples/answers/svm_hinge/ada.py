"""ada: everything right, written differently from the reference solution.

Expected: every autograded item at full marks; the derivation awaits manual grading.
Styles on purpose: zip/enumerate loops in the naive version, a one-hot mask and einsum in the
vectorised ones, a 0-d array loss, a Fortran-ordered gradient, a print statement.
"""

import numpy as np

LOSES: set[str] = set()  # the items it loses (for the example class's test)

# %% derivation_hinge
# Let $m_{ij} = \mathbf{w}_j^T\mathbf{x}_i - \mathbf{w}_{y_i}^T\mathbf{x}_i + 1$, so
# $L_i = \sum_{j \ne y_i} \max(0, m_{ij})$ and $\frac{d}{dm}\max(0, m) = \mathbb{1}(m > 0)$.
#
# Only the term $j$ of the sum contains $\mathbf{w}_j$, and
# $\nabla_{\mathbf{w}_j} m_{ij} = \mathbf{x}_i$;
# the chain rule gives (3): $\nabla_{\mathbf{w}_j} L_i = \mathbb{1}(m_{ij} > 0)\,\mathbf{x}_i$.
#
# Every term contains $-\mathbf{w}_{y_i}^T\mathbf{x}_i$, with gradient $-\mathbf{x}_i$, so
# summing gives (4):
# $\nabla_{\mathbf{w}_{y_i}} L_i = -\sum_{j \ne y_i} \mathbb{1}(m_{ij} > 0)\,\mathbf{x}_i$.
#
# For the full loss, average over $i$ and add $2\lambda W$.

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    n = len(X)
    loss = 0.0
    dW = np.zeros_like(W)
    for x_i, y_i in zip(X, y):
        s = x_i @ W
        for j, s_j in enumerate(s):
            margin = s_j - s[y_i] + 1
            if j != y_i and margin > 0:
                loss += margin
                dW[:, j] += x_i
                dW[:, y_i] -= x_i
    print(f"svm_loss_naive: N = {n}")
    return loss / n + reg * np.sum(W ** 2), dW / n + 2 * reg * W

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    n, c = X.shape[0], W.shape[1]
    S = X @ W
    Y = np.eye(c, dtype=bool)[y]
    correct = np.einsum("nc,nc->n", S, Y)
    margins = np.where(Y, 0.0, np.maximum(0.0, S - correct[:, None] + 1.0))
    loss = np.asarray(margins.sum() / n + reg * np.einsum("dc,dc->", W, W))  # 0-d array
    M = (margins > 0).astype(float)
    M -= Y * M.sum(axis=1, keepdims=True)
    dW = np.asfortranarray(np.einsum("nd,nc->dc", X, M) / n + 2 * reg * W)
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    n, c = X.shape[0], W.shape[1]
    S = X.dot(W)
    Y = np.eye(c)[y]
    m = S.max(axis=1, keepdims=True)
    log_P = S - m - np.log(np.exp(S - m).sum(axis=1, keepdims=True))
    loss = -np.einsum("nc,nc->", Y, log_P) / n + reg * float(np.sum(W * W))
    dW = X.T.dot(np.exp(log_P) - Y) / n + 2 * reg * W
    return float(loss), dW

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    step = 0
    while step < num_steps:
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(float(loss))
        W -= learning_rate * dW
        step += 1
    return W, losses
