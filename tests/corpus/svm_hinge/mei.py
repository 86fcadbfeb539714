"""honest: mei, log-softmax via logaddexp, onehot through boolean comparisons."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    n_samples, n_features = X.shape
    n_classes = W.shape[1]
    loss = 0.0
    dW = np.zeros((n_features, n_classes))
    for idx in range(n_samples):
        xi = X[idx]
        yi = y[idx]
        si = xi @ W
        for k in range(n_classes):
            viol = si[k] - si[yi] + 1.0
            if k == yi or viol <= 0:
                continue
            loss += viol
            dW[:, k] += xi
            dW[:, yi] -= xi
    loss /= n_samples
    dW /= n_samples
    return loss + reg * float((W * W).sum()), dW + 2.0 * reg * W

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    n_samples = X.shape[0]
    S = X @ W
    is_true = y[:, None] == np.arange(W.shape[1])[None, :]
    true_score = S[is_true][:, None]
    viol = np.where(is_true, 0.0, np.maximum(S - true_score + 1.0, 0.0))
    loss = viol.sum() / n_samples + reg * float((W * W).sum())
    active = (viol > 0).astype(np.float64)
    coef = active - is_true * active.sum(axis=1, keepdims=True)
    return loss, X.T @ coef / n_samples + 2.0 * reg * W

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    n_samples = X.shape[0]
    S = X @ W
    is_true = y[:, None] == np.arange(W.shape[1])[None, :]
    log_P = S - np.logaddexp.reduce(S, axis=1, keepdims=True)
    loss = -log_P[is_true].mean() + reg * float((W * W).sum())
    coef = np.exp(log_P) - is_true
    return loss, X.T @ coef / n_samples + 2.0 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    n_features = X.shape[1]
    W = np.zeros((n_features, num_classes), dtype=np.float64)
    trace = [None] * num_steps
    for it in range(num_steps):
        trace[it], dW = loss_fn(W, X, y, reg)
        W = W - learning_rate * dW
    return W, trace
