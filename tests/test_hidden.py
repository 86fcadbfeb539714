"""Every hidden item passes the reference and other correct answers, and fails wrong ones.

The "student" functions below are written the way students write them: correct ones in other
styles (einsum, scipy, Python-float losses, Fortran-ordered gradients, prints, NumPy warnings),
and wrong ones with one characteristic mistake each. A correct answer must also leave nothing
on stderr, which nbgrader would score as a failure.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import scipy.special

from grader import gradcheck
from grader import reference as ref
from grader.hidden import cross_entropy as ce
from grader.hidden import svm_hinge as svm

# ---- cross_entropy: correct answers in other styles ----------------------------------------


def sigmoid_naive(z):
    # Overflows (with a RuntimeWarning) for z < -709, yet the value is still right.
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_tanh(z):
    print("using tanh")
    return 0.5 * (1.0 + np.tanh(np.asarray(z) / 2.0))


def softmax_scipy(S):
    return scipy.special.softmax(S, axis=1)


def softmax_einsum(S):
    E = np.exp(S - np.max(S, axis=1, keepdims=True))
    return E / np.einsum("ij->i", E)[:, None]


def bce_softplus(z, t):
    loss = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    return np.array(loss), np.asfortranarray((scipy.special.expit(z) - t) / len(z))


def bce_where(z, t):
    # log(sigma(z)) = -softplus(-z); writes to stderr, which must not reach the notebook.
    print("debug", file=sys.stderr)
    log_p, log_q = -np.logaddexp(0, -z), -np.logaddexp(0, z)
    loss = float(-np.sum(t * log_p + (1 - t) * log_q) / z.shape[0])
    return [loss, (np.exp(log_p) - t) / z.shape[0]]


def sce_scipy(S, y):
    n = S.shape[0]
    log_p = S - scipy.special.logsumexp(S, axis=1, keepdims=True)
    dS = np.exp(log_p)
    dS[np.arange(n), y] -= 1
    return float(-log_p[np.arange(n), y].mean()), np.asfortranarray(dS / n)


def sce_onehot(S, y):
    Y = np.eye(S.shape[1])[y]
    m = S.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(S - m).sum(axis=1))
    loss = np.mean(lse - np.einsum("ij,ij->i", S, Y))
    np.log(0.0)  # a harmless RuntimeWarning
    return loss, (np.exp(S - lse[:, None]) - Y) / S.shape[0]


def two_class_diff(S):
    return np.diff(S, axis=1)[:, 0]


def logit_gradients_alt(x, y):
    p = scipy.special.expit(x)
    return p - y, 2 * (p - y) * p * (1 - p)


# ---- cross_entropy: wrong answers ----------------------------------------------------------


def sigmoid_typo(z):
    return 1.0 / (1.0 + np.exp(z))


def sigmoid_unstable(z):
    return np.exp(z) / (1.0 + np.exp(z))


def sigmoid_inplace(z):
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    return 1.0 / z


def sigmoid_flat(z):
    return ref.sigmoid(z).ravel()


def softmax_unstable(S):
    E = np.exp(S)
    return E / E.sum(axis=1, keepdims=True)


def softmax_axis0(S):
    E = np.exp(S - S.max())
    return E / E.sum(axis=0, keepdims=True)


def softmax_inplace(S):
    S -= S.max(axis=1, keepdims=True)
    return softmax_einsum(S)


def bce_log_sigmoid(z, t):
    p = ref.sigmoid(z)
    return np.mean(-t * np.log(p) - (1 - t) * np.log(1 - p)), (p - t) / len(z)


def bce_sum(z, t):
    loss, dz = ref.binary_cross_entropy(z, t)
    return loss * len(z), dz


def bce_no_mean_grad(z, t):
    return ref.binary_cross_entropy(z, t)[0], ref.sigmoid(z) - t


def bce_column(z, t):
    loss, dz = ref.binary_cross_entropy(z, t)
    return loss, dz[:, None]


def bce_inplace(z, t):
    loss, dz = ref.binary_cross_entropy(z, t)
    z *= 0
    return loss, dz


def sce_log_softmax(S, y):
    # Shifted, yet log(p) of a true class far below the max is log(0).
    P = ref.softmax(S)
    loss = -np.mean(np.log(P[np.arange(len(y)), y]))
    P[np.arange(len(y)), y] -= 1
    return loss, P / len(y)


def sce_squeezed(S, y):
    loss, dS = ref.softmax_cross_entropy(S, y)
    return loss, dS.squeeze()


def sce_wrong_sign(S, y):
    loss, dS = ref.softmax_cross_entropy(S, y)
    return loss, -dS


def sce_half(S, y):
    loss, dS = ref.softmax_cross_entropy(S, y)
    return loss / 2, dS


def sce_inplace(S, y):
    out = ref.softmax_cross_entropy(S, y)
    S[0, 0] = 0.0
    return out


def two_class_swapped(S):
    return S[:, 0] - S[:, 1]


def logit_gradients_no_two(x, y):
    p = ref.sigmoid(x)
    return p - y, (p - y) * p * (1 - p)


SIGMOID_OK = [ref.sigmoid, sigmoid_naive, sigmoid_tanh, scipy.special.expit]
SOFTMAX_OK = [ref.softmax, softmax_scipy, softmax_einsum]
BCE_OK = [ref.binary_cross_entropy, bce_softplus, bce_where]
SCE_OK = [ref.softmax_cross_entropy, sce_scipy, sce_onehot]

CE_PASS = {
    "sigmoid_values": SIGMOID_OK, "sigmoid_stable": SIGMOID_OK, "sigmoid_shapes": SIGMOID_OK,
    "sigmoid_untouched": SIGMOID_OK,
    "softmax_values": SOFTMAX_OK, "softmax_stable": SOFTMAX_OK, "softmax_shapes": SOFTMAX_OK,
    "softmax_untouched": SOFTMAX_OK + [softmax_unstable],
    "bce_loss": BCE_OK + [bce_log_sigmoid, bce_no_mean_grad],
    "bce_gradient": BCE_OK + [bce_sum], "bce_stable": BCE_OK, "bce_shapes": BCE_OK,
    "bce_untouched": BCE_OK,
    "sce_loss": SCE_OK + [sce_log_softmax, sce_wrong_sign],
    "sce_gradient": SCE_OK + [sce_log_softmax, sce_half], "sce_stable": SCE_OK,
    "sce_shapes": SCE_OK, "sce_untouched": SCE_OK,
    "two_class_logit": [ref.two_class_logit, two_class_diff],
    "logit_gradients": [ref.logit_gradients, logit_gradients_alt],
}
CE_FAIL = {
    "sigmoid_values": [sigmoid_typo],
    "sigmoid_stable": [sigmoid_unstable],
    "sigmoid_shapes": [sigmoid_flat],
    "sigmoid_untouched": [sigmoid_inplace],
    "softmax_values": [softmax_axis0],
    "softmax_stable": [softmax_unstable],
    "softmax_shapes": [softmax_axis0],
    "softmax_untouched": [softmax_inplace],
    "bce_loss": [bce_sum],
    "bce_gradient": [bce_no_mean_grad],
    "bce_stable": [bce_log_sigmoid],
    "bce_shapes": [bce_column],
    "bce_untouched": [bce_inplace],
    "sce_loss": [sce_half],
    "sce_gradient": [sce_wrong_sign],
    "sce_stable": [sce_log_softmax],
    "sce_shapes": [sce_squeezed],
    "sce_untouched": [sce_inplace],
    "two_class_logit": [two_class_swapped],
    "logit_gradients": [logit_gradients_no_two],
}


def _cases(table):
    return [pytest.param(item, f, id=f"{item}-{f.__name__}")
            for item, funcs in table.items() for f in funcs]


@pytest.mark.parametrize(("item", "func"), _cases(CE_PASS))
def test_cross_entropy_item_passes(item, func, capfd):
    getattr(ce, item)(func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(("item", "func"), _cases(CE_FAIL))
def test_cross_entropy_item_fails(item, func, capfd):
    with pytest.raises(AssertionError):
        getattr(ce, item)(func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("funcs", [
    (ref.softmax_cross_entropy, ref.binary_cross_entropy, ref.two_class_logit),
    (sce_scipy, bce_softplus, two_class_diff),
    (sce_onehot, bce_where, ref.two_class_logit),
])
def test_reduction_passes(funcs):
    ce.reduction(*funcs)


@pytest.mark.parametrize("funcs", [
    (sce_half, ref.binary_cross_entropy, ref.two_class_logit),
    (ref.softmax_cross_entropy, ref.binary_cross_entropy, two_class_swapped),
    (ref.softmax_cross_entropy, bce_no_mean_grad, ref.two_class_logit),
])
def test_reduction_fails(funcs):
    with pytest.raises(AssertionError):
        ce.reduction(*funcs)


@pytest.mark.parametrize(("a", "b"), [
    (np.array([0.0, 1.0]), np.array([0.0, 0.0])),
    ([-0.5, 0.5], [3.0, 3.0]),
    (np.array([1.0, 2.0]), np.array([-7.0, -7.0])),
])
def test_affine_map_accepts_every_right_answer(a, b):
    ce.affine_map(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ([0.0, 2.0], [0.0, 0.0]),
    ([0.0, 1.0], [0.0, 1.0]),
    ([1.0, 0.0], [0.0, 0.0]),
    (1.0, 0.0),
])
def test_affine_map_rejects_wrong_answers(a, b):
    with pytest.raises(AssertionError):
        ce.affine_map(a, b)


@pytest.mark.parametrize("value", [1491, 1491.48, np.float64(1490.5), np.array(1491.0)])
def test_saturation_ratio_passes(value):
    ce.saturation_ratio(value)


@pytest.mark.parametrize("value", [1 / 1491, 745.7, 2982.9, None, "1491"])
def test_saturation_ratio_fails(value):
    with pytest.raises(AssertionError):
        ce.saturation_ratio(value)


@pytest.mark.parametrize("value", [-math.log(2), -0.693, np.log(0.5)])
def test_concave_threshold_passes(value):
    ce.concave_threshold(value)


@pytest.mark.parametrize("value", [math.log(2), math.exp(-2), -2.0])
def test_concave_threshold_fails(value):
    with pytest.raises(AssertionError):
        ce.concave_threshold(value)


def test_failure_messages_teach_without_dumping_inputs():
    with pytest.raises(AssertionError) as info:
        ce.sce_gradient(sce_wrong_sign)
    msg = str(info.value)
    assert "dS" in msg and "entry [" in msg and "numeric" in msg
    assert len(msg) < 600
    with pytest.raises(AssertionError, match="in place"):
        ce.softmax_untouched(softmax_inplace)
    with pytest.raises(AssertionError, match="NotImplementedError"):
        ce.sigmoid_values(stub)


def stub(z):
    raise NotImplementedError()


# ---- svm_hinge: students' implementations --------------------------------------------------


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
    loss, dS = sce_log_softmax(X @ W, y)
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
SVM_VALUE_ITEMS = ["svm_naive_loss", "svm_naive_gradient", "svm_naive_shapes",
                   "svm_naive_untouched", "svm_vec_loss", "svm_vec_gradient", "svm_vec_shapes",
                   "svm_vec_untouched"]
SOFTMAX_VALUE_ITEMS = ["softmax_loss", "softmax_gradient", "softmax_stable", "softmax_shapes",
                       "softmax_untouched"]

SVM_PASS = {item: SVM_OK + [svm_loop_samples, svm_loop_classes] for item in SVM_VALUE_ITEMS}
SVM_PASS.update({item: SOFTMAX_OK_W + [softmax_loop] for item in SOFTMAX_VALUE_ITEMS})
SVM_PASS.update({
    # one wrong part still counts as vectorized work: that mistake costs its own item only
    "svm_vec_loop_free": SVM_VEC_OK + [svm_wrong_sign],
    "svm_vec_speed": SVM_VEC_OK + [svm_loop_classes, svm_wrong_sign],
    "softmax_loop_free": SOFTMAX_OK_W, "softmax_speed": SOFTMAX_OK_W,
    "softmax_loss": SOFTMAX_OK_W + [softmax_loop, softmax_wrong_sign, softmax_log_of_p],
    "softmax_gradient": SOFTMAX_OK_W + [softmax_loop, softmax_double_loss, softmax_log_of_p],
})
SVM_FAIL = {
    "svm_naive_loss": [svm_half_reg, svm_per_sample],
    "svm_naive_shapes": [svm_transposed],
    "svm_naive_gradient": [svm_wrong_sign, svm_no_indicator, svm_half_reg],
    "svm_naive_untouched": [svm_centres_X],
    "svm_vec_loss": [svm_half_reg, svm_per_sample],
    "svm_vec_shapes": [svm_transposed],
    "svm_vec_gradient": [svm_wrong_sign, svm_no_indicator],
    "svm_vec_untouched": [svm_centres_X],
    "svm_vec_loop_free": [svm_loop_samples, svm_loop_classes, svm_calls_naive, constant_loss],
    "svm_vec_speed": [svm_loop_samples, svm_naive, constant_loss],
    "softmax_loss": [softmax_double_loss],
    "softmax_gradient": [softmax_wrong_sign],
    "softmax_stable": [softmax_unshifted, softmax_log_of_p],
    "softmax_shapes": [softmax_transposed],
    "softmax_untouched": [softmax_inplace_W],
    "softmax_loop_free": [softmax_loop, constant_loss],
    "softmax_speed": [softmax_loop, constant_loss],
}


@pytest.mark.parametrize(("item", "func"), _cases(SVM_PASS))
def test_svm_hinge_item_passes(item, func, capfd):
    getattr(svm, item)(func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(("item", "func"), _cases(SVM_FAIL))
def test_svm_hinge_item_fails(item, func, capfd):
    with pytest.raises(AssertionError):
        getattr(svm, item)(func)
    assert capfd.readouterr().err == ""


def test_every_item_of_the_contract_is_tested():
    ce_items = set(CE_PASS) | {"reduction", "affine_map", "saturation_ratio", "concave_threshold"}
    public = {n for n in dir(ce) if callable(getattr(ce, n)) and getattr(ce, n).__module__ ==
              ce.__name__ and not n.startswith("_")}
    assert public == ce_items
    svm_public = {n for n in dir(svm) if callable(getattr(svm, n)) and not n.startswith("_")
                  and getattr(svm, n).__module__ == svm.__name__} - {"problem"}
    assert svm_public == set(SVM_PASS)


def test_reference_passes_the_numeric_checks_with_room_to_spare(monkeypatch):
    # A correct answer differs from the reference by rounding only; a wide margin below the
    # tolerance (1e-5) means it passes the same checks whatever its formula.
    errors = []
    original = gradcheck.gradient_check

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        errors.append(result.max_rel_error)
        return result

    monkeypatch.setattr(gradcheck, "gradient_check", spy)
    ce.bce_gradient(ref.binary_cross_entropy)
    ce.sce_gradient(ref.softmax_cross_entropy)
    ce.logit_gradients(ref.logit_gradients)
    svm.svm_vec_gradient(ref.svm_loss)
    svm.softmax_gradient(ref.softmax_loss)
    assert len(errors) == len(ce.BCE_CASES) + len(ce.SCE_CASES) + 2 + 2 * len(svm.CASES)
    assert max(errors) < 2e-6


def test_every_item_meets_right_and_wrong_answers():
    for passes, fails in ((CE_PASS, CE_FAIL), (SVM_PASS, SVM_FAIL)):
        assert set(passes) == set(fails)
        for item, funcs in passes.items():
            assert len(funcs) >= 2 and fails[item], item


@pytest.mark.parametrize("case", svm.CASES + svm.SHAPE_CASES + [svm.SMALL, svm.LARGE, svm.SPEED])
def test_svm_problems_stay_off_the_kink(case):
    W, X, y, _ = svm.problem(*case)
    m = svm._margins(W, X, y)
    assert np.all(np.abs(m) >= svm.MIN_MARGIN)
    # A central difference moves one score by h * |x| (h = 1e-5): it never reaches a kink.
    assert np.abs(m).min() > 1e-5 * np.abs(X).max()
    assert X.dtype == W.dtype == np.float64


def test_svm_problems_mix_active_and_inactive_margins():
    W, X, y, _ = svm.problem(*svm.CASES[4])
    m = svm._margins(W, X, y)
    finite = m[np.isfinite(m)]
    assert (finite > 0).any() and (finite < 0).any()
