"""The reference solutions of ``cross_entropy`` agree with the literal
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
def scores(draw, max_n=12, max_c=7, scales=(1.0, 5.0)):
    """(S, y) of random shapes including N=1 and C=2, from a drawn seed."""
    n, c = draw(st.integers(1, max_n)), draw(st.integers(2, max_c))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return draw(st.sampled_from(scales)) * rng.standard_normal((n, c)), rng.integers(0, c, n)


def literal_sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ---- sigmoid, softmax ----------------------------------------------------------------------


@SETTINGS
@given(z=st.floats(-30, 30))
def test_sigmoid_is_the_logistic_function(z):
    assert ref.sigmoid(z) == pytest.approx(literal_sigmoid(z), rel=1e-12)
    assert ref.sigmoid(-z) == pytest.approx(1 - ref.sigmoid(z), abs=1e-15)


@SETTINGS
@given(z=st.floats(-1e6, 1e6))
def test_sigmoid_is_finite_and_in_range_for_huge_logits(z):
    s = ref.sigmoid(z)
    assert 0.0 <= s <= 1.0 and s.shape == ()


def test_sigmoid_keeps_shapes_and_limits():
    np.testing.assert_array_equal(ref.sigmoid([-1e4, 0.0, 1e4]), [0.0, 0.5, 1.0])
    for shape in [(), (1,), (5,), (3, 4)]:
        assert ref.sigmoid(np.zeros(shape)).shape == shape
    assert ref.sigmoid(np.array([-745.0]))[0] > 0  # exp(-745) is the smallest subnormal


@SETTINGS
@given(scores())
def test_softmax_matches_the_definition(problem):
    S, _ = problem
    for row, got in zip(S, ref.softmax(S), strict=True):
        total = sum(math.exp(v) for v in row)
        np.testing.assert_allclose(got, [math.exp(v) / total for v in row], rtol=1e-12)


@SETTINGS
@given(scores(), st.floats(-1e4, 1e4))
def test_softmax_is_shift_invariant_and_stable(problem, shift):
    S, _ = problem
    P = ref.softmax(S + shift)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(P, ref.softmax(S), atol=1e-9)
    np.testing.assert_allclose(ref.logsumexp(S + shift), ref.logsumexp(S) + shift,
                               rtol=1e-12, atol=1e-9)


def test_softmax_of_extreme_scores():
    P = ref.softmax([[1e4, -1e4], [-1e4, -1e4], [1e4, 1e4 - math.log(3)]])
    np.testing.assert_allclose(P, [[1, 0], [0.5, 0.5], [0.75, 0.25]], rtol=1e-12)


# ---- binary and softmax cross-entropy ------------------------------------------------------


@SETTINGS
@given(n=st.integers(1, 20), seed=st.integers(0, 2**32 - 1), soft=st.booleans())
def test_bce_matches_formula_2_and_numeric_gradient(n, seed, soft):
    rng = np.random.default_rng(seed)
    z = 4 * rng.standard_normal(n)
    t = rng.uniform(0, 1, n) if soft else rng.integers(0, 2, n).astype(float)
    loss, dz = ref.binary_cross_entropy(z, t)
    p = [literal_sigmoid(v) for v in z]
    literal = sum(-t[i] * math.log(p[i]) - (1 - t[i]) * math.log(1 - p[i]) for i in range(n)) / n
    assert type(loss) is float and dz.dtype == np.float64 and dz.shape == (n,)
    assert loss == pytest.approx(literal, rel=1e-8, abs=1e-12)
    numeric = gc.numeric_gradient(lambda v: ref.binary_cross_entropy(v, t)[0], z)
    np.testing.assert_allclose(dz, numeric, rtol=1e-5, atol=1e-9)


def test_bce_for_huge_logits():
    loss, dz = ref.binary_cross_entropy([1e4, -1e4, 1e4, -1e4], [0.0, 1.0, 1.0, 0.0])
    assert loss == pytest.approx(0.5e4)
    np.testing.assert_array_equal(dz, [0.25, -0.25, 0.0, 0.0])


@SETTINGS
@given(scores())
def test_sce_matches_formula_1_and_numeric_gradient(problem):
    S, y = problem
    n = S.shape[0]
    loss, dS = ref.softmax_cross_entropy(S, y)
    literal = sum(-math.log(math.exp(S[i, y[i]]) / sum(math.exp(v) for v in S[i]))
                  for i in range(n)) / n
    assert type(loss) is float and dS.shape == S.shape and dS.dtype == np.float64
    assert loss == pytest.approx(literal, rel=1e-10)
    # Absolute tolerance: for a confident row every entry of dS is tiny, while the loss is a
    # difference of scores of order |S|, whose rounding is what central differences see.
    numeric = gc.numeric_gradient(lambda v: ref.softmax_cross_entropy(v, y)[0], S)
    np.testing.assert_allclose(dS, numeric, rtol=1e-5, atol=1e-9)


@SETTINGS
@given(scores(scales=(1.0,)), st.floats(1e2, 1e4))
def test_sce_stays_finite_and_right_for_huge_scores(problem, scale):
    S, y = problem
    S = scale * S
    loss, dS = ref.softmax_cross_entropy(S, y)
    assert np.isfinite(loss) and np.isfinite(dS).all()
    lse = S.max(axis=1)  # the other terms are at most log(C) more
    exact = np.mean(lse - S[np.arange(len(y)), y])
    assert exact <= loss <= exact + math.log(S.shape[1]) + 1e-9


@SETTINGS
@given(scores(max_c=2, scales=(1.0, 30.0)))
def test_two_classes_reduce_to_binary_cross_entropy(problem):
    S, y = problem
    z = ref.two_class_logit(S)
    np.testing.assert_allclose(ref.sigmoid(z), ref.softmax(S)[:, 1], rtol=1e-9, atol=1e-300)
    loss_s, dS = ref.softmax_cross_entropy(S, y)
    loss_b, dz = ref.binary_cross_entropy(z, y)
    assert loss_s == pytest.approx(loss_b, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(dS[:, 1], dz, atol=1e-12)
    np.testing.assert_allclose(dS[:, 0], -dz, atol=1e-12)


# ---- squared error versus cross-entropy ----------------------------------------------------


@SETTINGS
@given(x=st.floats(-10, 10), y=st.sampled_from([0.0, 1.0]))
def test_logit_gradients_are_the_derivatives(x, y):
    g_bce, g_mse = ref.logit_gradients(x, y)
    h = 1e-5
    bce = lambda v: math.log1p(math.exp(v)) - y * v  # noqa: E731
    mse = lambda v: (literal_sigmoid(v) - y) ** 2  # noqa: E731
    assert g_bce == pytest.approx((bce(x + h) - bce(x - h)) / (2 * h), rel=1e-5, abs=1e-9)
    assert g_mse == pytest.approx((mse(x + h) - mse(x - h)) / (2 * h), rel=1e-5, abs=1e-9)


def test_logit_gradients_work_elementwise():
    x, y = np.array([[-8.0, 0.0], [3.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    g_bce, g_mse = ref.logit_gradients(x, y)
    assert g_bce.shape == g_mse.shape == (2, 2)
    assert g_bce[0, 1] == 0.5 and g_mse[0, 1] == 2 * 0.5 * 0.5 * 0.5


def test_saturation_ratio_and_concave_threshold():
    assert ref.saturation_ratio() == pytest.approx(1491.48, abs=0.01)
    assert round(ref.saturation_ratio()) == 1491
    x_star = ref.concave_threshold()
    assert x_star == -math.log(2)

    def second_derivative(x, h=1e-4):
        f = lambda v: (literal_sigmoid(v) - 1) ** 2  # noqa: E731
        return (f(x + h) - 2 * f(x) + f(x - h)) / h**2

    assert second_derivative(x_star - 0.01) < 0 < second_derivative(x_star + 0.01)
    # ... while BCE, whose second derivative is sigma(1 - sigma), stays convex.


def test_references_leave_their_inputs_alone():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    copies = [a.copy() for a in (X, y)]
    ref.softmax_cross_entropy(X, y)
    ref.binary_cross_entropy(X[:, 0], y.astype(float))
    ref.softmax(X)
    ref.sigmoid(X)
    for a, b in zip((X, y), copies, strict=True):
        np.testing.assert_array_equal(a, b)
