"""Hidden tests of ``cross_entropy``: the spec of each function, and the items written by hand.

Inputs come from fixed-seed generators (``_rng(k)`` seeds ``1000 + k``; each item uses its own
``k``), so a grade never depends on chance. Besides small, hand-checkable inputs and the edge
cases, every values and gradient item tries the sizes of real use (``BIG_N`` samples, more
than any batch size an answer might assume, and ``BIG_C`` classes). The gradient items also
try inputs whose gradient has tiny entries next to a large loss (``_tiny_scores``,
``_tiny_logits``): the derived formula gets every entry to a few rounding errors, while a
gradient obtained by finite differences of the loss is off by more than those entries,
whatever its step. Differences of each sample's own loss are off by more than a few rounding
errors too.
"""

from __future__ import annotations

import math

import numpy as np

from grader import checks
from grader.author import Gradient, Shapes, Spec, Tol, Untouched, Values, case

from . import reference as ref

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


# ---- inputs --------------------------------------------------------------------------------

def _rng(k: int) -> np.random.Generator:
    return np.random.default_rng(1000 + k)


def _scores(k: int, n: int, c: int, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(k)
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def _sigmoid_values() -> list:
    rng = _rng(1)
    fixed = [0.0, 1.0, -1.0, 2.5, -2.5, 10.0, -10.0]
    return [(np.concatenate([fixed, 4.0 * rng.standard_normal(25)]),),
            (4.0 * rng.standard_normal(BIG_N),), (4.0 * rng.standard_normal((7, BIG_C)),)]


def _sigmoid_shapes() -> list:
    rng = _rng(3)
    return [(np.array(0.3),), (rng.standard_normal(1),), (rng.standard_normal(7),),
            (rng.standard_normal((4, 3)),)]


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


def _bce_regular() -> list:
    return [_bce_case(k, n, soft) for k, (n, soft) in enumerate(BCE_CASES)]


def _bce_scale() -> list:
    return [_bce_case(10 + k, n, soft) for k, (n, soft) in enumerate(BCE_SCALE_CASES)]


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


def _sce_regular() -> list:
    return [_scores(30 + k, n, c) for k, (n, c) in enumerate(SCE_CASES)]


def _sce_scale() -> list:
    return [_scores(70 + k, n, c) for k, (n, c) in enumerate(SCE_SCALE_CASES)]


def _bce_scale_of(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Magnitude of each ``dz`` entry: its terms ``sigma(z)`` and ``t``, over N."""
    return (ref.sigmoid(z) + t) / z.size


def _sce_scale_of(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Magnitude of each ``dS`` entry: ``(softmax(S) + onehot(y)) / N``."""
    scale = ref.softmax(S)
    scale[np.arange(len(y)), y] += 1.0
    return scale / len(y)


def _rows_sum_to_one(got: dict, case, what: str) -> None:
    P = got[next(iter(got))]
    checks.assert_close(P.sum(axis=1), np.ones(P.shape[0]), f"row sums of {what}", rtol=1e-9,
                        hint="Normalise along axis=1, keeping dims so it broadcasts.")


# ---- the functions -------------------------------------------------------------------------

spec = Spec()

spec.function(
    "sigmoid(z) -> s", reference=ref.sigmoid,
    values=Values(_sigmoid_values, hint="sigma(z) = 1 / (1 + exp(-z)); note the minus sign "
                  "(the seed's formula has a typo).")
    # Next to 0 every formula is accurate to rounding error: a branch switched at a small
    # tolerance instead of at 0 shows.
    & Values([case(np.array([1e-9, -1e-9, 5e-9, -5e-9, 5e-7, -5e-7, 3e-4, -3e-4]),
                   note="z next to 0")],
             tol=Tol(rtol=1e-12),
             hint="Switch between the two stable formulas exactly at z = 0."),
    stable=Values(lambda: [case(np.concatenate([
        big := np.array([1e4, 1000.0, 746.0, 710.0, 100.0, 40.0]), -big,
        _rng(2).uniform(-1e4, 1e4, 10)]), note="logits up to |z| = 1e4")], hint=STABLE_SIGMOID),
    shapes=Shapes(_sigmoid_shapes),
    untouched=Untouched(lambda: (5.0 * _rng(4).standard_normal(12),)),
)

spec.function(
    "softmax(S) -> P", reference=ref.softmax,
    values=Values(lambda: [_scores(10 + k if k < 2 else 60 + k, n, c)[:1] for k, (n, c)
                           in enumerate([(5, 3), (8, 6), (BIG_N, 3), (6, BIG_C), (1, 2)])],
                  hint="Each ROW is normalised: sum over axis=1 with keepdims=True."),
    stable=Values(lambda: [case(np.vstack([
        [1e4, 1e4 - 1.0, -1e4, 0.0], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, 1e4, 1e4 - 2.0],
        _rng(12).uniform(-1e4, 1e4, (5, 4))]), note="scores up to +-1e4")], hint=SHIFT),
    shapes=Shapes(lambda: [_scores(15 + k, n, c)[:1]
                           for k, (n, c) in enumerate([(1, 5), (6, 2), (3, 1000)])],
                  extra=_rows_sum_to_one),
    untouched=Untouched(lambda: _scores(19, 6, 4)[:1]),
)

BCE = spec.function(
    "binary_cross_entropy(z, t) -> (loss, dz)", reference=ref.binary_cross_entropy,
    gradients={"dz": "z"}, describe=lambda z, t: f"with N={z.size}",
    loss=Values(lambda: _bce_regular() + _bce_scale(),
                hint="loss = mean(-t log sigma(z) - (1 - t) log(1 - sigma(z))."),
    gradient=Gradient(numeric=_bce_regular, exact=lambda: _bce_scale() + [_tiny_logits()],
                      rtol=BCE_GRAD_RTOL, atol=lambda z, t: BCE_GRAD_RTOL / z.size,
                      scale=_bce_scale_of, hint=GRAD_HINT, derived_hint=DERIVED_HINT),
    stable=Values([case(np.array([1e4, -1e4, 1e4, -1e4, 800.0, -800.0, 50.0, -50.0]),
                        np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]),
                        note="logits up to |z| = 1e4")],
                  outputs="all", hint={"loss": LOG_DOMAIN, "dz": STABLE_SIGMOID}),
    shapes=Shapes(lambda: [_bce_case(5 + k, n) for k, n in enumerate([1, 50])]),
    untouched=Untouched(lambda: _bce_case(8, 10)),
)

