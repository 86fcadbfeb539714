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
from test_checks import memoised

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
                  and getattr(svm, n).__module__ == svm.__name__}
    svm_public -= {"problem", "kink_problem", "unlikely_class_problem"}
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
    assert len(errors) == (len(ce.BCE_CASES) + len(ce.SCE_CASES) + 2 + 2 * len(svm.CASES)
                           + len(svm.SCALE_CASES) + len(svm.SOFTMAX_SCALE_CASES))
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


# ---- the sizes students meet, and gradients that come from the derivation ------------------


def numerical(loss_fn, h=1e-5, stencil="central"):
    """A "gradient" by finite differences of the loss itself: the derivation avoided.

    To keep the tests quick it differentiates only inputs of up to 2000 entries and returns
    the exact gradient for larger ones: the small problems alone must expose it.
    """
    def answer(W, *rest):
        W = np.asarray(W, dtype=np.float64)
        if W.size > 2000:
            return loss_fn(W, *rest)
        loss = loss_fn(W, *rest)[0]
        grad = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            def at(step, idx=idx):
                moved = W.copy()
                moved[idx] += step
                return loss_fn(moved, *rest)[0]
            grad[idx] = difference_quotient(at, loss, h, stencil)
        return loss, grad
    answer.__name__ = f"numerical_{loss_fn.__name__}_{stencil}_{h:g}"
    return answer


def difference_quotient(at, base, h, stencil):
    """The derivative of ``at(step)`` at 0 (where its value is `base`) by a finite difference."""
    if stencil == "central":
        return (at(h) - at(-h)) / (2 * h)
    if stencil == "forward":
        return (at(h) - base) / h
    # five-point, fourth order
    return (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h)


def per_sample_numerical(terms, h=1e-5, stencil="central"):
    """A "gradient" by finite differences of each sample's own loss, all samples at once.

    Each sample's loss ``terms(X, *rest)[i]`` depends on row ``i`` of ``X`` only, so moving one
    column of every row together and dividing by N gives a whole column of the gradient: no
    sample's error is mixed with the mean loss. Tried at every size: it is quick.
    """
    def answer(X, *rest):
        X = np.asarray(X, dtype=np.float64)
        base = terms(X, *rest)
        grad = np.zeros_like(X)
        for col in np.ndindex(X.shape[1:]):
            column = (slice(None), *col)

            def at(step, column=column):
                moved = X.copy()
                moved[column] += step
                return terms(moved, *rest)
            grad[column] = difference_quotient(at, base, h, stencil) / X.shape[0]
        return float(np.mean(base)), grad
    answer.__name__ = f"per_sample_numerical_{terms.__name__}_{stencil}_{h:g}"
    return answer


def bce_terms(z, t):
    return np.logaddexp(0.0, z) - t * z


def sce_terms(S, y):
    return ref.logsumexp(S) - S[np.arange(len(y)), y]


FD_STEPS = [(h, st) for h in (1e-2, 1e-4, 1e-6, 1e-9, 1e-12) for st in ("central", "forward")]
FD_STEPS += [(1e-3, "five"), (1e-5, "five")]
#: The step sizes a per-sample difference quotient may try: its best step is around 1e-5.
PER_SAMPLE_STEPS = [(h, st) for h in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-9, 1e-12)
                    for st in ("central", "forward")]
PER_SAMPLE_STEPS += [(h, "five") for h in (1e-2, 3e-3, 1e-3, 1e-4, 1e-5)]


def bce_tanh(z, t):
    """A sigmoid through tanh: the least accurate honest formula for tiny probabilities."""
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(np.mean(np.logaddexp(0.0, z) - t * z)), (p - t) / z.shape[0]


def bce_one_minus(z, t):
    p = 1.0 - scipy.special.expit(-z)
    return np.mean(np.logaddexp(0.0, z) - t * z), (p - t) / len(z)


def bce_plain(z, t):
    """The textbook sigmoid with clipped logits (no overflow warning), in float64."""
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))
    return np.mean(np.logaddexp(0.0, z) - t * z), (p - t) / len(z)


def bce_expanded(z, t):
    """The chain rule simplified by hand, but not all the way: -(t (1 - p) - (1 - t) p) / N."""
    p = ref.sigmoid(z)
    return np.mean(np.logaddexp(0.0, z) - t * z), -(t * (1 - p) - (1 - t) * p) / len(z)


