"""honest: kofi, verbose names and comments."""

import numpy as np

# %% svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    number_of_samples = X.shape[0]
    number_of_classes = W.shape[1]
    total_loss = 0.0
    weight_gradient = np.zeros_like(W)
    for sample in range(number_of_samples):
        class_scores = X[sample] @ W
        correct_class = y[sample]
        for other_class in range(number_of_classes):
            if other_class == correct_class:
                continue
            # hinge with margin 1
            margin = class_scores[other_class] - class_scores[correct_class] + 1.0
            if margin > 0:
                total_loss += margin
                weight_gradient[:, other_class] += X[sample]
                weight_gradient[:, correct_class] -= X[sample]
    mean_loss = total_loss / number_of_samples + reg * np.sum(W ** 2)
    weight_gradient = weight_gradient / number_of_samples + 2.0 * reg * W
    return mean_loss, weight_gradient

# %% svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    number_of_samples = X.shape[0]
    sample_index = np.arange(number_of_samples)
    class_scores = X @ W
    correct_scores = class_scores[sample_index, y].reshape(-1, 1)
    # margins of every wrong class; the correct class gets no margin
    margins = np.maximum(0.0, class_scores - correct_scores + 1.0)
    margins[sample_index, y] = 0.0
    mean_loss = margins.sum() / number_of_samples + reg * np.sum(W ** 2)
    # each violated margin pushes its class up and the correct class down
    violation_counts = (margins > 0).astype(np.float64)
    violation_counts[sample_index, y] = -violation_counts.sum(axis=1)
    weight_gradient = X.T @ violation_counts / number_of_samples + 2.0 * reg * W
    return mean_loss, weight_gradient

# %% softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    number_of_samples = X.shape[0]
    sample_index = np.arange(number_of_samples)
    class_scores = X @ W
    # shift so the largest score of each row is 0
    class_scores = class_scores - class_scores.max(axis=1).reshape(-1, 1)
    unnormalised = np.exp(class_scores)
    probabilities = unnormalised / unnormalised.sum(axis=1).reshape(-1, 1)
    mean_loss = -np.mean(np.log(probabilities[sample_index, y])) + reg * np.sum(W ** 2)
    probabilities[sample_index, y] -= 1.0
    weight_gradient = X.T @ probabilities / number_of_samples + 2.0 * reg * W
    return mean_loss, weight_gradient

# %% training
def train_linear_classifier(loss_fn, X, y, num_classes, reg=1e-3, learning_rate=1.0, num_steps=300):
    # start from zero weights, as asked
    weights = np.zeros((X.shape[1], num_classes))
    loss_history = []
    for step_number in range(num_steps):
        current_loss, weight_gradient = loss_fn(weights, X, y, reg)
        loss_history.append(current_loss)
        weights = weights - learning_rate * weight_gradient
    return weights, loss_history