SCE = spec.function(
    "softmax_cross_entropy(S, y) -> (loss, dS)", reference=ref.softmax_cross_entropy,
    gradients={"dS": "S"}, describe=lambda S, y: f"with (N, C) = {S.shape}",
    loss=Values(lambda: _sce_regular() + _sce_scale(),
                hint="loss = mean over samples of -log softmax(S)[i, y_i]."),
    gradient=Gradient(numeric=_sce_regular, exact=lambda: _sce_scale() + [_tiny_scores()],
                      rtol=SCE_GRAD_RTOL, scale=_sce_scale_of, hint=GRAD_HINT,
                      derived_hint=" dS = (softmax(S) - onehot(y)) / N." + DERIVED_HINT),
    stable=Values([case(np.vstack([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4],
                                   [1e4, 0.0, -1e4], _rng(40).uniform(-1e4, 1e4, (5, 3))]),
                        np.array([1, 2, 0, 0, 1, 2, 0, 1]), note="scores up to +-1e4")],
                  outputs="all", hint={"loss": LOG_DOMAIN, "dS": SHIFT}),
    shapes=Shapes(lambda: [_scores(45 + k, n, c)
                           for k, (n, c) in enumerate([(1, 4), (7, 2), (5, 1000)])]),
    untouched=Untouched(lambda: _scores(49, 6, 4)),
)

TWO_CLASS = spec.function(
    "two_class_logit(S) -> z", reference=ref.two_class_logit,
    values=Values(lambda: [_scores(50 + k, n, 2)[:1] for k, n in enumerate([1, 9, BIG_N])],
                  hint="softmax of two scores depends only on S[:, 1] - S[:, 0]."),
)


# ---- items a spec cannot say ---------------------------------------------------------------

