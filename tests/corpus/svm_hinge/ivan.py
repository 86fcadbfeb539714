"""honest: ivan, helpers for scores and margins, loops over classes in the naive version only."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    def score(x):
        return x @ W

    num_train = len(y)
    total = 0.0
    grad = np.zeros_like(W)
    for x, label in zip(X, y):
        scores = score(x)
        for cls in range(W.shape[1]):
            if cls != label:
                margin = scores[cls] - scores[label] + 1.0
                if margin > 0:
                    total += margin
                    grad[:, cls] += x
                    grad[:, label] -= x
    total = total / num_train + reg * (W ** 2).sum()
    grad = grad / num_train + 2.0 * reg * W
    return total, grad

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    def margins_of(scores, labels):
        true = np.take_along_axis(scores, labels[:, None], axis=1)
        out = np.clip(scores - true + 1.0, 0, None)
        np.put_along_axis(out, labels[:, None], 0.0, axis=1)
        return out

    num_train = len(y)
    margins = margins_of(X @ W, y)
    total = margins.sum() / num_train + reg * (W ** 2).sum()
    coeff = (margins > 0) * 1.0
    np.put_along_axis(coeff, y[:, None], -coeff.sum(axis=1, keepdims=True), axis=1)
    grad = X.T @ coeff / num_train + 2.0 * reg * W
    return total, grad

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    def log_softmax(scores):
        top = scores.max(axis=1, keepdims=True)
        return scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))

    num_train = len(y)
    logp = log_softmax(X @ W)
    total = -np.take_along_axis(logp, y[:, None], axis=1).mean() + reg * (W ** 2).sum()
    probs = np.exp(logp)
    np.put_along_axis(probs, y[:, None], np.take_along_axis(probs, y[:, None], axis=1) - 1, axis=1)
    grad = X.T @ probs / num_train + 2.0 * reg * W
    return total, grad

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    weights = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        value, gradient = loss_fn(weights, X, y, reg)
        losses.append(float(value))
        weights = weights - learning_rate * gradient
    return weights, losses
