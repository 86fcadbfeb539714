"""Inputs of the ``two_layer_net`` hidden tests: fixed-seed networks and batches.

A problem is ``(X, y, W1, b1, W2, b2, reg)`` from ``net(N, D, H, C, w_scale, reg, seed)``; the
seed of its generator is ``[seed, N, D, H, C]``, so the same submission always gets the same
score. Every pre-activation ``X W1 + b1`` stays ``MIN_PRE`` away from 0 (samples that come
closer are drawn again): the derivative of ``relu`` at 0 never decides a grade, and a numerical
gradient never straddles the kink. Networks of five or more hidden units have their last unit
dead for the whole batch, as training leaves some.

* ``CASES``: small sizes and the edge cases (``N = 1``, ``C = 2``, ``reg = 0``);
* ``SCALE_CASES``: the sizes of real use, past any size an answer might assume (a batch of
  2048, CIFAR's 3073 features, ImageNet's 1000 classes, hundreds of hidden units);
* ``tiny_problem``: large scores (a loss of about 20), an all but impossible last class and a
  hidden unit whose outgoing weights are about 1e-9: some entries of every gradient are tiny,
  which the derived formula gets to rounding error and no finite difference of the loss can.
"""

from __future__ import annotations

import functools

import numpy as np

Problem = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]

MIN_PRE = 1e-3

#: (N, D, H, C, scale of the weights, reg)
CASES = [
    (1, 3, 4, 2, 0.5, 0.0),
    (1, 4, 5, 5, 0.5, 0.1),
    (6, 3, 5, 2, 0.8, 0.0),
    (20, 6, 10, 4, 0.5, 0.05),
    (40, 10, 16, 10, 0.3, 1.0),
    (60, 20, 30, 10, 0.2, 0.01),  # 600 weights in W1: checked along random directions
]
SCALE_CASES = [
    (2100, 6, 12, 3, 0.5, 0.01),
    (9, 3100, 10, 3, 0.02, 0.001),
    (7, 6, 20, 1001, 0.5, 1e-4),
    (30, 5, 300, 5, 0.3, 0.01),
]
SHAPE_CASES = [(1, 1, 1, 2, 0.5, 0.0), (1, 3, 7, 2, 0.5, 0.1), (30, 4, 2, 6, 0.5, 0.0)]
SMALL, LARGE = (4, 3, 5, 3, 0.5, 0.1), (64, 8, 16, 16, 0.5, 0.1)
SPEED = (4000, 8, 16, 5, 0.5, 0.1)

#: Largest error of a gradient entry relative to its magnitude (what its terms add up to in
#: absolute value): a hundred thousand times the rounding of any honest formula.
GRAD_RTOL = 1e-7


def _frozen(make):
    """Each problem made once per process (they are deterministic) and read-only."""
    @functools.lru_cache(maxsize=64)
    def cached(*args):
        made = make(*args)
        for part in made:
            if isinstance(part, np.ndarray):
                part.setflags(write=False)
        return made

    @functools.wraps(make)
    def frozen(*args, seed: int = 0):
        return cached(*args, seed)

    return frozen


@_frozen
def net(n: int, d: int, h: int, c: int, w_scale: float, reg: float, seed: int = 0) -> Problem:
    """A fixed-seed batch and network whose pre-activations all stay ``MIN_PRE`` off 0."""
    rng = np.random.default_rng([seed, n, d, h, c])
    W1 = w_scale * rng.standard_normal((d, h)) / max(1.0, np.sqrt(d) / 3)
    b1 = 0.1 * rng.standard_normal(h)
    if h >= 5:
        b1[-1] = -50.0  # a unit dead for the whole batch
    W2 = w_scale * rng.standard_normal((h, c))
    b2 = 0.1 * rng.standard_normal(c)
    X = rng.standard_normal((n, d))
    for _ in range(100):
        near = (np.abs(X @ W1 + b1) < MIN_PRE).any(axis=1)
        if not near.any():
            return X, rng.integers(0, c, size=n), W1, b1, W2, b2, reg
        X[near] = rng.standard_normal((int(near.sum()), d))
    raise RuntimeError("could not keep the pre-activations away from 0")


#: Pre-activations placed next to the kink, relative to values of order 1.
KINK_LADDER = (1e-2, 1e-4, 1e-6, 1e-8, 1e-10)
#: (N, D, H, C, reg)
KINK_CASES = [(100, 10, 6, 4, 0.1), (40, 30, 12, 5, 0.0)]