@spec.item
def reduction(softmax_cross_entropy, binary_cross_entropy, two_class_logit) -> None:
    """For C=2 the softmax loss is the binary loss of the logit, and so are the gradients."""
    hint = "For C = 2, -log softmax(S)[y] = BCE(sigma(S[:,1] - S[:,0]), y); see quiz 1."
    for k, n in ((55, 9), (56, BIG_N)):
        S, y = _scores(k, n, 2)
        z = TWO_CLASS.answer(two_class_logit, case(S))["z"]
        sce = SCE.answer(softmax_cross_entropy, case(S, y))
        bce = BCE.answer(binary_cross_entropy, case(z, y.astype(np.float64)))
        checks.assert_close(sce["loss"], bce["loss"], f"softmax_cross_entropy(S, y) compared "
                            f"with binary_cross_entropy(two_class_logit(S), y) for N={n}",
                            hint=hint)
        checks.assert_close(sce["dS"][:, 1], bce["dz"], f"dS[:, 1] compared with dz for N={n}",
                            hint=hint)
        checks.assert_close(sce["dS"][:, 0], -bce["dz"],
                            f"dS[:, 0] compared with -dz for N={n}", hint=hint)


@spec.item
def affine_map(a, b) -> None:
    """``softmax(a x + b)[1] == sigma(x)`` for every scalar x (any such a, b is right)."""
    a = checks.as_array(a, "a", (2,))
    b = checks.as_array(b, "b", (2,))
    for x in (-8.0, -2.0, -0.5, 0.0, 0.7, 3.0, 9.0):
        got = ref.softmax((a * x + b)[None, :])[0, 1]
        checks.assert_close(
            got, ref.sigmoid(x), f"softmax(a*x + b)[1] at x = {x}", atol=1e-9,
            hint=f"With your a = {a.tolist()}, b = {b.tolist()}: softmax of two scores depends "
            "only on their difference (a1 - a0) x + (b1 - b0), which must equal x.",
        )


def _logit_gradients_by_value(logit_gradients, x, y) -> tuple[np.ndarray, np.ndarray, str]:
    """Compare both gradients with the reference at ``(x, y)``; return them and their name."""
    name = "logit_gradients"
    shape = np.shape(x)
    what = f"{name}(x, y) for x = {x}" if not shape else f"{name}(x, y) for arrays of {shape}"
    g_bce, g_mse = checks.unpack_pair(checks.call(logit_gradients, x, y, name=name), name,
                                      "g_bce", "g_mse")
    g_bce = checks.as_array(g_bce, f"g_bce of {what}", shape)
    g_mse = checks.as_array(g_mse, f"g_mse of {what}", shape)
    ref_bce, ref_mse = ref.logit_gradients(x, y)
    checks.assert_close(g_bce, ref_bce, f"g_bce of {what}", hint="d/dx BCE = sigma(x) - y.")
    checks.assert_close(g_mse, ref_mse, f"g_mse of {what}",
                        hint="Chain rule: d/dx (sigma - y)^2 = 2 (sigma - y) sigma'(x).")
    return g_bce, g_mse, what


@spec.item
def logit_gradients(logit_gradients) -> None:
    """Both gradients by value (scalars and arrays) and by numerical differentiation of the
    two losses they are the derivatives of (not outputs of the function itself)."""
    rng = _rng(60)
    xs = np.concatenate([[-8.0, -0.5, 0.0, 2.0], 3.0 * rng.standard_normal(6)])
    ys = np.concatenate([[1.0, 0.0, 1.0, 0.0], rng.integers(0, 2, 6).astype(np.float64)])
    big_x, big_y = 4.0 * rng.standard_normal(BIG_N), rng.integers(0, 2, BIG_N).astype(np.float64)
    for x, y in zip(xs[:3], ys[:3], strict=True):
        _logit_gradients_by_value(logit_gradients, float(x), float(y))
    _logit_gradients_by_value(logit_gradients, big_x, big_y)
    g_bce, g_mse, what = _logit_gradients_by_value(logit_gradients, xs, ys)

    def bce(v: np.ndarray) -> float:
        return float(np.sum(np.logaddexp(0.0, v) - ys * v))

    def mse(v: np.ndarray) -> float:
        return float(np.sum((ref.sigmoid(v) - ys) ** 2))

    checks.assert_gradient(bce, xs, g_bce, f"g_bce of {what}")
    checks.assert_gradient(mse, xs, g_mse, f"g_mse of {what}")


spec.value("saturation_ratio", ref.saturation_ratio(-8.0, 1.0), rtol=2e-3,
           hint="The ratio |g_bce| / |g_mse| = 1 / (2 sigma(x) (1 - sigma(x))) at x = -8, y = 1.")
spec.value("x_star", -math.log(2.0), atol=1e-3, rtol=0.0,
           hint="Set the second derivative of (sigma(x) - 1)^2 to zero; it changes sign where "
           "sigma(x) = 1/3.")
