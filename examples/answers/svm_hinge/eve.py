"""eve: only the naive hinge loss is written; the vectorised functions are still stubs.

Expected: full marks on the four svm_naive_* items (6 points), 0 on every other item. No
derivation.
"""

import numpy as np

# the items it loses (for the example class's test)
LOSES = {"test_softmax_gradient", "test_softmax_loop_free", "test_softmax_loss",
         "test_softmax_shapes", "test_softmax_speed", "test_softmax_stable",
         "test_softmax_untouched", "test_svm_vec_gradient", "test_svm_vec_loop_free",
         "test_svm_vec_loss", "test_svm_vec_shapes", "test_svm_vec_speed",
         "test_svm_vec_untouched"}

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    num_samples, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(num_samples):
        scores = X[i] @ W
        for j in range(num_classes):
            margin = scores[j] - scores[y[i]] + 1
            if j != y[i] and margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return float(loss / num_samples + reg * np.sum(W * W)), dW / num_samples + 2 * reg * W
