"""honest: lena, loops first, then a half-vectorized version, while loops."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    N = X.shape[0]
    D, C = W.shape
    loss = 0.0
    dW = np.zeros((D, C))
    i = 0
    while i < N:
        scores = np.zeros(C)
        for c in range(C):
            for d in range(D):
                scores[c] += X[i, d] * W[d, c]
        for c in range(C):
            if c != y[i]:
                margin = scores[c] - scores[y[i]] + 1
                if margin > 0:
                    loss = loss + margin
                    dW[:, c] = dW[:, c] + X[i]
                    dW[:, y[i]] = dW[:, y[i]] - X[i]
        i += 1
    loss = loss / N
    dW = dW / N
    loss += reg * np.sum(W ** 2)
    dW += 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = np.dot(X, W)
    correct = np.choose(y, scores.T)
    margins = scores - correct[:, np.newaxis] + 1
    margins[margins < 0] = 0
    margins[range(N), y] = 0
    loss = np.sum(margins) / N
    loss += reg * np.sum(W ** 2)
    positive = np.where(margins > 0, 1.0, 0.0)
    positive[range(N), y] = -np.sum(positive, axis=1)
    dW = np.dot(X.T, positive) / N
    dW += 2 * reg * W
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = np.dot(X, W)
    scores = scores - np.amax(scores, axis=1)[:, np.newaxis]
    exp_scores = np.exp(scores)
    sums = np.sum(exp_scores, axis=1)
    loss = np.sum(np.log(sums) - np.choose(y, scores.T)) / N
    loss += reg * np.sum(W ** 2)
    probs = exp_scores / sums[:, np.newaxis]
    probs[range(N), y] = probs[range(N), y] - 1
    dW = np.dot(X.T, probs) / N
    dW += 2 * reg * W
    return loss, dW

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    k = 0
    while k < num_steps:
        loss, dW = loss_fn(W, X, y, reg)
        losses = losses + [loss]
        W = W - learning_rate * dW
        k += 1
    return W, losses
