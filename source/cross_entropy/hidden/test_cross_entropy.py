"""Every item of ``cross_entropy`` passes the reference and other correct answers, and fails
wrong ones.

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

from grader.author.attacks import (
    FD_STEPS,
    PER_SAMPLE_STEPS,
    numerical,
    per_sample_numerical,
    tolerance_used,
)
from grader.hidden import beside

HIDDEN = beside(__file__)
ref = HIDDEN.module("reference")
SPEC = HIDDEN.module("spec")
grade = HIDDEN.grade

# ---- correct answers in other styles ----------------------------------------


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


# ---- wrong answers ----------------------------------------------------------


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
    "sigmoid.values": SIGMOID_OK, "sigmoid.stable": SIGMOID_OK, "sigmoid.shapes": SIGMOID_OK,
    "sigmoid.untouched": SIGMOID_OK,
    "softmax.values": SOFTMAX_OK, "softmax.stable": SOFTMAX_OK, "softmax.shapes": SOFTMAX_OK,
    "softmax.untouched": SOFTMAX_OK + [softmax_unstable],
    "binary_cross_entropy.loss": BCE_OK + [bce_log_sigmoid, bce_no_mean_grad],
    "binary_cross_entropy.gradient": BCE_OK + [bce_sum],
    "binary_cross_entropy.stable": BCE_OK,
    "binary_cross_entropy.shapes": BCE_OK,
    "binary_cross_entropy.untouched": BCE_OK,
    "softmax_cross_entropy.loss": SCE_OK + [sce_log_softmax, sce_wrong_sign],
    "softmax_cross_entropy.gradient": SCE_OK + [sce_log_softmax, sce_half],
    "softmax_cross_entropy.stable": SCE_OK,
    "softmax_cross_entropy.shapes": SCE_OK, "softmax_cross_entropy.untouched": SCE_OK,
    "two_class_logit.values": [ref.two_class_logit, two_class_diff],
    "logit_gradients": [ref.logit_gradients, logit_gradients_alt],
}
CE_FAIL = {
    "sigmoid.values": [sigmoid_typo],
    "sigmoid.stable": [sigmoid_unstable],
    "sigmoid.shapes": [sigmoid_flat],
    "sigmoid.untouched": [sigmoid_inplace],
    "softmax.values": [softmax_axis0],
    "softmax.stable": [softmax_unstable],
    "softmax.shapes": [softmax_axis0],
    "softmax.untouched": [softmax_inplace],
    "binary_cross_entropy.loss": [bce_sum],
    "binary_cross_entropy.gradient": [bce_no_mean_grad],
    "binary_cross_entropy.stable": [bce_log_sigmoid],
    "binary_cross_entropy.shapes": [bce_column],
    "binary_cross_entropy.untouched": [bce_inplace],
    "softmax_cross_entropy.loss": [sce_half],
    "softmax_cross_entropy.gradient": [sce_wrong_sign],
    "softmax_cross_entropy.stable": [sce_log_softmax],
    "softmax_cross_entropy.shapes": [sce_squeezed],
    "softmax_cross_entropy.untouched": [sce_inplace],
    "two_class_logit.values": [two_class_swapped],
    "logit_gradients": [logit_gradients_no_two],
}


def _cases(table):
    return [pytest.param(item, f, id=f"{item}-{f.__name__}")
            for item, funcs in table.items() for f in funcs]


@pytest.mark.parametrize(("item", "func"), _cases(CE_PASS))
def test_cross_entropy_item_passes(item, func, capfd):
    grade(item, func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(("item", "func"), _cases(CE_FAIL))
def test_cross_entropy_item_fails(item, func, capfd):
    with pytest.raises(AssertionError):
        grade(item, func)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("funcs", [
    (ref.softmax_cross_entropy, ref.binary_cross_entropy, ref.two_class_logit),
    (sce_scipy, bce_softplus, two_class_diff),
    (sce_onehot, bce_where, ref.two_class_logit),
])
def test_reduction_passes(funcs):
    grade("reduction", *funcs)


@pytest.mark.parametrize("funcs", [
    (sce_half, ref.binary_cross_entropy, ref.two_class_logit),
    (ref.softmax_cross_entropy, ref.binary_cross_entropy, two_class_swapped),
    (ref.softmax_cross_entropy, bce_no_mean_grad, ref.two_class_logit),
])
def test_reduction_fails(funcs):
    with pytest.raises(AssertionError):
        grade("reduction", *funcs)


@pytest.mark.parametrize(("a", "b"), [
    (np.array([0.0, 1.0]), np.array([0.0, 0.0])),
    ([-0.5, 0.5], [3.0, 3.0]),
    (np.array([1.0, 2.0]), np.array([-7.0, -7.0])),
])
def test_affine_map_accepts_every_right_answer(a, b):
    grade("affine_map", a, b)


@pytest.mark.parametrize(("a", "b"), [
    ([0.0, 2.0], [0.0, 0.0]),
    ([0.0, 1.0], [0.0, 1.0]),
    ([1.0, 0.0], [0.0, 0.0]),
    (1.0, 0.0),
])
def test_affine_map_rejects_wrong_answers(a, b):
    with pytest.raises(AssertionError):
        grade("affine_map", a, b)


@pytest.mark.parametrize("value", [1491, 1491.48, np.float64(1490.5), np.array(1491.0)])
def test_saturation_ratio_passes(value):
    grade("saturation_ratio", value)


@pytest.mark.parametrize("value", [1 / 1491, 745.7, 2982.9, None, "1491"])
def test_saturation_ratio_fails(value):
    with pytest.raises(AssertionError):
        grade("saturation_ratio", value)


@pytest.mark.parametrize("value", [-math.log(2), -0.693, np.log(0.5)])
def test_concave_threshold_passes(value):
    grade("x_star", value)


@pytest.mark.parametrize("value", [math.log(2), math.exp(-2), -2.0])
def test_concave_threshold_fails(value):
    with pytest.raises(AssertionError):
        grade("x_star", value)


def test_failure_messages_teach_without_dumping_inputs():
    with pytest.raises(AssertionError) as info:
        grade("softmax_cross_entropy.gradient", sce_wrong_sign)
    msg = str(info.value)
    assert "dS" in msg and "entry [" in msg and "numeric" in msg
    assert len(msg) < 600
    with pytest.raises(AssertionError, match="in place"):
        grade("softmax.untouched", softmax_inplace)
    with pytest.raises(AssertionError, match="NotImplementedError"):
        grade("sigmoid.values", stub)


def stub(z):
    raise NotImplementedError()


# ---- gradients that come from the derivation, and the sizes students meet -----------------


def bce_terms(z, t):
    return np.logaddexp(0.0, z) - t * z


def sce_terms(S, y):
    return ref.logsumexp(S) - S[np.arange(len(y)), y]


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



HONEST_GRADIENTS = {
    "binary_cross_entropy.gradient": BCE_OK + [bce_tanh, bce_one_minus, bce_plain, bce_expanded,
                                               bce_chain_rule, bce_einsum_scaled, bce_0d_n,
                                               bce_math_loop],
    "softmax_cross_entropy.gradient": SCE_OK + [sce_subtract],
}


@pytest.mark.parametrize(("item", "func"), [
    pytest.param(item, f, id=f"{item}-{f.__name__}")
    for item, funcs in HONEST_GRADIENTS.items() for f in funcs])
def test_every_honest_gradient_keeps_full_credit_with_room_to_spare(item, func):
    """Honest formulas pass the exact comparisons at a hundredth of their tolerance or less."""
    used = tolerance_used(lambda: grade(item, func))
    assert used is not None and used < 1e-2, used


FD_GRADIENT_ITEMS = [
    ("binary_cross_entropy.gradient", ref.binary_cross_entropy),
    ("softmax_cross_entropy.gradient", ref.softmax_cross_entropy),
]
#: Losses that are means of per-sample losses, each of one row of the input only.
PER_SAMPLE_ITEMS = [("binary_cross_entropy.gradient", bce_terms),
                    ("softmax_cross_entropy.gradient", sce_terms)]


@pytest.mark.parametrize(("item", "answer"), [
    pytest.param(item, numerical(loss_fn, h, st), id=f"{item}-{st}-{h:g}")
    for item, loss_fn in FD_GRADIENT_ITEMS for h, st in FD_STEPS] + [
    pytest.param(item, per_sample_numerical(terms, h, st), id=f"{item}-per-sample-{st}-{h:g}")
    for item, terms in PER_SAMPLE_ITEMS for h, st in PER_SAMPLE_STEPS])
def test_a_finite_difference_gradient_loses_the_gradient_item(item, answer):
    with pytest.raises(AssertionError):
        grade(item, answer)
    grade(item.replace("gradient", "loss"), answer)  # its loss is right: that item keeps its points


# Answers right only at small sizes: a loop bound or slice that assumes a size typical of a
# well-known data set or a training habit.

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
    (["softmax_cross_entropy.loss", "softmax_cross_entropy.gradient"],
     [sce_batch, sce_hundred_classes]),
    (["binary_cross_entropy.loss", "binary_cross_entropy.gradient"], [bce_batch]),
    (["softmax.values"], [softmax_thousand]),
]


@pytest.mark.parametrize(("item", "func"), [
    pytest.param(item, f, id=f"{item}-{f.__name__}")
    for items, funcs in SIZE_BOUND for item in items for f in funcs])
def test_an_answer_right_only_at_small_sizes_loses_its_items(item, func):
    with pytest.raises(AssertionError):
        grade(item, func)


def test_every_item_of_the_spec_is_tested():
    handwritten = {"reduction", "affine_map", "saturation_ratio", "x_star"}
    assert set(HIDDEN.spec.ids()) == set(CE_PASS) | handwritten
    assert set(CE_PASS) == set(CE_FAIL)
    for item, funcs in CE_PASS.items():
        assert len(funcs) >= 2 and CE_FAIL[item], item
