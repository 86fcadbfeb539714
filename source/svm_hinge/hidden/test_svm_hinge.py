"""Every item of ``svm_hinge`` passes the reference and other correct answers, and fails
wrong ones; its problems are what they claim to be (margins off the kink, or next to it on
purpose; fixed and read-only).

The "student" functions below are written the way students write them: correct ones in other
styles (einsum, loops, prints) and wrong ones with one characteristic mistake each.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from grader.author.attacks import FD_STEPS, memoised, numerical, tolerance_used
from grader.hidden import beside

HIDDEN = beside(__file__)
ref = HIDDEN.module("reference")
P = HIDDEN.module("problems")
grade = HIDDEN.grade


# ---- students' implementations --------------------------------------------------


def svm_naive(W, X, y, reg):
    """The textbook loop (seed formulas 3 and 4)."""
    dW = np.zeros(W.shape)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = X[i].dot(W)
        for j in range(W.shape[1]):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= X.shape[0]
    dW /= X.shape[0]
    return loss + reg * np.sum(W * W), dW + 2 * reg * W


def svm_einsum(W, X, y, reg):
    """`>=` indicator, one-hot einsum, 0-d loss, Fortran-ordered dW, prints."""
    print("shapes", W.shape, X.shape)
    Y = np.eye(W.shape[1])[y]
    S = np.einsum("nd,dc->nc", X, W)
    M = (S - np.einsum("nc,nc->n", S, Y)[:, None] + 1) * (1 - Y)
    A = (M >= 0) * (1 - Y)
    A = A - Y * A.sum(axis=1, keepdims=True)
    loss = np.array(np.sum(np.maximum(M, 0)) / X.shape[0] + reg * np.einsum("dc,dc->", W, W))
    return loss, np.asfortranarray(np.einsum("nd,nc->dc", X, A) / X.shape[0] + 2 * reg * W)


def svm_loop_samples(W, X, y, reg):
    """Called vectorized, but loops over the samples."""
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(X.shape[0]):
        s = X[i] @ W
        m = s - s[y[i]] + 1
        m[y[i]] = 0
        active = m > 0
        loss += m[active].sum()
        dW[:, active] += X[i][:, None]
        dW[:, y[i]] -= active.sum() * X[i]
    return loss / X.shape[0] + reg * np.sum(W**2), dW / X.shape[0] + 2 * reg * W


def svm_loop_classes(W, X, y, reg):
    n = X.shape[0]
    S = X @ W
    correct = S[np.arange(n), y]
    coef = np.zeros_like(S)
    for j in range(W.shape[1]):
        coef[:, j] = (S[:, j] - correct + 1 > 0) & (y != j)
    coef[np.arange(n), y] = -coef.sum(axis=1)
    loss = np.sum(np.maximum(0, S - correct[:, None] + 1) * (coef > 0))
    return loss / n + reg * np.sum(W * W), X.T @ coef / n + 2 * reg * W


def svm_calls_naive(W, X, y, reg):
    return svm_naive(W, X, y, reg)


def svm_half_reg(W, X, y, reg):
    loss, dW = ref.svm_loss(W, X, y, reg)
    return loss - 0.5 * reg * np.sum(W * W), dW - reg * W


def svm_wrong_sign(W, X, y, reg):
    loss, dW = ref.svm_loss(W, X, y, reg)
    return loss, 4 * reg * W - dW


def svm_centres_X(W, X, y, reg):
    X -= 1.0
    return ref.svm_loss(W, X + 1.0, y, reg)


def svm_transposed(W, X, y, reg):
    loss, dW = ref.svm_loss(W, X, y, reg)
    return loss, dW.T


def svm_per_sample(W, X, y, reg):
    n = X.shape[0]
    S = X @ W
    M = np.maximum(0, S - S[np.arange(n), y][:, None] + 1)
    M[np.arange(n), y] = 0
    return M.sum(axis=1) / n + reg * np.sum(W * W), ref.svm_loss(W, X, y, reg)[1]


def svm_no_indicator(W, X, y, reg):
    """Counts every margin, active or not."""
    n = X.shape[0]
    S = X @ W
    M = S - S[np.arange(n), y][:, None] + 1
    M[np.arange(n), y] = 0
    coef = np.ones_like(M)
    coef[np.arange(n), y] = -(W.shape[1] - 1)
    return ref.svm_loss(W, X, y, reg)[0], X.T @ coef / n + 2 * reg * W


def softmax_stable_einsum(W, X, y, reg):
    S = np.einsum("nd,dc->nc", X, W)
    log_p = S - scipy.special.logsumexp(S, axis=1, keepdims=True)
    n = X.shape[0]
    P = np.exp(log_p)
    P[np.arange(n), y] -= 1
    np.sqrt(-1.0)  # a harmless RuntimeWarning
    loss = -log_p[np.arange(n), y].mean() + reg * np.sum(W * W)
    return float(loss), np.asfortranarray(X.T @ P / n + 2 * reg * W)


def softmax_unshifted(W, X, y, reg):
    S = X @ W
    E = np.exp(S)
    P = E / E.sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.log(P[np.arange(n), y]).mean() + reg * np.sum(W * W)
    P[np.arange(n), y] -= 1
    return loss, X.T @ P / n + 2 * reg * W


def softmax_log_of_p(W, X, y, reg):
    # Shifted, yet log(p) of a true class far below the max is log(0).
    P = ref.softmax(X @ W)
    loss = -np.mean(np.log(P[np.arange(len(y)), y]))
    P[np.arange(len(y)), y] -= 1
    dS = P / len(y)
    return loss + reg * np.sum(W * W), X.T @ dS + 2 * reg * W


def softmax_loop(W, X, y, reg):
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(X.shape[0]):
        s = X[i] @ W
        log_p = s - s.max() - np.log(np.sum(np.exp(s - s.max())))
        loss -= log_p[y[i]]
        p = np.exp(log_p)
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    return loss / X.shape[0] + reg * np.sum(W * W), dW / X.shape[0] + 2 * reg * W


def softmax_double_loss(W, X, y, reg):
    loss, dW = ref.softmax_loss(W, X, y, reg)
    return 2 * loss, dW


def softmax_wrong_sign(W, X, y, reg):
    loss, dW = ref.softmax_loss(W, X, y, reg)
    return loss, -dW


def softmax_transposed(W, X, y, reg):
    loss, dW = ref.softmax_loss(W, X, y, reg)
    return loss, dW.T


def softmax_inplace_W(W, X, y, reg):
    out = ref.softmax_loss(W, X, y, reg)
    W *= 0.5
    return out


SVM_OK = [ref.svm_loss, svm_naive, svm_einsum]
def svm_printing(W, X, y, reg):
    """Correct and vectorized, but prints whole arrays: NumPy's printing runs Python code."""
    loss, dW = ref.svm_loss(W, X, y, reg)
    print("scores", X @ W, "gradient", dW)
    return loss, dW


