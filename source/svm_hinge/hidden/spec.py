"""Hidden tests of ``svm_hinge``: the spec of each function students write.

The problems are in :mod:`.problems` (fixed seeds, margins kept off the hinge's kink except
where a problem puts them next to it on purpose); the reference solutions in
:mod:`.reference`.
"""

from __future__ import annotations

import numpy as np

from grader.author import (
    Family,
    Gradient,
    LoopFree,
    Shapes,
    Spec,
    Speed,
    Tol,
    Untouched,
    Values,
    case,
)

from . import reference as ref
from .problems import (
    CASES,
    GRAD_RTOL,
    KINK_CASES,
    LARGE,
    SCALE_CASES,
    SHAPE_CASES,
    SMALL,
    SOFTMAX_GRAD_RTOL,
    SOFTMAX_SCALE_CASES,
    SPEED,
    UNLIKELY_CASES,
    kink_problem,
    problem,
    softmax_dW_scale,
    svm_dW_scale,
    unlikely_class_problem,
)

SVM_HINT = (
    "For each sample, every class j != y_i with margin s_j - s_{y_i} + 1 > 0 adds x_i to "
    "column j of dW and subtracts x_i from column y_i; then divide by N and add 2 reg W."
)
SOFTMAX_HINT = "dW = X.T (P - Y) / N + 2 reg W, with P = softmax(X W) and Y one-hot labels."
DERIVED_HINT = (
    " dW must be the derived formula, computed exactly: some margins are within 1e-10 of 0 "
    "and some probabilities are about 1e-10, so count a margin when it is > 0, with no "
    "tolerance; a numerical gradient is only accurate enough to check dW, not to be it."
)
STABLE_HINT = (
    "Subtract each row's maximum score before exponentiating, and compute the loss from "
    "log-probabilities S - max - log(sum(exp(S - max))) rather than log(softmax), "
    "which rounds to log(0) for a very unlikely true class."
)
HINGE_LOSS = ("loss = (1/N) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) "
              "+ reg * sum(W**2).")


def describe(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> str:
    return f"(N={X.shape[0]}, D={X.shape[1]}, C={W.shape[1]}, reg={reg:g})"


def _regular(scale_cases: list) -> list:
    return [problem(*c) for c in CASES + scale_cases]


def _kinks() -> list:
    return [kink_problem(*c) for c in KINK_CASES]


def values(hint: str, scale_cases: list = SCALE_CASES) -> Values:
    """The loss at every size, and near the kink."""
    return Values(lambda: _regular(scale_cases) + _kinks(), hint=hint)


def gradient(hint: str, scale_cases: list = SCALE_CASES, extra=list, scale=svm_dW_scale,
             rtol: float = GRAD_RTOL) -> Gradient:
    """``dW`` checked numerically and entry by entry; near the kink (and on the extra
    problems) entry by entry only, where only the derived formula is exact."""
    return Gradient(numeric=lambda: _regular(scale_cases), exact=lambda: _kinks() + extra(),
                    rtol=rtol, scale=scale, hint=hint, derived_hint=DERIVED_HINT)


STANDARD = dict(gradients={"dW": "W"}, describe=describe,
                shapes=Shapes(lambda: [problem(*c) for c in SHAPE_CASES]),
                untouched=Untouched(lambda: problem(*CASES[4])))
VECTORIZED = dict(loop_free=LoopFree(small=Family(lambda k: problem(*SMALL, seed=k)),
                                     large=Family(lambda k: problem(*LARGE, seed=k))),
                  speed=Speed(Family(lambda k: problem(*SPEED, seed=k))))


def _large_scores() -> list:
    found = []
    for c in [(12, 4, 5, 2000.0, 1.0, 0.0), (6, 3, 3, 3000.0, 1.0, 1e-6)]:
        W, X, y, reg = problem(*c)
        found.append(case(W, X, y, reg, note=f"scores up to {np.abs(X @ W).max():.0f}"))
    return found


spec = Spec()

spec.function("svm_loss_naive(W, X, y, reg) -> (loss, dW)", reference=ref.svm_loss,
              loss=values(HINGE_LOSS), gradient=gradient(SVM_HINT), **STANDARD)

spec.function("svm_loss_vectorized(W, X, y, reg) -> (loss, dW)", reference=ref.svm_loss,
              loss=values("Same value as svm_loss_naive: mask the y_i column out of the "
                          "margins."),
              gradient=gradient(SVM_HINT), **STANDARD, **VECTORIZED)

spec.function(
    "softmax_loss_vectorized(W, X, y, reg) -> (loss, dW)", reference=ref.softmax_loss,
    loss=values("loss = mean over samples of -log softmax(X W)[i, y_i], plus "
                "reg * sum(W**2).", SOFTMAX_SCALE_CASES),
    gradient=gradient(SOFTMAX_HINT, SOFTMAX_SCALE_CASES,
                      lambda: [unlikely_class_problem(*c) for c in UNLIKELY_CASES],
                      softmax_dW_scale, SOFTMAX_GRAD_RTOL),
    stable=Values(_large_scores, outputs="all", hint=STABLE_HINT,
                  tol={"loss": Tol(), "dW": Tol(rtol=1e-6, atol=0.0, relative_atol=1e-10)}),
    **STANDARD, **VECTORIZED)
