"""Hidden tests of the ``cross_entropy`` assignment, one function per graded item.

Each item calls the student's objects through :mod:`grader.checks`, returns None on success and
raises AssertionError with a teaching message otherwise. Inputs come from fixed-seed generators
(``_rng(k)`` seeds ``1000 + k``; each item uses its own ``k``), so a grade never depends on
chance.

Besides small, hand-checkable inputs and the edge cases, every values and gradient item tries
the sizes of real use (``BIG_N`` samples, more than any batch size an answer might assume, and
``BIG_C`` classes). The gradient items also try inputs whose gradient has tiny entries next to
a large loss (``_tiny_scores``, ``_tiny_logits``): the derived formula gets every entry to a
few rounding errors, while a gradient obtained by finite differences of the loss is off by
more than those entries, whatever its step (its error grows with the loss, not the entry).
Differences of each sample's own loss are off by more than a few rounding errors too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from grader import checks, reference

Func = Callable[..., object]

STABLE_SIGMOID = (
    "For large |z| never take exp of a large positive number: use exp(-|z|), which is at most 1, "
    "and pick the formula 1/(1+e^-z) or e^z/(1+e^z) by the sign of z."
)
SHIFT = "Subtract each row's maximum from S before exponentiating; softmax does not change."
LOG_DOMAIN = (
    "Work with logarithms: log(sigma(z)) = -softplus(-z) and log softmax(S) = "
    "S - max - log(sum(exp(S - max))) stay finite where sigma or softmax itself rounds to 0."
)
GRAD_HINT = "The gradient is of the MEAN loss: did you divide by N?"
DERIVED_HINT = (
    " Compute the gradient from the derived formula: some entries are about 1e-10, which a "
    "numerical gradient cannot resolve next to a large loss (it is for checking, not for "
    "answering)."
)
#: Sizes of real use: more samples than a batch of 2048, more classes than ImageNet's 1000.
BIG_N, BIG_C = 2100, 1001
#: Largest error of a softmax cross-entropy gradient entry relative to its magnitude (the sum
#: of the absolute values of the terms it is computed from). Thousands of times the rounding
#: error of any honest formula.
SCE_GRAD_RTOL = 1e-7
#: Largest error of a binary cross-entropy gradient entry, in rounding errors of its terms:
#: ``sigma(z)`` and ``t``, and 1 for a sigmoid computed from terms of about 1 (``1 + tanh``,
#: ``1 - sigma(-z)``: the least accurate honest formulas, off by about one rounding error of
#: 1). Every honest formula stays within a few of them. The gradient is elementwise, so a
#: difference quotient of each sample's own loss mixes no samples; its truncation and
#: cancellation errors alone give it away (``_tiny_logits``): at its best step, thousands of
#: times this tolerance for a central difference, hundreds for a five-point stencil.
BCE_GRAD_RTOL = 256 * float(np.finfo(np.float64).eps)


def _rng(k: int) -> np.random.Generator:
    return np.random.default_rng(1000 + k)


def _labels(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.integers(0, c, size=n)


def _scores(k: int, n: int, c: int, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(k)
    return scale * rng.standard_normal((n, c)), _labels(rng, n, c)


# ---- sigmoid -------------------------------------------------------------------------------

def sigmoid_values(sigmoid: Func) -> None:
    """``sigmoid`` agrees with ``1/(1+e^-z)`` for moderate logits."""
    fixed = [0.0, 1.0, -1.0, 2.5, -2.5, 10.0, -10.0]
    rng = _rng(1)
    for z in (np.concatenate([fixed, 4.0 * rng.standard_normal(25)]),
              4.0 * rng.standard_normal(BIG_N), 4.0 * rng.standard_normal((7, BIG_C))):
        got = checks.as_array(checks.call(sigmoid, z, name="sigmoid"), "sigmoid(z)", z.shape)
        checks.assert_close(
            got, reference.sigmoid(z), f"sigmoid(z) for z of shape {z.shape}",
            hint="sigma(z) = 1 / (1 + exp(-z)); note the minus sign (the seed's formula has a "
            "typo).",
        )
    # Next to 0 every formula is accurate to rounding error: a branch switched at a small
    # tolerance instead of at 0 shows.
    z = np.array([1e-9, -1e-9, 5e-9, -5e-9, 5e-7, -5e-7, 3e-4, -3e-4])
    got = checks.as_array(checks.call(sigmoid, z, name="sigmoid"), "sigmoid(z)", z.shape)
    checks.assert_close(got, reference.sigmoid(z), "sigmoid(z) for z next to 0", rtol=1e-12,
                        hint="Switch between the two stable formulas exactly at z = 0.")


def sigmoid_stable(sigmoid: Func) -> None:
    """``sigmoid`` is finite and correct for ``|z|`` up to 1e4."""
    big = np.array([1e4, 1000.0, 746.0, 710.0, 100.0, 40.0])
    z = np.concatenate([big, -big, _rng(2).uniform(-1e4, 1e4, 10)])
    got = checks.as_array(checks.call(sigmoid, z, name="sigmoid"), "sigmoid(z)", z.shape)
    checks.assert_close(
        got, reference.sigmoid(z), "sigmoid(z) for logits up to |z| = 1e4", hint=STABLE_SIGMOID
    )


def sigmoid_shapes(sigmoid: Func) -> None:
    """``sigmoid`` keeps the shape of 0-d, 1-d and 2-d inputs."""
    rng = _rng(3)
    for z in (np.array(0.3), rng.standard_normal(1), rng.standard_normal(7),
              rng.standard_normal((4, 3))):
        what = f"sigmoid(z) for z of shape {z.shape}"
        got = checks.as_array(checks.call(sigmoid, z, name="sigmoid"), what, z.shape)
        checks.assert_finite(got, what)


def sigmoid_untouched(sigmoid: Func) -> None:
    """``sigmoid`` does not modify its argument."""
    z = 5.0 * _rng(4).standard_normal(12)
    checks.assert_untouched(sigmoid, z, name="sigmoid", arg_names=["z"])


# ---- softmax -------------------------------------------------------------------------------

def _check_softmax(softmax: Func, S: np.ndarray, what: str, hint: str = "") -> None:
    got = checks.as_array(checks.call(softmax, S, name="softmax"), what, S.shape)
    checks.assert_close(got, reference.softmax(S), what, hint=hint)


def softmax_values(softmax: Func) -> None:
    """``softmax`` agrees with the definition for moderate scores."""
    for k, (n, c) in enumerate([(5, 3), (8, 6), (BIG_N, 3), (6, BIG_C), (1, 2)]):
        S, _ = _scores(10 + k if k < 2 else 60 + k, n, c)
        _check_softmax(softmax, S, f"softmax(S) for S of shape {S.shape}",
                       "Each ROW is normalised: sum over axis=1 with keepdims=True.")


def softmax_stable(softmax: Func) -> None:
    """``softmax`` is finite and correct for scores up to +-1e4."""
    S = np.vstack([
        [1e4, 1e4 - 1.0, -1e4, 0.0],
        [-1e4, -1e4, -1e4, -1e4],
        [1e4, 1e4, 1e4, 1e4 - 2.0],
        _rng(12).uniform(-1e4, 1e4, (5, 4)),
    ])
    _check_softmax(softmax, S, "softmax(S) for scores up to +-1e4", SHIFT)


def softmax_shapes(softmax: Func) -> None:
    """``softmax`` handles N=1, C=2 and a large C: shape (N, C), rows summing to 1."""
    for k, (n, c) in enumerate([(1, 5), (6, 2), (3, 1000)]):
        S, _ = _scores(15 + k, n, c)
        what = f"softmax(S) for S of shape {S.shape}"
        got = checks.as_array(checks.call(softmax, S, name="softmax"), what, S.shape)
        checks.assert_finite(got, what)
        checks.assert_close(got.sum(axis=1), np.ones(n), f"row sums of {what}", rtol=1e-9,
                            hint="Normalise along axis=1, keeping dims so it broadcasts.")


def softmax_untouched(softmax: Func) -> None:
    """``softmax`` does not modify its argument."""
    S, _ = _scores(19, 6, 4)
    checks.assert_untouched(softmax, S, name="softmax", arg_names=["S"])


# ---- binary cross-entropy ------------------------------------------------------------------

def _bce_case(k: int, n: int, soft: bool = False, scale: float = 3.0):
    rng = _rng(20 + k)
    z = scale * rng.standard_normal(n)
    t = rng.uniform(0, 1, n) if soft else rng.integers(0, 2, n).astype(np.float64)
    return z, t


BCE_CASES = [(1, False), (8, False), (20, True)]
BCE_SCALE_CASES = [(BIG_N, True), (BIG_N + 1, False)]


def _tiny_logits() -> tuple[np.ndarray, np.ndarray]:
    """Logits with ``sigma(z)`` about ``2e-9`` at ``t = 0`` next to confident mistakes (a loss
    of about 200; ``|z| <= 700`` leaves even an unstable sigmoid finite), then soft targets at
    large logits (a per-sample loss of hundreds, cancelled by a difference quotient) and at
    moderate ones (where the loss is curved, so a difference quotient is biased)."""
    rng = _rng(29)
    z = np.concatenate([-20.0 + rng.uniform(-1.0, 1.0, 10), rng.uniform(-3.0, 3.0, 10),
                        np.repeat([600.0, -600.0], 5)])
    t = np.concatenate([np.zeros(10), rng.uniform(0.0, 1.0, 10), np.repeat([0.0, 1.0], 5)])
    large = rng.choice([-1.0, 1.0], 40) * rng.uniform(300.0, 700.0, 40)
    z = np.concatenate([z, large, rng.uniform(-4.0, 4.0, 40)])
    return z, np.concatenate([t, rng.uniform(0.0, 1.0, 80)])
NAME_BCE = "binary_cross_entropy"


def _run_bce(bce: Func, z: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray, str]:
    what = f"{NAME_BCE}(z, t) with N={z.size}"
    return (*checks.loss_and_gradient(bce, (z, t), NAME_BCE, "dz", z.shape, what), what)


def bce_loss(binary_cross_entropy: Func) -> None:
    """The loss equals ``mean(softplus(z) - t z)`` (binary and soft targets)."""
    for z, t in _bce_problems()[:-1]:
        loss, _, what = _run_bce(binary_cross_entropy, z, t)
        checks.assert_close(loss, reference.binary_cross_entropy(z, t)[0], f"the loss of {what}",
                            hint="loss = mean(-t log sigma(z) - (1 - t) log(1 - sigma(z))).")


def bce_gradient(binary_cross_entropy: Func) -> None:
    """``dz`` matches the numerical gradient of the loss and ``(sigma(z) - t) / N``."""
    for k, (z, t) in enumerate(_bce_problems()):
        _, dz, what = _run_bce(binary_cross_entropy, z, t)
        if k < len(BCE_CASES):
            checks.assert_gradient(lambda v, t=t: reference.binary_cross_entropy(v, t)[0], z,
                                   dz, f"dz of {what}", hint=GRAD_HINT)
        checks.assert_close(dz, reference.binary_cross_entropy(z, t)[1], f"dz of {what}",
                            rtol=BCE_GRAD_RTOL, atol=BCE_GRAD_RTOL / z.size,
                            scale=(reference.sigmoid(z) + t) / z.size,
                            hint=GRAD_HINT + DERIVED_HINT)


def _bce_problems() -> list[tuple[np.ndarray, np.ndarray]]:
    """The inputs of the loss and gradient items; the last is for the gradient only."""
    cases = [(k, n, soft) for k, (n, soft) in enumerate(BCE_CASES)]
    cases += [(10 + k, n, soft) for k, (n, soft) in enumerate(BCE_SCALE_CASES)]
    return [_bce_case(k, n, soft) for k, n, soft in cases] + [_tiny_logits()]


def bce_stable(binary_cross_entropy: Func) -> None:
    """Loss and gradient are finite and correct for logits up to ``|z|`` = 1e4."""
    z = np.array([1e4, -1e4, 1e4, -1e4, 800.0, -800.0, 50.0, -50.0])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    loss, dz, what = _run_bce(binary_cross_entropy, z, t)
    ref_loss, ref_dz = reference.binary_cross_entropy(z, t)
    what = f"{what}, logits up to |z| = 1e4"
    checks.assert_close(loss, ref_loss, f"the loss of {what}", hint=LOG_DOMAIN)
    checks.assert_close(dz, ref_dz, f"dz of {what}", hint=STABLE_SIGMOID)


def bce_shapes(binary_cross_entropy: Func) -> None:
    """A single-number loss and ``dz`` of shape ``(N,)``, for N=1 and a larger N."""
    for k, n in enumerate([1, 50]):
        z, t = _bce_case(5 + k, n)
        loss, dz, what = _run_bce(binary_cross_entropy, z, t)
        checks.assert_finite(loss, f"the loss of {what}")
        checks.assert_finite(dz, f"dz of {what}")


def bce_untouched(binary_cross_entropy: Func) -> None:
    """``binary_cross_entropy`` does not modify ``z`` or ``t``."""
    z, t = _bce_case(8, 10)
    checks.assert_untouched(binary_cross_entropy, z, t, name=NAME_BCE, arg_names=["z", "t"])


# ---- softmax cross-entropy -----------------------------------------------------------------

SCE_CASES = [(1, 3), (6, 2), (10, 5), (30, 10)]
SCE_SCALE_CASES = [(BIG_N, 3), (7, BIG_C)]


def _tiny_scores() -> tuple[np.ndarray, np.ndarray]:
    """Scores whose last class has a probability of about ``1e-10`` and is never the label,
    next to confident mistakes (a loss of about 100)."""
    rng = _rng(39)
    S = rng.uniform(-2.0, 2.0, (40, 6))
    S[:, -1] = -21.0 + rng.uniform(-1.0, 1.0, 40)
    y = rng.integers(0, 5, 40)
    wrong = np.arange(0, 40, 4)
    S[wrong, y[wrong]] -= 400.0
    return S, y


def _sce_problems() -> list[tuple[np.ndarray, np.ndarray]]:
    """The inputs of the loss and gradient items; the last is for the gradient only."""
    cases = [(30 + k, n, c) for k, (n, c) in enumerate(SCE_CASES)]
    cases += [(70 + k, n, c) for k, (n, c) in enumerate(SCE_SCALE_CASES)]
    return [_scores(k, n, c) for k, n, c in cases] + [_tiny_scores()]
NAME_SCE = "softmax_cross_entropy"


def _run_sce(sce: Func, S: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, str]:
    what = f"{NAME_SCE}(S, y) with (N, C) = {S.shape}"
    return (*checks.loss_and_gradient(sce, (S, y), NAME_SCE, "dS", S.shape, what), what)


def sce_loss(softmax_cross_entropy: Func) -> None:
    """The loss equals ``mean(logsumexp(S_i) - S[i, y_i])``."""
    for S, y in _sce_problems()[:-1]:
        loss, _, what = _run_sce(softmax_cross_entropy, S, y)
        checks.assert_close(loss, reference.softmax_cross_entropy(S, y)[0], f"the loss of {what}",
                            hint="loss = mean over samples of -log softmax(S)[i, y_i].")


def sce_gradient(softmax_cross_entropy: Func) -> None:
    """``dS`` matches the numerical gradient and ``(softmax(S) - onehot(y)) / N``."""
    for k, (S, y) in enumerate(_sce_problems()):
        _, dS, what = _run_sce(softmax_cross_entropy, S, y)
        if k < len(SCE_CASES):
            checks.assert_gradient(lambda v, y=y: reference.softmax_cross_entropy(v, y)[0], S,
                                   dS, f"dS of {what}", hint=GRAD_HINT)
        scale = reference.softmax(S)
        scale[np.arange(len(y)), y] += 1.0
        checks.assert_close(dS, reference.softmax_cross_entropy(S, y)[1], f"dS of {what}",
                            rtol=SCE_GRAD_RTOL, atol=0.0, scale=scale / len(y),
                            hint="dS = (softmax(S) - onehot(y)) / N." + DERIVED_HINT)


def sce_stable(softmax_cross_entropy: Func) -> None:
    """Loss and gradient are finite and correct for scores up to +-1e4."""
    S = np.vstack([
        [1e4, 1e4 - 1.0, -1e4],
        [-1e4, -1e4, -1e4],
        [1e4, 0.0, -1e4],
        _rng(40).uniform(-1e4, 1e4, (5, 3)),
    ])
    y = np.array([1, 2, 0, 0, 1, 2, 0, 1])
    loss, dS, what = _run_sce(softmax_cross_entropy, S, y)
    ref_loss, ref_dS = reference.softmax_cross_entropy(S, y)
    what = f"{what}, scores up to +-1e4"
    checks.assert_close(loss, ref_loss, f"the loss of {what}", hint=LOG_DOMAIN)
    checks.assert_close(dS, ref_dS, f"dS of {what}", hint=SHIFT)


def sce_shapes(softmax_cross_entropy: Func) -> None:
    """A single-number loss and ``dS`` of shape ``(N, C)``, for N=1, C=2 and a large C."""
    for k, (n, c) in enumerate([(1, 4), (7, 2), (5, 1000)]):
        S, y = _scores(45 + k, n, c)
        loss, dS, what = _run_sce(softmax_cross_entropy, S, y)
        checks.assert_finite(loss, f"the loss of {what}")
        checks.assert_finite(dS, f"dS of {what}")


def sce_untouched(softmax_cross_entropy: Func) -> None:
    """``softmax_cross_entropy`` does not modify ``S`` or ``y``."""
    S, y = _scores(49, 6, 4)
    checks.assert_untouched(softmax_cross_entropy, S, y, name=NAME_SCE, arg_names=["S", "y"])


# ---- two classes ---------------------------------------------------------------------------

def two_class_logit(two_class_logit: Func) -> None:
    """``two_class_logit(S)`` is the logit z with ``sigma(z) == softmax(S)[:, 1]``."""
    for k, n in enumerate([1, 9, BIG_N]):
        S, _ = _scores(50 + k, n, 2)
        what = f"two_class_logit(S) for S of shape {S.shape}"
        got = checks.as_array(checks.call(two_class_logit, S, name="two_class_logit"), what, (n,))
        checks.assert_close(got, reference.two_class_logit(S), what,
                            hint="softmax of two scores depends only on S[:, 1] - S[:, 0].")


def reduction(softmax_cross_entropy: Func, binary_cross_entropy: Func,
              two_class_logit: Func) -> None:
    """For C=2 the softmax loss is the binary loss of the logit, and so are the gradients."""
    hint = "For C = 2, -log softmax(S)[y] = BCE(sigma(S[:,1] - S[:,0]), y); see quiz 1."
    for k, n in ((55, 9), (56, BIG_N)):
        S, y = _scores(k, n, 2)
        z = checks.as_array(checks.call(two_class_logit, S, name="two_class_logit"),
                            "two_class_logit(S)", (n,))
        sce_l, dS, _ = _run_sce(softmax_cross_entropy, S, y)
        bce_l, dz, _ = _run_bce(binary_cross_entropy, z, y.astype(np.float64))
        checks.assert_close(sce_l, bce_l, f"softmax_cross_entropy(S, y) compared with "
                            f"binary_cross_entropy(two_class_logit(S), y) for N={n}", hint=hint)
        checks.assert_close(dS[:, 1], dz, f"dS[:, 1] compared with dz for N={n}", hint=hint)
        checks.assert_close(dS[:, 0], -dz, f"dS[:, 0] compared with -dz for N={n}", hint=hint)


def affine_map(a: object, b: object) -> None:
    """``softmax(a x + b)[1] == sigma(x)`` for every scalar x (any such a, b is right)."""
    a = checks.as_array(a, "a", (2,))
    b = checks.as_array(b, "b", (2,))
    for x in (-8.0, -2.0, -0.5, 0.0, 0.7, 3.0, 9.0):
        got = reference.softmax((a * x + b)[None, :])[0, 1]
        checks.assert_close(
            got, reference.sigmoid(x), f"softmax(a*x + b)[1] at x = {x}", atol=1e-9,
            hint=f"With your a = {a.tolist()}, b = {b.tolist()}: softmax of two scores depends "
            "only on their difference (a1 - a0) x + (b1 - b0), which must equal x.",
        )


def _logit_gradients_by_value(logit_gradients: Func, x: float | np.ndarray,
                              y: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Compare both gradients with the reference at ``(x, y)``; return them and their name."""
    name = "logit_gradients"
    shape = np.shape(x)
    what = f"{name}(x, y) for x = {x}" if not shape else f"{name}(x, y) for arrays of {shape}"
    g_bce, g_mse = checks.unpack_pair(checks.call(logit_gradients, x, y, name=name), name,
                                      "g_bce", "g_mse")
    g_bce = checks.as_array(g_bce, f"g_bce of {what}", shape)
    g_mse = checks.as_array(g_mse, f"g_mse of {what}", shape)
    ref_bce, ref_mse = reference.logit_gradients(x, y)
    checks.assert_close(g_bce, ref_bce, f"g_bce of {what}", hint="d/dx BCE = sigma(x) - y.")
    checks.assert_close(g_mse, ref_mse, f"g_mse of {what}",
                        hint="Chain rule: d/dx (sigma - y)^2 = 2 (sigma - y) sigma'(x).")
    return g_bce, g_mse, what