def softmax_printing(W, X, y, reg):
    loss, dW = ref.softmax_loss(W, X, y, reg)
    print(dW)
    return loss, dW


def constant_loss(W, X, y, reg):
    """Loop-free and fast, and computes nothing: earns no vectorisation points."""
    return 0.0, np.zeros_like(W)


SVM_VEC_OK = [ref.svm_loss, svm_einsum, svm_printing]
SOFTMAX_OK_W = [ref.softmax_loss, softmax_stable_einsum, softmax_printing]
SVM_VALUE_ITEMS = [f"{function}.{item}" for function in ("svm_loss_naive", "svm_loss_vectorized")
                   for item in ("loss", "gradient", "shapes", "untouched")]
SOFTMAX_VALUE_ITEMS = [f"softmax_loss_vectorized.{item}"
                       for item in ("loss", "gradient", "stable", "shapes", "untouched")]

SVM_PASS = {item: SVM_OK + [svm_loop_samples, svm_loop_classes] for item in SVM_VALUE_ITEMS}
SVM_PASS.update({item: SOFTMAX_OK_W + [softmax_loop] for item in SOFTMAX_VALUE_ITEMS})
SVM_PASS.update({
    # one wrong part still counts as vectorized work: that mistake costs its own item only
    "svm_loss_vectorized.loop_free": SVM_VEC_OK + [svm_wrong_sign],
    "svm_loss_vectorized.speed": SVM_VEC_OK + [svm_loop_classes, svm_wrong_sign],
    "softmax_loss_vectorized.loop_free": SOFTMAX_OK_W,
    "softmax_loss_vectorized.speed": SOFTMAX_OK_W,
    "softmax_loss_vectorized.loss": SOFTMAX_OK_W + [
        softmax_loop, softmax_wrong_sign, softmax_log_of_p],
    "softmax_loss_vectorized.gradient": SOFTMAX_OK_W + [
        softmax_loop, softmax_double_loss, softmax_log_of_p],
})
SVM_FAIL = {
    "svm_loss_naive.loss": [svm_half_reg, svm_per_sample],
    "svm_loss_naive.shapes": [svm_transposed],
    "svm_loss_naive.gradient": [svm_wrong_sign, svm_no_indicator, svm_half_reg],
    "svm_loss_naive.untouched": [svm_centres_X],
    "svm_loss_vectorized.loss": [svm_half_reg, svm_per_sample],
    "svm_loss_vectorized.shapes": [svm_transposed],
    "svm_loss_vectorized.gradient": [svm_wrong_sign, svm_no_indicator],
    "svm_loss_vectorized.untouched": [svm_centres_X],
    "svm_loss_vectorized.loop_free": [
        svm_loop_samples, svm_loop_classes, svm_calls_naive, constant_loss],
    "svm_loss_vectorized.speed": [svm_loop_samples, svm_naive, constant_loss],
    "softmax_loss_vectorized.loss": [softmax_double_loss],
    "softmax_loss_vectorized.gradient": [softmax_wrong_sign],
    "softmax_loss_vectorized.stable": [softmax_unshifted, softmax_log_of_p],
    "softmax_loss_vectorized.shapes": [softmax_transposed],
    "softmax_loss_vectorized.untouched": [softmax_inplace_W],
    "softmax_loss_vectorized.loop_free": [softmax_loop, constant_loss],
    "softmax_loss_vectorized.speed": [softmax_loop, constant_loss],
}


