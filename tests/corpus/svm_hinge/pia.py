"""copy of hana: variables renamed, comments added, blank lines changed."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    n = X.shape[0]
    k = W.shape[1]

    grad = np.zeros(W.shape)
    total = 0.0
    for a in range(n):
        sc = X[a].dot(W)   # scores of sample a
        for b in range(k):
            if b == y[a]:
                continue
            marg = sc[b] - sc[y[a]] + 1
            if marg > 0:
                total += marg
                grad[:, b] += X[a]
                grad[:, y[a]] -= X[a]

    # average and regularise
    total = total / n + reg * np.sum(W * W)
    grad = grad / n + 2 * reg * W
    return total, grad

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    sc = X.dot(W)
    true_sc = sc[np.arange(n), y][:, None]
    marg = np.maximum(0, sc - true_sc + 1)
    marg[np.arange(n), y] = 0   # no margin for the true class

    total = marg.sum() / n + reg * np.sum(W * W)
    ind = (marg > 0).astype(float)
    ind[np.arange(n), y] = -ind.sum(axis=1)
    grad = X.T.dot(ind) / n + 2 * reg * W
    return total, grad

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    sc = X.dot(W)
    sc -= sc.max(axis=1, keepdims=True)

    pr = np.exp(sc)
    pr /= pr.sum(axis=1, keepdims=True)
    total = -np.log(pr[np.arange(n), y]).mean() + reg * np.sum(W * W)
    pr[np.arange(n), y] -= 1
    grad = X.T.dot(pr) / n + 2 * reg * W
    return total, grad

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    hist = []
    for it in range(num_steps):
        value, g = loss_fn(W, X, y, reg)
        hist.append(value)
        W -= learning_rate * g
    return W, hist
