"""honest: jules, terse, one-hot matrices and einsum."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N, C = len(X), W.shape[1]
    L, G = 0.0, np.zeros_like(W)
    for n in range(N):
        sc = W.T @ X[n]
        for c in range(C):
            d = sc[c] - sc[y[n]] + 1
            if c != y[n] and d > 0:
                L += d
                G[:, c] += X[n]
                G[:, y[n]] -= X[n]
    return L / N + reg * np.vdot(W, W), G / N + 2 * reg * W

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N, C = len(X), W.shape[1]
    Y = np.eye(C)[y]
    S = X @ W
    D = np.maximum(S - (S * Y).sum(1, keepdims=True) + 1, 0) * (1 - Y)
    A = (D > 0) - Y * (D > 0).sum(1, keepdims=True)
    return D.sum() / N + reg * np.vdot(W, W), np.einsum('nd,nc->dc', X, A) / N + 2 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N, C = len(X), W.shape[1]
    Y = np.eye(C)[y]
    S = X @ W
    S = S - S.max(1, keepdims=True)
    lse = np.log(np.exp(S).sum(1, keepdims=True))
    L = np.einsum('nc,nc->', Y, lse - S) / N
    G = np.einsum('nd,nc->dc', X, np.exp(S - lse) - Y) / N
    return L + reg * np.vdot(W, W), G + 2 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W, L = np.zeros((X.shape[1], num_classes)), []
    for _ in range(num_steps):
        l, g = loss_fn(W, X, y, reg)
        L.append(l)
        W = W - learning_rate * g
    return W, L
