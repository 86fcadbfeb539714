"""copy of lena: loops turned into comprehensions and for loops, names changed, lines reordered."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    D, C = W.shape
    n = X.shape[0]
    grad = np.zeros((D, C))
    total = 0.0
    for s in range(n):
        sc = np.array([sum(X[s, d] * W[d, c] for d in range(D)) for c in range(C)])
        for c in range(C):
            if c != y[s]:
                m = sc[c] - sc[y[s]] + 1
                if m > 0:
                    total = total + m
                    grad[:, c] = grad[:, c] + X[s]
                    grad[:, y[s]] = grad[:, y[s]] - X[s]
    grad = grad / n
    total = total / n
    grad += 2 * reg * W
    total += reg * np.sum(W ** 2)
    return total, grad

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    sc = np.dot(X, W)
    right = np.choose(y, sc.T)
    m = sc - right[:, np.newaxis] + 1
    m[m < 0] = 0
    m[range(n), y] = 0
    total = np.sum(m) / n
    total += reg * np.sum(W ** 2)
    pos = np.where(m > 0, 1.0, 0.0)
    pos[range(n), y] = -np.sum(pos, axis=1)
    grad = np.dot(X.T, pos) / n
    grad += 2 * reg * W
    return total, grad

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    sc = np.dot(X, W)
    sc = sc - np.amax(sc, axis=1)[:, np.newaxis]
    e = np.exp(sc)
    tot = np.sum(e, axis=1)
    pr = e / tot[:, np.newaxis]
    total = np.sum(np.log(tot) - np.choose(y, sc.T)) / n
    total += reg * np.sum(W ** 2)
    pr[range(n), y] = pr[range(n), y] - 1
    grad = np.dot(X.T, pr) / n
    grad += 2 * reg * W
    return total, grad

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    hist = []
    for _ in range(num_steps):
        val, g = loss_fn(W, X, y, reg)
        hist = hist + [val]
        W = W - learning_rate * g
    return W, hist
