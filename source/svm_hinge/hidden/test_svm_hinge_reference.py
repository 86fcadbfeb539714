"""The reference solutions of ``svm_hinge`` agree with the literal
formulas of the course and with numerics.

The literal versions below are written straight from COURSE.md and the seed, with Python loops
and ``math``; they are slow and unstable on purpose, so they are only used on moderate inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import gradcheck as gc
from grader.hidden import beside

ref = beside(__file__).module("reference")

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def problems(draw, max_n=12, max_d=6, max_c=7, scales=(1e-3, 0.3, 1.0, 3.0)):
    """(W, X, y, reg) of random shapes including N=1, C=2 and reg=0, from a drawn seed."""
    n, d = draw(st.integers(1, max_n)), draw(st.integers(1, max_d))
    c = draw(st.integers(2, max_c))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W = draw(st.sampled_from(scales)) * rng.standard_normal((d, c))
    X = rng.standard_normal((n, d))
    return W, X, rng.integers(0, c, n), draw(st.sampled_from([0.0, 0.01, 1.0]))


def literal_svm(W, X, y, reg):
    """Loss and seed formulas (3), (4), one sample and one class at a time."""
    n, (d, c) = X.shape[0], W.shape
    loss, dW = 0.0, [[0.0] * c for _ in range(d)]
    for i in range(n):
        s = [sum(X[i, k] * W[k, j] for k in range(d)) for j in range(c)]
        for j in range(c):
            margin = s[j] - s[y[i]] + 1
            if j != y[i] and margin > 0:
                loss += margin
                for k in range(d):
                    dW[k][j] += X[i, k]
                    dW[k][y[i]] -= X[i, k]
    reg_loss = reg * sum(W[k, j] ** 2 for k in range(d) for j in range(c))
    grad = np.array(dW) / n + 2 * reg * W
    return loss / n + reg_loss, grad


def literal_softmax_loss(W, X, y, reg):
    n, (d, c) = X.shape[0], W.shape
    loss, dW = 0.0, np.zeros((d, c))
    for i in range(n):
        s = [sum(X[i, k] * W[k, j] for k in range(d)) for j in range(c)]
        total = sum(math.exp(v) for v in s)
        loss -= math.log(math.exp(s[y[i]]) / total)
        for j in range(c):
            p = math.exp(s[j]) / total
            dW[:, j] += (p - (j == y[i])) * X[i]
    return loss / n + reg * float(np.sum(W**2)), dW / n + 2 * reg * W


def off_kink(W, X, y) -> bool:
    S = X @ W
    m = S - S[np.arange(len(y)), y][:, None] + 1
    m[np.arange(len(y)), y] = 1.0
    return bool(np.all(np.abs(m) > 1e-3))


# ---- linear classifiers --------------------------------------------------------------------


@SETTINGS
@given(problems())
def test_svm_loss_matches_the_naive_loops_and_numeric_gradient(problem):
    W, X, y, reg = problem
    loss, dW = ref.svm_loss(W, X, y, reg)
    literal_loss, literal_dW = literal_svm(W, X, y, reg)
    assert type(loss) is float and dW.shape == W.shape and dW.dtype == np.float64
    assert loss == pytest.approx(literal_loss, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(dW, literal_dW, rtol=1e-10, atol=1e-12)
    if off_kink(W, X, y):
        # The regularisation term makes the loss large: rounding noise ~ eps * |loss| / h.
        numeric = gc.numeric_gradient(lambda w: ref.svm_loss(w, X, y, reg)[0], W)
        np.testing.assert_allclose(dW, numeric, rtol=1e-6, atol=1e-7)


@SETTINGS
@given(problems())
def test_softmax_loss_matches_the_naive_loops_and_numeric_gradient(problem):
    W, X, y, reg = problem
    loss, dW = ref.softmax_loss(W, X, y, reg)
    literal_loss, literal_dW = literal_softmax_loss(W, X, y, reg)
    assert type(loss) is float and dW.shape == W.shape and dW.dtype == np.float64
    assert loss == pytest.approx(literal_loss, rel=1e-10)
    np.testing.assert_allclose(dW, literal_dW, rtol=1e-9, atol=1e-12)
    numeric = gc.numeric_gradient(lambda w: ref.softmax_loss(w, X, y, reg)[0], W)
    np.testing.assert_allclose(dW, numeric, rtol=1e-5, atol=1e-8)


@SETTINGS
@given(problems(), st.floats(1e3, 1e4))
def test_softmax_loss_is_stable_for_huge_scores(problem, scale):
    W, X, y, reg = problem
    loss, dW = ref.softmax_loss(scale * W, X, y, reg)
    assert np.isfinite(loss) and np.isfinite(dW).all()


def test_references_leave_their_inputs_alone():
    rng = np.random.default_rng(3)
    W, X, y = rng.standard_normal((4, 3)), rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    copies = [a.copy() for a in (W, X, y)]
    for fn in (ref.svm_loss, ref.softmax_loss):
        fn(W, X, y, 0.5)
    for a, b in zip((W, X, y), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_svm_loss_is_zero_when_every_margin_is_met():
    X, y = np.eye(3), np.arange(3)
    loss, dW = ref.svm_loss(5 * np.eye(3), X, y, 0.0)
    assert loss == 0.0 and not dW.any()
    loss, dW = ref.svm_loss(np.zeros((3, 3)), X, y, 0.0)
    assert loss == 2.0  # two margins of exactly 1 per sample
