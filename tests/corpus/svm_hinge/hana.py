"""honest: hana, compact NumPy, boolean masks."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N = X.shape[0]
    C = W.shape[1]
    dW = np.zeros(W.shape)
    loss = 0.0
    for i in range(N):
        s = X[i].dot(W)
        for j in range(C):
            if j == y[i]:
                continue
            m = s[j] - s[y[i]] + 1
            if m > 0:
                loss += m
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW / N + 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X.dot(W)
    correct = S[np.arange(N), y][:, None]
    M = np.maximum(0, S - correct + 1)
    M[np.arange(N), y] = 0
    loss = M.sum() / N + reg * np.sum(W * W)
    mask = (M > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    dW = X.T.dot(mask) / N + 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X.dot(W)
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(N), y]).mean() + reg * np.sum(W * W)
    P[np.arange(N), y] -= 1
    dW = X.T.dot(P) / N + 2 * reg * W
    return loss, dW

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    history = []
    for step in range(num_steps):
        loss, grad = loss_fn(W, X, y, reg)
        history.append(loss)
        W -= learning_rate * grad
    return W, history