def logit_gradients(logit_gradients: Func) -> None:
    """Both gradients by value (scalars and arrays) and by numerical differentiation."""
    rng = _rng(60)
    xs = np.concatenate([[-8.0, -0.5, 0.0, 2.0], 3.0 * rng.standard_normal(6)])
    ys = np.concatenate([[1.0, 0.0, 1.0, 0.0], rng.integers(0, 2, 6).astype(np.float64)])
    big_x, big_y = 4.0 * rng.standard_normal(BIG_N), rng.integers(0, 2, BIG_N).astype(np.float64)
    for x, y in zip(xs[:3], ys[:3], strict=True):
        _logit_gradients_by_value(logit_gradients, float(x), float(y))
    _logit_gradients_by_value(logit_gradients, big_x, big_y)
    # The small arrays are also checked against numerical derivatives of the two definitions.
    g_bce, g_mse, what = _logit_gradients_by_value(logit_gradients, xs, ys)

    def bce(v: np.ndarray) -> float:
        return float(np.sum(np.logaddexp(0.0, v) - ys * v))

    def mse(v: np.ndarray) -> float:
        return float(np.sum((reference.sigmoid(v) - ys) ** 2))

    checks.assert_gradient(bce, xs, g_bce, f"g_bce of {what}")
    checks.assert_gradient(mse, xs, g_mse, f"g_mse of {what}")


def saturation_ratio(saturation_ratio: object) -> None:
    """``|g_bce| / |g_mse|`` at ``y = 1, x = -8`` is about 1491."""
    got = checks.as_float(saturation_ratio, "saturation_ratio")
    checks.assert_close(got, reference.saturation_ratio(-8.0, 1.0), "saturation_ratio", rtol=2e-3,
                        hint="The ratio |g_bce| / |g_mse| = 1 / (2 sigma(x) (1 - sigma(x))) "
                        "at x = -8, y = 1.")


def concave_threshold(x_star: object) -> None:
    """``(sigma(x) - 1)^2`` is concave exactly for ``x < -ln 2``."""
    got = checks.as_float(x_star, "x_star")
    checks.assert_close(got, -math.log(2.0), "x_star", atol=1e-3, rtol=0.0,
                        hint="Set the second derivative of (sigma(x) - 1)^2 to zero; it changes "
                        "sign where sigma(x) = 1/3.")