@_frozen
def kink_problem(n: int, d: int, h: int, c: int, reg: float, seed: int = 0) -> Problem:
    """A batch where one pre-activation of every sample is close to, but not at, 0.

    Sample ``i`` gets the pre-activation ``+-KINK_LADDER[i % 5]`` for one unit (moving ``x_i``
    along that unit's weights); its others stay ``MIN_PRE`` away from 0. Every one is at least
    ``1e-10`` from 0, a million times the rounding error of any honest way of computing it, so
    ``A > 0`` and ``A >= 0`` agree; a mask taken above a tolerance does not, and a numerical
    gradient straddles the kink (the gradient items check these entry by entry only).
    """
    X, y, W1, b1, W2, b2, _ = net(n, d, h, c, 1.0, reg, seed=seed + 3)
    X = X.copy()
    rng = np.random.default_rng([seed, n, d, h, c, 5])
    live = h - 1 if h >= 5 else h  # the dead unit stays dead
    for i in range(n):
        target = KINK_LADDER[i % len(KINK_LADDER)] * (1.0 if i % 2 else -1.0)
        for _ in range(200):
            j = int(rng.integers(0, live))
            w = W1[:, j]
            x = rng.standard_normal(d)
            x += (target - (x @ w + b1[j])) * w / (w @ w)
            a = x @ W1 + b1
            others = np.delete(a, j)
            if abs(a[j] - target) <= 1e-3 * abs(target) and np.all(np.abs(others) >= MIN_PRE) \
                    and np.abs(x).max() < 10:
                X[i] = x
                break
        else:
            raise RuntimeError("could not place a pre-activation next to the kink")
    return X, y, W1, b1, W2, b2, reg


@_frozen
def large_scores(n: int, d: int, h: int, c: int, reg: float, seed: int = 0) -> Problem:
    """Scores up to about 1e4: output weights two thousand times the usual."""
    X, y, W1, b1, W2, b2, _ = net(n, d, h, c, 1.0, reg, seed=seed)
    return X, y, W1, b1, 2000.0 * W2, b2, reg


@_frozen
def tiny_problem(seed: int = 0) -> Problem:
    """Large scores, a last class of probability about 1e-14 that is never the label, and a
    hidden unit (the second to last) whose outgoing weights are about 1e-9."""
    n, d, h, c = 40, 6, 8, 5
    X, _, W1, b1, W2, b2, _ = net(n, d, h, c, 1.0, 0.0, seed=seed + 7)
    W2 = 4.0 * W2
    W2[-2] *= 1e-9
    W2[:, -1] *= 0.01
    b2 = b2.copy()
    b2[-1] = -30.0
    y = np.random.default_rng([seed, 11]).integers(0, c - 1, size=n)
    return X, y, W1, b1, W2, b2, 0.0


def describe(X, y, W1, b1, W2, b2, reg) -> str:
    return (f"(N={X.shape[0]}, D={X.shape[1]}, H={W1.shape[1]}, C={W2.shape[1]}, "
            f"reg={reg:g})")


def describe_forward(X, W1, b1, W2, b2) -> str:
    return f"(N={X.shape[0]}, D={X.shape[1]}, H={W1.shape[1]}, C={W2.shape[1]})"


def _P_plus_Y(X, y, W1, b1, W2, b2) -> np.ndarray:
    """``(softmax(S) + onehot(y)) / N``: the magnitude of each entry of ``dS``."""
    S = np.maximum(X @ W1 + b1, 0.0) @ W2 + b2
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] += 1.0
    return P / len(y)


def gradient_scale(X, y, W1, b1, W2, b2, reg) -> dict[str, np.ndarray]:
    """Magnitude of each gradient entry: what its terms add up to in absolute value."""
    A = X @ W1 + b1
    hidden = np.maximum(A, 0.0)
    dS = _P_plus_Y(X, y, W1, b1, W2, b2)
    dA = (dS @ np.abs(W2).T) * (A > 0)
    return {"W1": np.abs(X).T @ dA + 2.0 * reg * np.abs(W1), "b1": dA.sum(axis=0),
            "W2": hidden.T @ dS + 2.0 * reg * np.abs(W2), "b2": dS.sum(axis=0)}