def bce_chain_rule(z, t):
    """dL/dp times dp/dz = p (1 - p), with 1 - p computed as sigma(-z)."""
    p, q = scipy.special.expit(z), scipy.special.expit(-z)
    dL_dp = (-t / p + (1 - t) / q) / len(z)
    return np.mean(np.logaddexp(0.0, z) - t * z), dL_dp * (p * q)


def bce_einsum_scaled(z, t):
    """A 0-d array loss, and 1/N as a Python float applied through einsum."""
    dz = np.einsum("i,->i", ref.sigmoid(z) - t, 1.0 / len(z))
    return np.array(np.mean(np.logaddexp(0.0, z) - t * z)), dz


def bce_0d_n(z, t):
    """p / N - t / N with N a 0-d array."""
    n = np.array(float(z.shape[0]))
    return float(np.mean(np.logaddexp(0.0, z) - t * z)), ref.sigmoid(z) / n - t / n


def bce_math_loop(z, t):
    """One sample at a time with the math module, the stable branch chosen by the sign."""
    n = len(z)
    dz = np.empty(n)
    for i, (zi, ti) in enumerate(zip(z.tolist(), t.tolist())):
        p = 1 / (1 + math.exp(-zi)) if zi >= 0 else math.exp(zi) / (1 + math.exp(zi))
        dz[i] = (p - ti) / n
    return np.mean(np.logaddexp(0.0, z) - t * z), dz


def sce_subtract(S, y):
    """(P - Y) / N computed as P / N - Y / N."""
    n = S.shape[0]
    log_p = S - scipy.special.logsumexp(S, axis=1, keepdims=True)
    Y = np.eye(S.shape[1])[y]
    return -np.sum(Y * log_p) / n, np.exp(log_p) / n - Y / n


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
    "bce_gradient": (ce, BCE_OK + [bce_tanh, bce_one_minus, bce_plain, bce_expanded,
                                   bce_chain_rule, bce_einsum_scaled, bce_0d_n, bce_math_loop]),
    "sce_gradient": (ce, SCE_OK + [sce_subtract]),
    "svm_naive_gradient": (svm, SVM_OK + [svm_loop_samples, svm_ge_mask, svm_add_at]),
    "svm_vec_gradient": (svm, SVM_OK + [svm_ge_mask, svm_add_at]),
    "softmax_gradient": (svm, SOFTMAX_OK_W + [softmax_loop, softmax_ratio]),
}


@pytest.mark.parametrize(("item", "func"), [
    pytest.param(item, f, id=f"{item}-{f.__name__}")
    for item, (_, funcs) in HONEST_GRADIENTS.items() for f in funcs])
def test_every_honest_gradient_keeps_full_credit_with_room_to_spare(item, func, monkeypatch):
    """Honest formulas pass the exact comparisons at a hundredth of their tolerance or less."""
    from grader import checks

    worst = []
    original = checks.assert_close

    def spy(got, expected, what, rtol=1e-7, atol=1e-12, hint="", scale=None):
        if scale is not None:
            err = np.abs(np.asarray(got, float) - np.asarray(expected, float))
            allowed = atol + rtol * np.asarray(scale)
            worst.append(float(np.max(err / np.maximum(allowed, 1e-300))))
        return original(got, expected, what, rtol, atol, hint, scale)

    monkeypatch.setattr(checks, "assert_close", spy)
    module, _ = HONEST_GRADIENTS[item]
    getattr(module, item)(func)
    assert worst and max(worst) < 1e-2, max(worst)


def bce_loss_only(z, t):
    return ref.binary_cross_entropy(z, t)


bce_loss_only.__name__ = "binary_cross_entropy"
FD_GRADIENT_ITEMS = [
    ("bce_gradient", ce, ref.binary_cross_entropy),
    ("sce_gradient", ce, ref.softmax_cross_entropy),
    ("svm_naive_gradient", svm, ref.svm_loss),
    ("svm_vec_gradient", svm, ref.svm_loss),
    ("softmax_gradient", svm, ref.softmax_loss),
]


#: Losses that are means of per-sample losses, each of one row of the input only.
PER_SAMPLE_ITEMS = [("bce_gradient", ce, bce_terms), ("sce_gradient", ce, sce_terms)]


@pytest.mark.parametrize(("item", "module", "answer"), [
    pytest.param(item, module, numerical(loss_fn, h, st), id=f"{item}-{st}-{h:g}")
    for item, module, loss_fn in FD_GRADIENT_ITEMS for h, st in FD_STEPS] + [
    pytest.param(item, module, per_sample_numerical(terms, h, st),
                 id=f"{item}-per-sample-{st}-{h:g}")
    for item, module, terms in PER_SAMPLE_ITEMS for h, st in PER_SAMPLE_STEPS])