def _cases(table):
    return [pytest.param(item, f, id=f"{item}-{f.__name__}")
            for item, funcs in table.items() for f in funcs]


@pytest.mark.parametrize(("item", "func"), _cases(SVM_PASS))
def test_svm_hinge_item_passes(item, func, capfd):
    grade(item, func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(("item", "func"), _cases(SVM_FAIL))
def test_svm_hinge_item_fails(item, func, capfd):
    with pytest.raises(AssertionError):
        grade(item, func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("case", P.CASES + P.SHAPE_CASES + [P.SMALL, P.LARGE, P.SPEED])
def test_svm_problems_stay_off_the_kink(case):
    W, X, y, _ = P.problem(*case)
    m = P._margins(W, X, y)
    assert np.all(np.abs(m) >= P.MIN_MARGIN)
    # A central difference moves one score by h * |x| (h = 1e-5): it never reaches a kink.
    assert np.abs(m).min() > 1e-5 * np.abs(X).max()
    assert X.dtype == W.dtype == np.float64


def test_svm_problems_mix_active_and_inactive_margins():
    W, X, y, _ = P.problem(*P.CASES[4])
    m = P._margins(W, X, y)
    finite = m[np.isfinite(m)]
    assert (finite > 0).any() and (finite < 0).any()


def test_every_item_of_the_spec_is_tested():
    assert set(HIDDEN.spec.ids()) == set(SVM_PASS) == set(SVM_FAIL)
    for item, funcs in SVM_PASS.items():
        assert len(funcs) >= 2 and SVM_FAIL[item], item


# ---- gradients that come from the derivation, and the sizes students meet -----------------


def svm_ge_mask(W, X, y, reg):
    """`>=` with a boolean mask, margins left unclipped (the style of cleo's answer)."""
    n = X.shape[0]
    S = X @ W
    idx = np.arange(n)
    margins = S - S[idx, y].reshape(-1, 1) + 1
    margins[idx, y] = 0
    active = margins >= 0
    active[idx, y] = False
    M = active.astype(float)
    M[idx, y] = -active.sum(axis=1)
    return (margins * active).sum() / n + reg * (W ** 2).sum(), X.T @ M / n + 2 * reg * W


def svm_add_at(W, X, y, reg):
    """Accumulates x_i into the columns of dW one sample at a time, in another order."""
    n, c = X.shape[0], W.shape[1]
    S = X.dot(W)
    margins = S - S[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = -1.0
    active = margins > 0
    dW = np.zeros((c, W.shape[0]))
    rows, cols = np.nonzero(active)
    np.add.at(dW, cols, X[rows])
    np.add.at(dW, y[rows], -X[rows])
    loss = float(np.sum(margins[active])) / n + reg * float(np.sum(W * W))
    return loss, dW.T / n + reg * 2.0 * W


def softmax_ratio(W, X, y, reg):
    """P = E / E.sum() and P - Y through a one-hot matrix, subtracted after the product."""
    n = X.shape[0]
    S = X @ W
    E = np.exp(S - S.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    Y = np.eye(W.shape[1])[y]
    loss = np.mean(np.log(E.sum(axis=1)) - (S - S.max(axis=1, keepdims=True))[np.arange(n), y])
    return loss + reg * np.sum(W * W), (X.T @ P - X.T @ Y) / n + 2 * reg * W


HONEST_GRADIENTS = {
    "svm_loss_naive.gradient": SVM_OK + [svm_loop_samples, svm_ge_mask, svm_add_at],
    "svm_loss_vectorized.gradient": SVM_OK + [svm_ge_mask, svm_add_at],
    "softmax_loss_vectorized.gradient": SOFTMAX_OK_W + [softmax_loop, softmax_ratio],
}


@pytest.mark.parametrize(("item", "func"), [
    pytest.param(item, f, id=f"{item}-{f.__name__}")
    for item, funcs in HONEST_GRADIENTS.items() for f in funcs])
def test_every_honest_gradient_keeps_full_credit_with_room_to_spare(item, func):
    """Honest formulas pass the exact comparisons at a hundredth of their tolerance or less."""
    used = tolerance_used(lambda: grade(item, func))
    assert used is not None and used < 1e-2, used


FD_GRADIENT_ITEMS = [
    ("svm_loss_naive.gradient", ref.svm_loss),
    ("svm_loss_vectorized.gradient", ref.svm_loss),
    ("softmax_loss_vectorized.gradient", ref.softmax_loss),
]


@pytest.mark.parametrize(("item", "answer"), [
    pytest.param(item, numerical(loss_fn, h, st), id=f"{item}-{st}-{h:g}")
    for item, loss_fn in FD_GRADIENT_ITEMS for h, st in FD_STEPS])
def test_a_finite_difference_gradient_loses_the_gradient_item(item, answer):
    with pytest.raises(AssertionError):
        grade(item, answer)
    grade(item.replace("gradient", "loss"), answer)  # its loss is right: that item keeps its points


def test_a_numerical_gradient_is_told_to_use_the_derivation():
    with pytest.raises(AssertionError, match="derived formula"):
        grade("svm_loss_naive.gradient", numerical(ref.svm_loss, 1e-6))


# Answers right only at small sizes: a loop bound or slice that assumes a size typical of a
# well-known data set or a training habit, or a margin counted only above a tolerance.


def svm_ten_classes(W, X, y, reg):
    """Loops over at most 10 classes (CIFAR-10, digits)."""
    n, c = X.shape[0], min(W.shape[1], 10)
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(n):
        s = X[i] @ W
        for j in range(c):
            m = s[j] - s[y[i]] + 1
            if j != y[i] and m > 0:
                loss += m
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W


def svm_digits_features(W, X, y, reg):
    """Uses at most 64 features (the digits data)."""
    d = min(X.shape[1], 64)
    loss, dW = ref.svm_loss(W[:d], X[:, :d], y, 0.0)
    full = np.zeros_like(W)
    full[:d] = dW
    return loss + reg * np.sum(W * W), full + 2 * reg * W


def svm_batch(W, X, y, reg):
    """Averages over at most 2048 samples (a batch-size habit)."""
    n = min(X.shape[0], 2048)
    loss, dW = ref.svm_loss(W, X[:n], y[:n], reg)
    return loss, dW


def svm_tolerance(W, X, y, reg):
    """Counts a margin only above a small tolerance."""
    n = X.shape[0]
    S = X @ W
    M = S - S[np.arange(n), y][:, None] + 1
    M[np.arange(n), y] = 0
    active = M > 1e-6
    coef = active.astype(float)
    coef[np.arange(n), y] = -active.sum(axis=1)
    return np.sum(M * active) / n + reg * np.sum(W * W), X.T @ coef / n + 2 * reg * W


def softmax_thousand_classes(W, X, y, reg):
    """Softmax over at most 1000 classes (ImageNet)."""
    c = min(W.shape[1], 1000)
    S = X @ W[:, :c]
    loss, dS = ref.softmax_cross_entropy(S, y)
    dW = np.zeros_like(W)
    dW[:, :c] = X.T @ dS
    return loss + reg * np.sum(W * W), dW + 2 * reg * W


def softmax_cifar_features(W, X, y, reg):
    """Uses at most 3073 features (CIFAR-10 with the bias)."""
    d = min(X.shape[1], 3073)
    loss, dS = ref.softmax_cross_entropy(X[:, :d] @ W[:d], y)
    dW = np.zeros_like(W)
    dW[:d] = X[:, :d].T @ dS
    return loss + reg * np.sum(W * W), dW + 2 * reg * W


SIZE_BOUND = [
    (["svm_loss_naive.loss", "svm_loss_naive.gradient", "svm_loss_vectorized.loss",
      "svm_loss_vectorized.gradient"], [svm_ten_classes, svm_digits_features, svm_batch]),
    (["svm_loss_naive.gradient", "svm_loss_vectorized.gradient"], [svm_tolerance]),
    (["softmax_loss_vectorized.loss", "softmax_loss_vectorized.gradient"],
     [softmax_thousand_classes, softmax_cifar_features]),
]


@pytest.mark.parametrize(("item", "func"), [
    pytest.param(item, f, id=f"{item}-{f.__name__}")
    for items, funcs in SIZE_BOUND for item in items for f in funcs])
def test_an_answer_right_only_at_small_sizes_loses_its_items(item, func):
    with pytest.raises(AssertionError):
        grade(item, func)


@pytest.mark.parametrize("case", P.KINK_CASES)
def test_near_kink_margins_are_tiny_but_not_zero_and_the_rest_stay_away(case):
    W, X, y, _ = P.kink_problem(*case)
    m = np.abs(P._margins(W, X, y))
    m = np.sort(m, axis=1)[:, :-1]  # the y_i column is inf
    assert m.min() >= 0.5e-10 and (m[:, 0] < 2e-10).sum() >= len(y) // 5
    assert np.all(m[:, 1:] >= P.MIN_MARGIN)
    # every honest way of computing the scores agrees on the sign of every margin
    S_loop = np.array([[sum(X[i, d] * W[d, j] for d in range(X.shape[1]))
                        for j in range(W.shape[1])] for i in range(len(y))])
    M_loop = S_loop - S_loop[np.arange(len(y)), y][:, None] + 1
    M_ref = P._margins(W, X, y)
    finite = np.isfinite(M_ref)
    assert np.array_equal(M_loop[finite] > 0, M_ref[finite] > 0)


def test_problems_are_the_same_every_time_and_read_only():
    a, b = P.kink_problem(*P.KINK_CASES[0]), P.kink_problem(*P.KINK_CASES[0])
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3]))
    with pytest.raises(ValueError):
        a[1][0, 0] = 1.0


# ---- counted and timed calls see new inputs ------------------------------------------------


@pytest.mark.parametrize("item", ["svm_loss_vectorized.loop_free",
                                  "svm_loss_vectorized.speed"])
def test_a_cache_of_answers_loses_what_the_same_loop_loses(item):
    for func in (svm_loop_samples, memoised(svm_loop_samples)):
        with pytest.raises(AssertionError):
            grade(item, func)
    grade(item, memoised(ref.svm_loss))  # a cache in a vectorized answer costs nothing
