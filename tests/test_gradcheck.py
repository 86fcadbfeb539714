"""Gradient checking: exact on known functions, passes right gradients, localises wrong ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grader import gradcheck as gc
from grader.hidden import load_folder

# correct losses to check the checks with: the course's own reference solutions
ref = load_folder(Path(__file__).resolve().parents[1] / "source" / "svm_hinge" / "hidden").module(
    "reference")


def quadratic(x: np.ndarray) -> float:
    return float(np.sum(x**2) + 3 * x.flat[0])


def quadratic_grad(x: np.ndarray) -> np.ndarray:
    g = 2 * x
    g.flat[0] += 3
    return g


def test_numeric_gradient_of_a_quadratic_is_exact_and_leaves_x_alone():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    np.testing.assert_allclose(gc.numeric_gradient(quadratic, x), quadratic_grad(x), atol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numeric_gradient_works_on_integer_input_in_float64():
    x = np.array([1, 2, 3])
    np.testing.assert_allclose(gc.numeric_gradient(lambda v: float(np.sum(v**3)), x),
                               3.0 * x**2, rtol=1e-8)


def test_rel_error_is_symmetric_bounded_and_sane_near_zero():
    a, b = np.array([1.0, 0.0, 1e-12, -2.0]), np.array([1.0, 0.0, 0.0, 2.0])
    e = gc.rel_error(a, b)
    np.testing.assert_array_equal(e, gc.rel_error(b, a))
    assert e[0] == 0 and e[1] == 0  # 0/0 is no error
    assert e[2] == pytest.approx(1e-4)  # below the floor: absolute error / floor
    assert e[3] == 1.0
    assert np.isnan(gc.rel_error(np.nan, 1.0))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), c=st.integers(2, 6),
       scale=st.sampled_from([1e-3, 0.3, 1.0]), reg=st.sampled_from([0.0, 0.5]),
       seed=st.integers(0, 2**32 - 1))
def test_right_gradients_pass(n, d, c, scale, reg, seed):
    rng = np.random.default_rng(seed)
    W, X, y = scale * rng.standard_normal((d, c)), rng.standard_normal((n, d)), \
        rng.integers(0, c, n)
    _, dW = ref.softmax_loss(W, X, y, reg)
    # A relative check needs a gradient well above the loss's rounding noise (eps |S| / h);
    # a saturated classifier (every probability near 0 or 1) is outside its range.
    assume(np.abs(dW).max() > 1e-3)
    f = lambda w: ref.softmax_loss(w, X, y, reg)[0]  # noqa: E731
    assert gc.check_gradient(f, W, dW).passed(1e-5)
    assert gc.check_directional(f, W, dW).passed(1e-5)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), c=st.integers(2, 6),
       seed=st.integers(0, 2**32 - 1), delta=st.sampled_from([1e-3, 0.1, -1.0]))
def test_one_wrong_entry_is_found(n, d, c, seed, delta):
    rng = np.random.default_rng(seed)
    W, X, y = rng.standard_normal((d, c)), rng.standard_normal((n, d)), rng.integers(0, c, n)
    _, dW = ref.softmax_loss(W, X, y, 0.1)
    wrong = dW.copy()
    at = (int(rng.integers(d)), int(rng.integers(c)))
    wrong[at] += delta * max(1.0, abs(dW[at]))
    f = lambda w: ref.softmax_loss(w, X, y, 0.1)[0]  # noqa: E731
    result = gc.check_gradient(f, W, wrong)
    assert not result.passed(1e-5)
    assert result.index == at
    assert result.analytic == wrong[at]
    assert result.numeric == pytest.approx(dW[at], rel=1e-6, abs=1e-9)
    assert f"[{at[0]}, {at[1]}]" in result.describe()


@pytest.mark.parametrize("mistake", [lambda g: -g, lambda g: 2 * g, lambda g: g.T.reshape(g.shape),
                                     lambda g: g + 1e-3 * np.abs(g).max()])
def test_directional_check_catches_wrong_gradients_of_large_inputs(mistake):
    rng = np.random.default_rng(5)
    W, X, y = rng.standard_normal((40, 20)), rng.standard_normal((30, 40)), rng.integers(0, 20, 30)
    _, dW = ref.softmax_loss(W, X, y, 0.01)
    f = lambda w: ref.softmax_loss(w, X, y, 0.01)[0]  # noqa: E731
    assert gc.check_directional(f, W, dW).passed(1e-5)
    result = gc.gradient_check(f, W, mistake(dW))
    assert result.directional and not result.passed(1e-5)
    assert "direction" in result.describe()


def test_gradient_check_chooses_full_or_directional_by_size():
    x = np.ones(5)
    assert not gc.gradient_check(quadratic, x, quadratic_grad(x)).directional
    x = np.ones(500)
    result = gc.gradient_check(quadratic, x, quadratic_grad(x))
    assert result.directional and result.passed(1e-8)


def test_nan_or_shape_errors_never_pass():
    x = np.ones(4)
    g = quadratic_grad(x)
    g[2] = np.nan
    result = gc.check_gradient(quadratic, x, g)
    assert not result.passed() and result.index == (2,)
    assert not gc.check_directional(quadratic, x, g).passed()
    with pytest.raises(ValueError, match="shape"):
        gc.check_gradient(quadratic, x, np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        gc.check_directional(quadratic, x, np.ones((4, 1)))


def test_tiny_entries_are_judged_against_the_gradient_scale():
    # Central differences resolve d/dx1 = 1e-9 only to about eps * |f| / h = 2e-10; compared
    # with the largest entry (2) that is negligible, and must not fail a right gradient.
    def f(x: np.ndarray) -> float:
        return float(10.0 + x[0] ** 2 + 1e-9 * x[1])

    x, right = np.array([1.0, 0.5]), np.array([2.0, 1e-9])
    numeric = gc.numeric_gradient(f, x)
    assert gc.rel_error(right[1], numeric[1]) > 1e-3  # hopeless entry by entry
    assert gc.check_gradient(f, x, right).passed(1e-5)
    assert not gc.check_gradient(f, x, np.array([2.0, 1e-3])).passed(1e-5)