def test_a_finite_difference_gradient_loses_the_gradient_item(item, module, answer):
    with pytest.raises(AssertionError):
        getattr(module, item)(answer)
    loss_item = item.replace("gradient", "loss")
    getattr(module, loss_item)(answer)  # its loss is right: that item keeps its points


def test_a_numerical_gradient_is_told_to_use_the_derivation():
    with pytest.raises(AssertionError, match="derived formula"):
        svm.svm_naive_gradient(numerical(ref.svm_loss, 1e-6))


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


def sce_batch(S, y):
    n = min(S.shape[0], 2048)
    loss, dS = ref.softmax_cross_entropy(S[:n], y[:n])
    full = np.zeros_like(S)
    full[:n] = dS * n / S.shape[0]
    return loss, full


def sce_hundred_classes(S, y):
    c = min(S.shape[1], 100)
    loss, dS = ref.softmax_cross_entropy(S[:, :c], np.minimum(y, c - 1))
    full = np.zeros_like(S)
    full[:, :c] = dS
    return loss, full


def bce_batch(z, t):
    n = min(len(z), 2048)
    loss, dz = ref.binary_cross_entropy(z[:n], t[:n])
    return loss, np.concatenate([dz * n / len(z), np.zeros(len(z) - n)])


def softmax_thousand(S):
    c = min(S.shape[1], 1000)
    out = np.zeros_like(S)
    out[:, :c] = ref.softmax(S[:, :c])
    return out


SIZE_BOUND = [
    (svm, ["svm_naive_loss", "svm_naive_gradient", "svm_vec_loss", "svm_vec_gradient"],
     [svm_ten_classes, svm_digits_features, svm_batch]),
    (svm, ["svm_naive_gradient", "svm_vec_gradient"], [svm_tolerance]),
    (svm, ["softmax_loss", "softmax_gradient"],
     [softmax_thousand_classes, softmax_cifar_features]),
    (ce, ["sce_loss", "sce_gradient"], [sce_batch, sce_hundred_classes]),
    (ce, ["bce_loss", "bce_gradient"], [bce_batch]),
    (ce, ["softmax_values"], [softmax_thousand]),
]


@pytest.mark.parametrize(("module", "item", "func"), [
    pytest.param(module, item, f, id=f"{item}-{f.__name__}")
    for module, items, funcs in SIZE_BOUND for item in items for f in funcs])
def test_an_answer_right_only_at_small_sizes_loses_its_items(module, item, func):
    with pytest.raises(AssertionError):
        getattr(module, item)(func)


@pytest.mark.parametrize("case", svm.KINK_CASES)
def test_near_kink_margins_are_tiny_but_not_zero_and_the_rest_stay_away(case):
    W, X, y, _ = svm.kink_problem(*case)
    m = np.abs(svm._margins(W, X, y))
    m = np.sort(m, axis=1)[:, :-1]  # the y_i column is inf
    assert m.min() >= 0.5e-10 and (m[:, 0] < 2e-10).sum() >= len(y) // 5
    assert np.all(m[:, 1:] >= svm.MIN_MARGIN)
    # every honest way of computing the scores agrees on the sign of every margin
    S_loop = np.array([[sum(X[i, d] * W[d, j] for d in range(X.shape[1]))
                        for j in range(W.shape[1])] for i in range(len(y))])
    M_loop = S_loop - S_loop[np.arange(len(y)), y][:, None] + 1
    M_ref = svm._margins(W, X, y)
    finite = np.isfinite(M_ref)
    assert np.array_equal(M_loop[finite] > 0, M_ref[finite] > 0)


def test_problems_are_the_same_every_time_and_read_only():
    a, b = svm.kink_problem(*svm.KINK_CASES[0]), svm.kink_problem(*svm.KINK_CASES[0])
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3]))
    with pytest.raises(ValueError):
        a[1][0, 0] = 1.0


# ---- counted and timed calls see new inputs ------------------------------------------------


@pytest.mark.parametrize("item", ["svm_vec_loop_free", "svm_vec_speed"])
def test_a_cache_of_answers_loses_what_the_same_loop_loses(item):
    for func in (svm_loop_samples, memoised(svm_loop_samples)):
        with pytest.raises(AssertionError):
            getattr(svm, item)(func)
    getattr(svm, item)(memoised(ref.svm_loss))  # a cache in a vectorized answer costs nothing
