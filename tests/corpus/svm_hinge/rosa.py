"""copy of kofi: short names instead of long ones, comments removed, independent lines reordered."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros_like(W)
    loss = 0.0
    C = W.shape[1]
    N = X.shape[0]
    for n in range(N):
        yc = y[n]
        sc = X[n] @ W
        for c in range(C):
            if c == yc:
                continue
            mg = sc[c] - sc[yc] + 1.0
            if mg > 0:
                loss += mg
                dW[:, yc] -= X[n]
                dW[:, c] += X[n]
    dW = dW / N + 2.0 * reg * W
    loss = loss / N + reg * np.sum(W ** 2)
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    sc = X @ W
    ix = np.arange(N)
    cs = sc[ix, y].reshape(-1, 1)
    mg = np.maximum(0.0, sc - cs + 1.0)
    mg[ix, y] = 0.0
    vc = (mg > 0).astype(np.float64)
    vc[ix, y] = -vc.sum(axis=1)
    dW = X.T @ vc / N + 2.0 * reg * W
    loss = mg.sum() / N + reg * np.sum(W ** 2)
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    sc = X @ W
    ix = np.arange(N)
    sc = sc - sc.max(axis=1).reshape(-1, 1)
    ex = np.exp(sc)
    pr = ex / ex.sum(axis=1).reshape(-1, 1)
    loss = -np.mean(np.log(pr[ix, y])) + reg * np.sum(W ** 2)
    pr[ix, y] -= 1.0
    dW = X.T @ pr / N + 2.0 * reg * W
    return loss, dW

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    hist = []
    w = np.zeros((X.shape[1], num_classes))
    for s in range(num_steps):
        cur, g = loss_fn(w, X, y, reg)
        hist.append(cur)
        w = w - learning_rate * g
    return w, hist
