"""Mutation operators for the faults students make that mutmut's own operators do not express.

mutmut 3 swaps operators (``+``/``-``, ``>``/``>=``), bumps numbers, drops call arguments
(``keepdims=True``), turns assignments into ``None``. What it cannot say: a wrong axis, an
off-by-one loop bound, a size written in (or capped at) a well-known data set's size, a factor
left out (``1/N``, the 2 of ``2 reg W``), a margin counted only above a tolerance, the log of
a probability that has rounded to 0, a forgotten max-shift. Each operator below has mutmut's
signature, ``operator(node) -> iterable of replacement nodes``, so it joins mutmut's table.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
import libcst.matchers as m

#: Sizes an answer might assume, by what they count: batch sizes; the classes of digits and
#: CIFAR-10, CIFAR-100 and ImageNet; the features of digits, MNIST and CIFAR-10 with the bias.
TYPICAL_SIZES = {
    "samples": (500, 1000, 1024, 2048),
    "classes": (10, 100, 128, 1000),
    "features": (64, 100, 784, 3073),
}
#: Tolerances a student might put on the hinge's indicator.
TOLERANCES = ("1e-08", "1e-06", "0.001")


def _expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def operator_axis(node: cst.Call) -> Iterable[cst.Call]:
    """``axis=1`` becomes ``axis=0`` (and the other way round), or disappears."""
    for i, arg in enumerate(node.args):
        if arg.keyword is None or arg.keyword.value != "axis":
            continue
        value = _code(arg.value).strip()
        for other in {"0": ["1"], "1": ["0"], "-1": ["0"]}.get(value, []):
            yield node.with_changes(args=[*node.args[:i], arg.with_changes(value=_expr(other)),
                                          *node.args[i + 1:]])
        if len(node.args) == 1:  # mutmut's argument removal covers calls with more arguments
            yield node.with_changes(args=[])


def operator_loop_bound(node: cst.Call) -> Iterable[cst.Call]:
    """``range(n)`` loops once too few or once too many."""
    if not m.matches(node.func, m.Name("range")) or len(node.args) != 1:
        return
    bound = _code(node.args[0].value)
    for changed in (f"{bound} - 1", f"{bound} + 1"):
        yield node.with_changes(args=[node.args[0].with_changes(value=_expr(changed))])


def _counts(node: cst.CSTNode) -> str | None:
    """What a size expression counts, by the course's names: ``X.shape[1]`` and ``W.shape[0]``
    count features, ``W.shape[1]`` and ``S.shape[1]`` classes, any other ``.shape[0]`` or
    ``len(...)`` samples."""
    if m.matches(node, m.Call(func=m.Name("len"))):
        return "samples"
    if not m.matches(node, m.Subscript(value=m.Attribute(value=m.Name(), attr=m.Name("shape")))):
        return None
    array = node.value.value.value
    index = _code(node.slice[0].slice).strip() if len(node.slice) == 1 else ""
    if (array, index) in {("X", "1"), ("W", "0")}:
        return "features"
    if (array, index) in {("W", "1"), ("S", "1")}:
        return "classes"
    return "samples" if index == "0" else None


def operator_typical_size(node: cst.BaseExpression) -> Iterable[cst.BaseExpression]:
    """A size (``X.shape[0]``, ``len(y)``) capped at, or replaced by, a well-known size."""
    counts = _counts(node)
    if counts is None:
        return
    size = _code(node)
    for typical in TYPICAL_SIZES[counts]:
        yield _expr(f"min({size}, {typical})")
        yield _expr(str(typical))


def operator_drop_factor(node: cst.BinaryOperation) -> Iterable[cst.BaseExpression]:
    """A division or a constant factor left out: ``s / n`` is ``s``, ``2.0 * reg`` is ``reg``."""
    if isinstance(node.operator, cst.Divide):
        yield node.left
    elif isinstance(node.operator, cst.Multiply):
        if isinstance(node.left, (cst.Integer, cst.Float)):
            yield node.right
        if isinstance(node.right, (cst.Integer, cst.Float)):
            yield node.left


def operator_tolerance(node: cst.Comparison) -> Iterable[cst.Comparison]:
    """``margin > 0`` counted only above a small tolerance."""
    for i, target in enumerate(node.comparisons):
        if not isinstance(target.operator, (cst.GreaterThan, cst.GreaterThanEqual)):
            continue
        if not m.matches(target.comparator, m.Integer("0") | m.Float("0.0") | m.Float("0.")):
            continue
        for tolerance in TOLERANCES:
            changed = target.with_changes(comparator=cst.Float(tolerance))
            yield node.with_changes(comparisons=[*node.comparisons[:i], changed,
                                                 *node.comparisons[i + 1:]])


_MEAN = m.Call(func=m.Attribute(value=m.Name("np"), attr=m.Name("mean")))


def operator_log_of_probability(node: cst.Call) -> Iterable[cst.Call]:
    """The mean of per-sample log-losses taken through the probability: ``-log(exp(-l))``.

    The probability ``exp(-l)`` of a confident mistake rounds to 0 and its log to ``-inf``:
    the classic ``log(softmax(S))`` or ``log(sigmoid(z))``.
    """
    if not m.matches(node, _MEAN) or not node.args:
        return
    first = node.args[0]
    if not isinstance(first.value, cst.BinaryOperation):
        return
    wrapped = _expr(f"-np.log(np.exp(-({_code(first.value)})))")
    yield node.with_changes(args=[first.with_changes(value=wrapped), *node.args[1:]])


def operator_no_shift(node: cst.BinaryOperation) -> Iterable[cst.BaseExpression]:
    """The shift by the row maximum forgotten: ``S - S.max(axis=1, keepdims=True)`` is ``S``."""
    if not isinstance(node.operator, cst.Subtract):
        return
    maximum = m.Call(func=m.Attribute(attr=m.Name("max")) | m.Attribute(
        value=m.Name("np"), attr=m.Name("max") | m.Name("amax")))
    if m.matches(node.right, maximum):
        yield node.left


#: Registered beside mutmut's own operators (node type, operator).
OPERATORS = [
    (cst.Call, operator_axis),
    (cst.Call, operator_loop_bound),
    (cst.Subscript, operator_typical_size),
    (cst.Call, operator_typical_size),
    (cst.BinaryOperation, operator_drop_factor),
    (cst.Comparison, operator_tolerance),
    (cst.Call, operator_log_of_probability),
    (cst.BinaryOperation, operator_no_shift),
]
