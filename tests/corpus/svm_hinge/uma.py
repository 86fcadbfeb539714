"""copy of noor: names changed, comments added, two independent lines swapped."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    # gradient accumulator
    grad = np.zeros(W.shape)
    n_train = X.shape[0]
    n_cls = W.shape[1]
    total = 0.0
    for k in range(n_train):
        sc = X[k].dot(W)
        true_score = sc[y[k]]
        for c in range(n_cls):
            if c == y[k]:
                continue
            mg = sc[c] - true_score + 1
            if mg > 0:
                total += mg
                grad[:, c] += X[k]
                grad[:, y[k]] -= X[k]
    total /= n_train
    grad /= n_train
    total += reg * np.sum(W * W)
    grad += 2 * reg * W
    return total, grad

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    n_train = X.shape[0]
    sc = X.dot(W)
    true_scores = sc[np.arange(n_train), y].reshape(-1, 1)
    mg = np.maximum(0, sc - true_scores + 1)
    mg[np.arange(n_train), y] = 0
    total = np.sum(mg) / n_train
    total += reg * np.sum(W * W)
    # turn margins into 0/1 indicators
    ind = mg
    ind[mg > 0] = 1
    ind[np.arange(n_train), y] = -np.sum(ind, axis=1)
    grad = X.T.dot(ind) / n_train
    grad += 2 * reg * W
    return total, grad

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    n_train = X.shape[0]
    sc = X.dot(W)
    sc -= np.max(sc, axis=1, keepdims=True)
    pr = np.exp(sc) / np.sum(np.exp(sc), axis=1, keepdims=True)
    total = -np.sum(np.log(pr[np.arange(n_train), y])) / n_train
    total += reg * np.sum(W * W)
    ds = pr
    ds[np.arange(n_train), y] -= 1
    grad = X.T.dot(ds) / n_train
    grad += 2 * reg * W
    return total, grad

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    hist = []
    for step in range(num_steps):
        val, g = loss_fn(W, X, y, reg)
        hist.append(val)
        W -= learning_rate * g
    return W, hist
