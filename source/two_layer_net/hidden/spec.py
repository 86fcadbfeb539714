"""Hidden tests of ``two_layer_net``: the spec of each function students write.

Problems are in :mod:`.problems` (pre-activations kept off the ReLU's kink, a dead unit, the
sizes of real use, an input whose gradients have tiny entries); reference solutions in
:mod:`.reference`.
"""

from __future__ import annotations

import numpy as np

from grader.author import (
    BY_KEY,
    Family,
    Finite,
    Gradient,
    Inputs,
    LoopFree,
    Shapes,
    Spec,
    Speed,
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
    SPEED,
    describe,
    describe_forward,
    gradient_scale,
    kink_problem,
    large_scores,
    net,
    tiny_problem,
)

MASK_HINT = ("Backpropagate through the ReLU: dA = dHid * (A > 0), with A = X W1 + b1 the "
             "pre-activations; a unit that is off passes no gradient back.")
OUTPUT_HINT = ("With dS = (softmax(S) - onehot(y)) / N: dW2 = Hid.T dS + 2 reg W2 and "
               "db2 = dS summed over the samples (axis 0).")
HIDDEN_HINT = ("dHid = dS W2.T, dA = dHid * (A > 0), then dW1 = X.T dA + 2 reg W1 and db1 = dA "
               "summed over the samples (axis 0). " + MASK_HINT.split(";")[0] + ".")
DERIVED_HINT = (" Compute the gradients from the chain rule, exactly: some entries are about "
                "1e-14, which a numerical gradient cannot resolve next to a large loss, and "
                "some pre-activations are within 1e-10 of 0, so take the ReLU's mask as A > 0, "
                "with no tolerance (a numerical gradient is for checking, not for answering).")
STABLE_HINT = ("Subtract each row's maximum score before exponentiating, and compute the loss "
               "from log-probabilities S - max - log(sum(exp(S - max))).")


def _nets(cases: list) -> list:
    return [net(*c) for c in cases]


def _large() -> list:
    return [case(*large_scores(*c), note="scores up to about 1e4")
            for c in [(12, 4, 6, 5, 0.0), (6, 3, 5, 3, 1e-6)]]


def _kinks() -> list:
    return [kink_problem(*c) for c in KINK_CASES]


def _forward_args(problem: tuple) -> tuple:
    X, _, W1, b1, W2, b2, _ = problem
    return X, W1, b1, W2, b2


spec = Spec()

spec.function(
    "relu(x) -> h", reference=ref.relu,
    values=Values(lambda: [(np.array(-0.5),), (np.linspace(-3.0, 3.0, 13),),
                           (np.random.default_rng(1).standard_normal((2100, 40)),),
                           (np.array([[1e-300, -1e-300], [1e300, -1e300]]),)],
                  hint="relu(x) = max(0, x) elementwise: np.maximum(x, 0), not max(x)."),
    untouched=Untouched(lambda: (np.random.default_rng(2).standard_normal((6, 5)),)),
)

spec.function(
    "two_layer_forward(X, W1, b1, W2, b2) -> S", reference=ref.two_layer_forward,
    describe=describe_forward,
    values=Values(lambda: [_forward_args(p) for p in _nets(CASES + SCALE_CASES)],
                  hint="S = relu(X W1 + b1) W2 + b2: the bias of each layer is added to "
                  "every row."),
    shapes=Shapes(lambda: [_forward_args(p) for p in _nets(SHAPE_CASES)]),
    untouched=Untouched(lambda: _forward_args(net(*CASES[3]))),
)

spec.function(
    "two_layer_loss(X, y, W1, b1, W2, b2, reg) -> (loss, grads)",
    reference=ref.two_layer_loss, gradients={"grads": BY_KEY}, describe=describe,
    loss=Values(lambda: _nets(CASES + SCALE_CASES) + _kinks(),
                hint="loss = mean over samples of -log softmax(S)[i, y_i], plus "
                "reg * (sum(W1**2) + sum(W2**2)) (the biases are not regularised)."),
    gradient_output=Gradient(numeric=lambda: _nets(CASES + SCALE_CASES),
                             exact=lambda: [tiny_problem(), *_kinks()], wrt=("W2", "b2"),
                             rtol=GRAD_RTOL, scale=gradient_scale, hint=OUTPUT_HINT,
                             derived_hint=DERIVED_HINT),
    gradient_hidden=Gradient(numeric=lambda: _nets(CASES + SCALE_CASES),
                             exact=lambda: [tiny_problem(), *_kinks()], wrt=("W1", "b1"),
                             rtol=GRAD_RTOL, scale=gradient_scale, hint=HIDDEN_HINT,
                             derived_hint=DERIVED_HINT),
    # at large scores: the loss right, every gradient finite (whether right, and of the right
    # shape, is the business of the gradient and shapes items)
    stable=Values(_large, hint=STABLE_HINT) & Finite(_large),
    shapes=Shapes(lambda: _nets(SHAPE_CASES)),
    untouched=Untouched(lambda: net(*CASES[3])),
    loop_free=LoopFree(small=Family(lambda k: net(*SMALL, seed=k)),
                       large=Family(lambda k: net(*LARGE, seed=k))),
    speed=Speed(Family(lambda k: net(*SPEED, seed=k))),
)

DEAD = Inputs(X="N D", W1="D H", b1="H")


def _with_dead_units(sizes: dict, seed: int) -> tuple:
    """A batch where every third hidden unit is off for every sample, the others mixed."""
    X, W1, b1 = (np.array(a) for a in DEAD.draw(sizes, seed).args)
    b1[::3] = -(np.abs(X) @ np.abs(W1)).max(axis=0)[::3] - 1.0
    return X, W1, b1


spec.function(
    "dead_units(X, W1, b1) -> dead", reference=ref.dead_units,
    values=Values(lambda: [_with_dead_units(s, k) for k, s in enumerate(
        [dict(N=1, D=2, H=4), dict(N=10, D=4, H=9), dict(N=2100, D=5, H=7),
         dict(N=8, D=3100, H=6), dict(N=30, D=4, H=300)])],
                  hint="A unit is dead when its pre-activation X W1 + b1 is <= 0 for every "
                  "sample: np.all(A <= 0, axis=0), one value per hidden unit."),
)
