"""Every item of ``two_layer_net`` passes the reference and other correct answers, and fails
wrong ones: each with one of the mistakes students make in backpropagation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from grader.author.attacks import FD_STEPS, finite_difference, memoised
from grader.hidden import beside

HIDDEN = beside(__file__)
ref = HIDDEN.module("reference")
P = HIDDEN.module("problems")
grade = HIDDEN.grade
LOSS = HIDDEN.spec.functions["two_layer_loss"]


# ---- relu, forward ----------------------------------------------------------------------------

def relu_where(x):
    return np.where(x > 0, x, 0.0)


def relu_mask(x):
    return x * (x > 0)


def relu_builtin_max(x):
    return max(x, 0)  # not elementwise


def relu_abs(x):
    return np.abs(x)


def relu_in_place(x):
    x[x < 0] = 0.0
    return x


def forward_einsum(X, W1, b1, W2, b2):
    return np.einsum("nh,hc->nc", np.clip(np.einsum("nd,dh->nh", X, W1) + b1, 0, None), W2) + b2


def forward_no_bias(X, W1, b1, W2, b2):
    return ref.relu(X @ W1) @ W2 + b2


def forward_linear(X, W1, b1, W2, b2):
    return (X @ W1 + b1) @ W2 + b2


def forward_in_place(X, W1, b1, W2, b2):
    A = X @ W1
    A += b1
    np.maximum(A, 0, out=A)
    S = A @ W2 + b2
    b1[:] = 0.0  # "cleaning up" the caller's bias
    return S


# ---- the loss and its gradients -------------------------------------------------------------

def loss_scipy(X, y, W1, b1, W2, b2, reg):
    """log-softmax by scipy, one-hot labels, the mask from the hidden units themselves."""
    A = X @ W1 + b1
    Hid = np.maximum(A, 0)
    S = Hid @ W2 + b2
    log_p = S - scipy.special.logsumexp(S, axis=1, keepdims=True)
    Y = np.eye(W2.shape[1])[y]
    n = len(y)
    loss = -np.sum(Y * log_p) / n + reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dS = (np.exp(log_p) - Y) / n
    dA = (dS @ W2.T) * (Hid > 0)
    return np.array(loss), {"b2": dS.sum(0), "W2": Hid.T @ dS + 2 * reg * W2,
                            "b1": dA.sum(0), "W1": np.asfortranarray(X.T @ dA + 2 * reg * W1)}


def loss_printing(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    print("loss", loss)
    return loss, grads


def loss_loop(X, y, W1, b1, W2, b2, reg):
    """One sample at a time: right values, slow."""
    n = X.shape[0]
    grads = {"W1": np.zeros_like(W1), "b1": np.zeros_like(b1), "W2": np.zeros_like(W2),
             "b2": np.zeros_like(b2)}
    loss = 0.0
    for i in range(n):
        a = X[i] @ W1 + b1
        h = np.maximum(a, 0)
        s = h @ W2 + b2
        s = s - s.max()
        p = np.exp(s) / np.exp(s).sum()
        loss += -np.log(p[y[i]])
        p[y[i]] -= 1
        grads["W2"] += np.outer(h, p)
        grads["b2"] += p
        da = (W2 @ p) * (a > 0)
        grads["W1"] += np.outer(X[i], da)
        grads["b1"] += da
    grads = {k: v / n for k, v in grads.items()}
    grads["W1"] += 2 * reg * W1
    grads["W2"] += 2 * reg * W2
    return loss / n + reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2)), grads


def _wrong(change):
    """The reference with one mistake, given as a change of its intermediate values."""
    def answer(X, y, W1, b1, W2, b2, reg):
        return change(X, y, W1, b1, W2, b2, reg)
    answer.__name__ = change.__name__
    return answer


def no_relu_mask(X, y, W1, b1, W2, b2, reg):
    """The gradient passed back through the ReLU as if it were the identity."""
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    A = X @ W1 + b1
    S = np.maximum(A, 0) @ W2 + b2
    dS = scipy.special.softmax(S, axis=1)
    dS[np.arange(len(y)), y] -= 1
    dA = dS / len(y) @ W2.T
    return loss, {**grads, "W1": X.T @ dA + 2 * reg * W1, "b1": dA.sum(axis=0)}


def no_two_reg(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    return loss, {**grads, "W1": grads["W1"] - reg * W1, "W2": grads["W2"] - reg * W2}


def db_wrong_axis(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    S = ref.two_layer_forward(X, W1, b1, W2, b2)
    dS = scipy.special.softmax(S, axis=1)
    dS[np.arange(len(y)), y] -= 1
    return loss, {**grads, "b2": (dS / len(y)).sum(axis=1)}


def regularised_biases(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    return (loss + reg * (np.sum(b1 ** 2) + np.sum(b2 ** 2)),
            {**grads, "b1": grads["b1"] + 2 * reg * b1, "b2": grads["b2"] + 2 * reg * b2})


def unshifted(X, y, W1, b1, W2, b2, reg):
    S = ref.two_layer_forward(X, W1, b1, W2, b2)
    E = np.exp(S)
    loss = np.mean(np.log(E.sum(axis=1)) - S[np.arange(len(y)), y])
    _, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    return loss + reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2)), grads


def summed_not_mean(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, 0.0)
    n = len(y)
    penalty = reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    return loss * n + penalty, {"W1": grads["W1"] * n + 2 * reg * W1, "b1": grads["b1"] * n,
                                "W2": grads["W2"] * n + 2 * reg * W2, "b2": grads["b2"] * n}


def transposed_W1(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    return loss, {**grads, "W1": grads["W1"].T}


def a_list(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    return loss, [grads["W1"], grads["b1"], grads["W2"], grads["b2"]]


def in_place_X(X, y, W1, b1, W2, b2, reg):
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    X -= X.mean(axis=0)
    return loss, grads


def constant(X, y, W1, b1, W2, b2, reg):
    return 0.0, {"W1": np.zeros_like(W1), "b1": np.zeros_like(b1), "W2": np.zeros_like(W2),
                 "b2": np.zeros_like(b2)}


# answers right only at the sizes a habit assumes
def batch_2048(X, y, W1, b1, W2, b2, reg):
    n = min(len(y), 2048)
    loss, grads = ref.two_layer_loss(X[:n], y[:n], W1, b1, W2, b2, reg)
    return loss, grads


def hundred_units(X, y, W1, b1, W2, b2, reg):
    h = min(W1.shape[1], 100)
    loss, grads = ref.two_layer_loss(X, y, W1[:, :h], b1[:h], W2[:h], b2, 0.0)
    full = {"W1": np.zeros_like(W1), "b1": np.zeros_like(b1), "W2": np.zeros_like(W2)}
    full["W1"][:, :h], full["b1"][:h], full["W2"][:h] = grads["W1"], grads["b1"], grads["W2"]
    penalty = reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    return loss + penalty, {"W1": full["W1"] + 2 * reg * W1, "b1": full["b1"],
                            "W2": full["W2"] + 2 * reg * W2, "b2": grads["b2"]}


# ---- dead units -------------------------------------------------------------------------------

def dead_any(X, W1, b1):
    return ~np.any(X @ W1 + b1 > 0, axis=0)


def dead_max(X, W1, b1):
    return (X @ W1 + b1).max(axis=0) <= 0


def dead_for_some_sample(X, W1, b1):
    return np.any(X @ W1 + b1 <= 0, axis=0)


def dead_per_sample(X, W1, b1):
    return np.all(X @ W1 + b1 <= 0, axis=1)


def dead_indices(X, W1, b1):
    return np.flatnonzero(np.all(X @ W1 + b1 <= 0, axis=0))


LOSS_OK = [ref.two_layer_loss, loss_scipy, loss_printing]
PASS = {
    "relu.values": [ref.relu, relu_where, relu_mask, relu_in_place],
    "relu.untouched": [ref.relu, relu_where, relu_mask],
    "two_layer_forward.values": [ref.two_layer_forward, forward_einsum, forward_in_place],
    "two_layer_forward.shapes": [ref.two_layer_forward, forward_einsum, forward_linear],
    "two_layer_forward.untouched": [ref.two_layer_forward, forward_einsum],
    "two_layer_loss.loss": LOSS_OK + [loss_loop, no_relu_mask, no_two_reg, db_wrong_axis],
    "two_layer_loss.gradient_output": LOSS_OK + [loss_loop, no_relu_mask],
    "two_layer_loss.gradient_hidden": LOSS_OK + [loss_loop, db_wrong_axis],
    "two_layer_loss.stable": LOSS_OK + [no_relu_mask, no_two_reg],
    "two_layer_loss.shapes": LOSS_OK + [loss_loop, no_relu_mask, no_two_reg],
    "two_layer_loss.untouched": LOSS_OK + [loss_loop, no_relu_mask],
    "two_layer_loss.loop_free": LOSS_OK + [no_relu_mask, no_two_reg],
    "two_layer_loss.speed": LOSS_OK + [no_relu_mask, no_two_reg],
    "dead_units.values": [ref.dead_units, dead_any, dead_max],
}
FAIL = {
    "relu.values": [relu_builtin_max, relu_abs],
    "relu.untouched": [relu_in_place],
    "two_layer_forward.values": [forward_no_bias, forward_linear],
    "two_layer_forward.shapes": [lambda X, W1, b1, W2, b2: (X @ W1) @ W2.T],
    "two_layer_forward.untouched": [forward_in_place],
    "two_layer_loss.loss": [regularised_biases, summed_not_mean, batch_2048, hundred_units],
    "two_layer_loss.gradient_output": [no_two_reg, db_wrong_axis, regularised_biases,
                                       summed_not_mean, batch_2048, hundred_units],
    "two_layer_loss.gradient_hidden": [no_relu_mask, no_two_reg, regularised_biases,
                                       transposed_W1, hundred_units],
    "two_layer_loss.stable": [unshifted],
    "two_layer_loss.shapes": [db_wrong_axis, transposed_W1, a_list],
    "two_layer_loss.untouched": [in_place_X],
    "two_layer_loss.loop_free": [loss_loop, constant],
    "two_layer_loss.speed": [loss_loop, constant],
    "dead_units.values": [dead_for_some_sample, dead_per_sample, dead_indices],
}


def _cases(table):
    return [pytest.param(item, f, id=f"{item}-{getattr(f, '__name__', 'lambda')}")
            for item, funcs in table.items() for f in funcs]


@pytest.mark.parametrize(("item", "answer"), _cases(PASS))
def test_right_answers_earn_the_item(item, answer, capfd):
    grade(item, answer)
    assert capfd.readouterr().err == ""  # nbgrader would score stderr as a failure


@pytest.mark.parametrize(("item", "answer"), _cases(FAIL))
def test_wrong_answers_lose_it(item, answer):
    with pytest.raises(AssertionError):
        grade(item, answer)


def test_every_item_meets_right_and_wrong_answers():
    assert set(PASS) == set(FAIL) == set(HIDDEN.spec.ids())
    for item, answers in PASS.items():
        assert len(answers) >= 2 and FAIL[item], item


@pytest.mark.parametrize(("h", "stencil"), FD_STEPS)
def test_a_finite_difference_gradient_loses_both_gradient_items(h, stencil):
    answer = finite_difference(LOSS, h, stencil)
    for item in ("two_layer_loss.gradient_output", "two_layer_loss.gradient_hidden"):
        with pytest.raises(AssertionError):
            grade(item, answer)
    grade("two_layer_loss.loss", answer)  # its loss is right: that item keeps its points


def test_a_cache_of_answers_gains_nothing():
    for item in ("two_layer_loss.loop_free", "two_layer_loss.speed"):
        with pytest.raises(AssertionError):
            grade(item, memoised(loss_loop))
        grade(item, memoised(ref.two_layer_loss))


@pytest.mark.parametrize("case", P.CASES + P.SCALE_CASES + P.SHAPE_CASES
                         + [P.SMALL, P.LARGE, P.SPEED])
def test_pre_activations_stay_off_the_kink_and_a_unit_is_dead(case):
    X, _, W1, b1, *_ = P.net(*case)
    A = X @ W1 + b1
    assert np.abs(A).min() >= P.MIN_PRE
    # a central difference (h = 1e-5) moves a pre-activation by at most h |x|: never across 0
    assert np.abs(A).min() > 1e-5 * np.abs(X).max()
    if W1.shape[1] >= 5:
        assert ref.dead_units(X, W1, b1)[-1]


@pytest.mark.parametrize("case", P.KINK_CASES)
def test_kink_pre_activations_are_tiny_but_not_zero_and_the_rest_stay_away(case):
    X, _, W1, b1, *_ = P.kink_problem(*case)
    A = np.sort(np.abs(X @ W1 + b1), axis=1)
    assert A.min() >= 0.5e-10 and (A[:, 0] < 2e-10).sum() >= len(X) // 5
    assert np.all(A[:, 1:] >= P.MIN_PRE)
    # every honest way of computing the pre-activations agrees on which are on
    loop = np.array([[sum(X[i, d] * W1[d, j] for d in range(X.shape[1])) + b1[j]
                      for j in range(W1.shape[1])] for i in range(len(X))])
    assert np.array_equal(loop > 0, X @ W1 + b1 > 0)


def mask_tolerance(X, y, W1, b1, W2, b2, reg):
    """The ReLU's mask counted only above a small tolerance."""
    A = X @ W1 + b1
    loss, grads = ref.two_layer_loss(X, y, W1, b1, W2, b2, reg)
    S = np.maximum(A, 0) @ W2 + b2
    dS = scipy.special.softmax(S, axis=1)
    dS[np.arange(len(y)), y] -= 1
    dA = (dS / len(y) @ W2.T) * (A > 1e-6)
    return loss, {**grads, "W1": X.T @ dA + 2 * reg * W1, "b1": dA.sum(axis=0)}


def test_a_mask_with_a_tolerance_loses_the_hidden_gradient():
    with pytest.raises(AssertionError):
        grade("two_layer_loss.gradient_hidden", mask_tolerance)
    grade("two_layer_loss.gradient_output", mask_tolerance)


def test_the_tiny_problem_has_tiny_entries_in_every_gradient():
    _, grads = ref.two_layer_loss(*P.tiny_problem())
    loss = ref.two_layer_loss(*P.tiny_problem())[0]
    assert loss > 5
    for name in ("W1", "b1", "W2", "b2"):
        assert np.abs(grads[name]).min() < 1e-9, name
    scale = P.gradient_scale(*P.tiny_problem())
    assert {k: v.shape for k, v in scale.items()} == {k: v.shape for k, v in grads.items()}


def test_problems_are_the_same_every_time_and_read_only():
    a, b = P.net(*P.CASES[3]), P.net(*P.CASES[3], seed=0)
    assert a is b
    with pytest.raises(ValueError):
        a[0][0, 0] = 1.0
