"""honest: omar, also CS231n-style, with his own names and order."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(num_train):
        scores = X[i] @ W
        for j in range(num_classes):
            margin = scores[j] - scores[y[i]] + 1.0
            if j != y[i] and margin > 0:
                loss += margin
                dW[:, y[i]] -= X[i]
                dW[:, j] += X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2.0 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, np.newaxis] + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / num_train + reg * np.sum(W * W)
    counts = (margins > 0).astype(float)
    counts[rows, y] -= counts.sum(axis=1)
    dW = X.T @ counts / num_train + 2.0 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    loss = -np.log(probs[rows, y]).mean() + reg * np.sum(W * W)
    probs[rows, y] -= 1.0
    dW = X.T @ probs / num_train + 2.0 * reg * W
    return loss, dW

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(loss)
        W = W - learning_rate * dW
    return W, losses
