"""copy of ivan: helper functions inlined, a loop made a comprehension, names changed."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    m = len(y)
    L = 0.0
    G = np.zeros_like(W)
    for xv, lab in zip(X, y):
        s = xv @ W
        for c in range(W.shape[1]):
            if c != lab:
                marg = s[c] - s[lab] + 1.0
                if marg > 0:
                    L += marg
                    G[:, c] += xv
                    G[:, lab] -= xv
    L = L / m + reg * (W ** 2).sum()
    G = G / m + 2.0 * reg * W
    return L, G

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    m = len(y)
    S = X @ W
    tr = np.take_along_axis(S, y[:, None], axis=1)
    mg = np.clip(S - tr + 1.0, 0, None)
    np.put_along_axis(mg, y[:, None], 0.0, axis=1)
    L = mg.sum() / m + reg * (W ** 2).sum()
    k = (mg > 0) * 1.0
    np.put_along_axis(k, y[:, None], -k.sum(axis=1, keepdims=True), axis=1)
    G = X.T @ k / m + 2.0 * reg * W
    return L, G

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    m = len(y)
    S = X @ W
    mx = S.max(axis=1, keepdims=True)
    lp = S - mx - np.log(np.exp(S - mx).sum(axis=1, keepdims=True))
    L = -np.take_along_axis(lp, y[:, None], axis=1).mean() + reg * (W ** 2).sum()
    P = np.exp(lp)
    np.put_along_axis(P, y[:, None], np.take_along_axis(P, y[:, None], axis=1) - 1, axis=1)
    G = X.T @ P / m + 2.0 * reg * W
    return L, G

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    w = np.zeros((X.shape[1], num_classes))
    curve = []
    for _ in range(num_steps):
        val, g = loss_fn(w, X, y, reg)
        curve.append(float(val))
        w = w - learning_rate * g
    return w, curve
