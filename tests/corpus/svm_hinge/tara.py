"""copy of mei: names, order, comments and blank lines changed; a variable inlined."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    # loop version
    n, d = X.shape
    grad = np.zeros((d, W.shape[1]))
    total = 0.0

    for s in range(n):
        scores = X[s] @ W
        for c in range(W.shape[1]):
            gap = scores[c] - scores[y[s]] + 1.0
            if c == y[s] or gap <= 0:
                continue
            total += gap
            grad[:, c] += X[s]
            grad[:, y[s]] -= X[s]
    grad /= n
    total /= n
    return total + reg * float((W * W).sum()), grad + 2.0 * reg * W

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W
    onehot = y[:, None] == np.arange(W.shape[1])[None, :]
    # zero margin on the true class
    gap = np.where(onehot, 0.0, np.maximum(scores - scores[onehot][:, None] + 1.0, 0.0))
    act = (gap > 0).astype(np.float64)
    total = gap.sum() / n + reg * float((W * W).sum())
    return total, X.T @ (act - onehot * act.sum(axis=1, keepdims=True)) / n + 2.0 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W
    onehot = y[:, None] == np.arange(W.shape[1])[None, :]

    lp = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
    total = -lp[onehot].mean() + reg * float((W * W).sum())
    return total, X.T @ (np.exp(lp) - onehot) / n + 2.0 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes), dtype=np.float64)
    record = [None] * num_steps
    for k in range(num_steps):
        record[k], g = loss_fn(W, X, y, reg)
        W = W - learning_rate * g
    return W, record
