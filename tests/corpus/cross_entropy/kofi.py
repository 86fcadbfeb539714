"""honest: kofi, verbose names, comments everywhere, scipy-free logsumexp helper."""

import numpy as np

# %% sigmoid
def sigmoid(z):
    values = np.asarray(z, dtype=np.float64)
    # exp of a non-positive number never overflows
    exp_neg_abs = np.exp(-np.abs(values))
    positive_branch = 1.0 / (1.0 + exp_neg_abs)
    negative_branch = exp_neg_abs / (1.0 + exp_neg_abs)
    return np.where(values >= 0, positive_branch, negative_branch)

# %% softmax
def softmax(S):
    scores = np.asarray(S, dtype=np.float64)
    row_max = scores.max(axis=1).reshape(-1, 1)
    exponentials = np.exp(scores - row_max)
    normaliser = exponentials.sum(axis=1).reshape(-1, 1)
    return exponentials / normaliser

# %% binary_cross_entropy
def binary_cross_entropy(z, t):
    logits = np.asarray(z, dtype=np.float64)
    targets = np.asarray(t, dtype=np.float64)
    number_of_samples = logits.shape[0]
    # log(1 + e^z) written so that it never overflows
    log_one_plus_exp = np.log1p(np.exp(-np.abs(logits))) + np.maximum(logits, 0.0)
    mean_loss = np.mean(log_one_plus_exp - targets * logits)
    gradient = (sigmoid(logits) - targets) / number_of_samples
    return float(mean_loss), gradient

# %% softmax_cross_entropy
def softmax_cross_entropy(S, y):
    scores = np.asarray(S, dtype=np.float64)
    labels = np.asarray(y)
    number_of_samples = scores.shape[0]
    sample_index = np.arange(number_of_samples)
    row_max = scores.max(axis=1)
    log_normaliser = row_max + np.log(np.exp(scores - row_max[:, np.newaxis]).sum(axis=1))
    correct_scores = scores[sample_index, labels]
    mean_loss = np.mean(log_normaliser - correct_scores)
    gradient = softmax(scores)
    gradient[sample_index, labels] = gradient[sample_index, labels] - 1.0
    gradient = gradient / number_of_samples
    return float(mean_loss), gradient

# %% two_class_logit
def two_class_logit(S):
    scores = np.asarray(S, dtype=np.float64)
    # sigma(s1 - s0) = e^s1 / (e^s0 + e^s1)
    return scores[:, 1] - scores[:, 0]

# %% affine_map
a = np.array([0.25, 1.25])
b = np.array([-1.0, -1.0])

# %% logit_gradients
def logit_gradients(x, y):
    probability = sigmoid(x)
    residual = probability - np.asarray(y, dtype=np.float64)
    gradient_cross_entropy = residual
    gradient_squared_error = 2.0 * residual * probability * (1.0 - probability)
    return gradient_cross_entropy, gradient_squared_error

# %% saturation
gradient_ce_at_minus_8, gradient_se_at_minus_8 = logit_gradients(-8.0, 1.0)
saturation_ratio = float(abs(gradient_ce_at_minus_8) / abs(gradient_se_at_minus_8))
x_star = float(np.log(1.0 / 2.0))
