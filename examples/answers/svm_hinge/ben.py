"""ben: right values everywhere, but the "vectorised" functions still loop.

svm_loss_vectorized loops over the samples, and remembers its answer for every input it has
seen (keyed on the bytes of the inputs); softmax_loss_vectorized loops over the classes.

Expected: loses svm_vec_loop_free (2), svm_vec_speed (1) and softmax_loop_free (2), the cache
notwithstanding: every counted or timed call gets an input it has not seen. A loop over
the few classes is still fast, so softmax_speed keeps its point; every item about values keeps
its points. The derivation is not written (0 points once graded).
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_softmax_loop_free", "test_svm_vec_loop_free", "test_svm_vec_speed"}

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    num_samples, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(num_samples):
        scores = X[i].dot(W)
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_samples + reg * np.sum(W * W)
    dW = dW / num_samples + 2 * reg * W
    return loss, dW

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    answers = svm_loss_vectorized.__dict__.setdefault("answers", {})
    key = (W.tobytes(), X.tobytes(), y.tobytes(), W.shape, X.shape, float(reg))
    if key in answers:
        return answers[key]
    num_samples = X.shape[0]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(num_samples):
        scores = X[i] @ W
        margins = np.maximum(0, scores - scores[y[i]] + 1)
        margins[y[i]] = 0
        loss += margins.sum()
        active = (margins > 0).astype(float)
        active[y[i]] = -active.sum()
        dW += np.outer(X[i], active)
    loss = loss / num_samples + reg * np.sum(W * W)
    dW = dW / num_samples + 2 * reg * W
    answers[key] = loss, dW
    return loss, dW

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    num_samples, num_classes = X.shape[0], W.shape[1]
    S = X @ W
    S = S - S.max(axis=1, keepdims=True)
    E = np.exp(S)
    total = E.sum(axis=1)
    loss = np.mean(np.log(total) - S[np.arange(num_samples), y]) + reg * np.sum(W * W)
    dW = np.zeros(W.shape)
    for c in range(num_classes):
        g = E[:, c] / total - (y == c)
        dW[:, c] = X.T @ g / num_samples
    return loss, dW + 2 * reg * W

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    W = np.zeros((X.shape[1], num_classes))
    losses = []
    for _ in range(num_steps):
        loss, dW = loss_fn(W, X, y, reg)
        losses.append(loss)
        W = W - learning_rate * dW
    return W, losses
