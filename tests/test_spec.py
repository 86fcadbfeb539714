"""The authoring vocabulary on a spec of its own: outputs of every form, the standard items,
hand-written items, generated inputs, and the hidden folder loaded from memory.

The spec below declares a small layer that returns a number and a dict of gradients, the form
of every network assignment; nothing here is course content.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.author import (
    BY_KEY,
    Family,
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
from grader.author.attacks import FD_STEPS, finite_difference, memoised
from grader.author.outputs import Signature
from grader.grade import channel
from grader.hidden import graded_items, load, student_names, version


def layer(X, W, b, reg):
    """``mean(sum(tanh(X W + b)**2, axis=1)) + reg * sum(W**2)`` and its gradients by name."""
    A = np.tanh(X @ W + b)
    n = X.shape[0]
    loss = float(np.sum(A * A) / n + reg * np.sum(W * W))
    dZ = 2.0 * A * (1.0 - A * A) / n
    return loss, {"W": X.T @ dZ + 2.0 * reg * W, "b": dZ.sum(axis=0)}


INPUTS = Inputs(X="N D", W="D H", b="H", reg=0.1, scale={"W": 0.5})
SMALL = [dict(N=1, D=3, H=2), dict(N=6, D=4, H=5)]
LARGE = [dict(N=2100, D=5, H=3)]

spec = Spec()
LAYER = spec.function(
    "layer(X, W, b, reg) -> (loss, grads)", reference=layer, gradients={"grads": BY_KEY},
    loss=Values(INPUTS.problems(*SMALL, *LARGE), hint="mean over samples"),
    gradient=Gradient(numeric=INPUTS.problems(*SMALL), exact=INPUTS.problems(*LARGE),
                      rtol=1e-9, atol=1e-15, derived_hint=" Use the chain rule."),
    shapes=Shapes(INPUTS.problems(dict(N=1, D=1, H=1))),
    untouched=Untouched(lambda: INPUTS.draw(dict(N=4, D=3, H=2)).args),
    loop_free=LoopFree(INPUTS.family(dict(N=4, D=3, H=2)), INPUTS.family(dict(N=64, D=8, H=16))),
    speed=Speed(INPUTS.family(dict(N=4000, D=8, H=5))),
)


@spec.item
def twice(layer) -> None:
    """A hand-written item: the layer is deterministic."""
    args = INPUTS.draw(dict(N=3, D=2, H=2)).args
    a, b = LAYER.answer(layer, case(*args)), LAYER.answer(layer, case(*args))
    assert a["loss"] == b["loss"], "the layer should give the same loss twice"


spec.value("answer", 42.0, atol=0.5, hint="six times seven")


# ---- signatures and outputs ----------------------------------------------------------------


def test_a_signature_names_arguments_and_outputs():
    sig = Signature.parse("f(a, b) -> (loss, grads)")
    assert (sig.name, sig.args, sig.outputs, sig.tuple_result) == (
        "f", ("a", "b"), ("loss", "grads"), True)
    single = Signature.parse("sigmoid(z) -> s")
    assert single.outputs == ("s",) and not single.tuple_result
    for bad in ("f(a, b)) -> x", "f(a, 1b) -> y", "no parentheses"):
        with pytest.raises(ValueError, match="signature"):
            Signature.parse(bad)


def test_a_dict_of_gradients_is_read_key_by_key():
    args = INPUTS.draw(dict(N=3, D=2, H=4))
    names = [o.name for o in LAYER.outputs(args)]
    assert names == ["loss", 'grads["W"]', 'grads["b"]']
    got = LAYER.answer(layer, args)
    assert got['grads["W"]'].shape == (2, 4) and got['grads["b"]'].shape == (4,)
    assert [(o.name, i) for o, i in LAYER.gradient_outputs(args)] == [
        ('grads["W"]', 1), ('grads["b"]', 2)]


@pytest.mark.parametrize(("answer", "message"), [
    (lambda X, W, b, reg: None, "returned None. Is a `return` statement missing?"),
    (lambda X, W, b, reg: 1.0, "should return a pair (loss, grads); it returned a single float"),
    (lambda X, W, b, reg: (1.0, {}, 2), "it returned 3 values"),
    (lambda X, W, b, reg: (1.0, [W, b]), "should be a dict with the keys 'W', 'b'; it is a list"),
    (lambda X, W, b, reg: (1.0, {"W": W}), "has no key 'b'"),
    (lambda X, W, b, reg: (1.0, {"W": W.T, "b": b}), "has shape (4, 2); expected shape (2, 4)"),
    (lambda X, W, b, reg: (np.ones(3), {"W": W, "b": b}), "should be a single number"),
])
def test_malformed_answers_say_what_is_wrong(answer, message):
    with pytest.raises(AssertionError) as info:
        LAYER.answer(answer, INPUTS.draw(dict(N=3, D=2, H=4)))
    assert message in str(info.value)


def test_dicts_of_arrays_cross_the_bridge_as_arrays_do():
    value = (1.5, {"W1": np.arange(6.0).reshape(2, 3), "b1": np.float64(2.0)})
    buffers: list[bytes] = []
    encoded = channel.encode(value, buffers)
    back = channel.decode(encoded, [bytearray(b) for b in buffers], "value")
    assert back[0] == 1.5 and set(back[1]) == {"W1", "b1"}
    np.testing.assert_array_equal(back[1]["W1"], value[1]["W1"])
    assert channel.encode({1: np.ones(2)}, [])["type"] == "dict"  # keys must be strings
    with pytest.raises(TypeError):
        channel.decode({"map": [[1, {"py": 1}]]}, [], "value")


# ---- the standard items ---------------------------------------------------------------------


def test_the_reference_earns_every_item():
    for item in spec.ids():
        spec.run(item, {"layer": layer, "answer": 42})


def test_inputs_are_fixed_read_only_and_of_the_declared_shapes():
    a, b = INPUTS.draw(dict(N=5, D=3, H=2)), INPUTS.draw(dict(N=5, D=3, H=2))
    assert all(np.array_equal(u, v) for u, v in zip(a.args[:3], b.args[:3]))
    assert [np.shape(x) for x in a.args] == [(5, 3), (3, 2), (2,), ()]
    assert a.about == "(N=5, D=3, H=2)"
    problems = INPUTS.problems(dict(N=2, D=2, H=2))
    with pytest.raises(ValueError):
        problems[0].args[0][0, 0] = 1.0
    labels = Inputs(S="N C", y="labels N C").draw(dict(N=50, C=3)).args[1]
    assert labels.dtype.kind == "i" and set(labels) <= {0, 1, 2}
    kept = Inputs(x="N", where=lambda x: bool(np.all(np.abs(x) > 0.5))).draw(dict(N=4)).args[0]
    assert np.all(np.abs(kept) > 0.5)
    with pytest.raises(ValueError, match="sizes lack H"):
        INPUTS.draw(dict(N=1, D=1))


def wrong_b(X, W, b, reg):
    loss, grads = layer(X, W, b, reg)
    return loss, {"W": grads["W"], "b": grads["b"] * X.shape[0]}  # the sum, not the mean


def no_reg_loss(X, W, b, reg):
    loss, grads = layer(X, W, b, reg)
    return loss - reg * float(np.sum(W * W)), grads


def looping(X, W, b, reg):
    loss, grads = 0.0, {"W": np.zeros_like(W), "b": np.zeros_like(b)}
    for i in range(X.shape[0]):
        one, g = layer(X[i:i + 1], W, b, 0.0)
        loss += one
        grads["W"] += g["W"]
        grads["b"] += g["b"]
    n = X.shape[0]
    return loss / n + reg * float(np.sum(W * W)), {"W": grads["W"] / n + 2 * reg * W,
                                                   "b": grads["b"] / n}


def in_place(X, W, b, reg):
    X -= 1.0
    return layer(X + 1.0, W, b, reg)


@pytest.mark.parametrize(("item", "answer", "says"), [
    ("layer.gradient", wrong_b, 'grads["b"] of layer(X, W, b, reg) (N=6, D=4, H=5) disagrees'),
    ("layer.loss", no_reg_loss, "mean over samples"),
    ("layer.loop_free", looping, "is not loop-free"),
    ("layer.speed", looping, "is too slow"),
    ("layer.untouched", in_place, "changed its argument X in place"),
])
def test_wrong_answers_lose_their_item_and_are_told_why(item, answer, says):
    with pytest.raises(AssertionError) as info:
        spec.run(item, {"layer": answer})
    assert says in str(info.value)


def test_one_wrong_item_costs_that_item_only():
    for item in ("layer.loss", "layer.shapes", "layer.untouched", "layer.loop_free"):
        spec.run(item, {"layer": wrong_b})
    for item in ("layer.gradient", "layer.shapes", "layer.loop_free", "layer.speed"):
        spec.run(item, {"layer": no_reg_loss})
    for item in ("layer.loss", "layer.gradient", "layer.shapes", "layer.untouched"):
        spec.run(item, {"layer": looping})


def test_a_measured_call_must_be_right_too():
    """Loop-free and fast, but no output right: no vectorized computation to credit."""
    def constant(X, W, b, reg):
        return 0.0, {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    for item in ("layer.loop_free", "layer.speed"):
        with pytest.raises(AssertionError, match="no output"):
            spec.run(item, {"layer": constant})


def test_a_cache_of_answers_gains_nothing_where_calls_are_counted_or_timed():
    for item in ("layer.loop_free", "layer.speed"):
        with pytest.raises(AssertionError):
            spec.run(item, {"layer": memoised(looping)})
        spec.run(item, {"layer": memoised(layer)})


@pytest.mark.parametrize(("h", "stencil"), [s for s in FD_STEPS if s[1] != "five"])
def test_a_finite_difference_gradient_loses_the_gradient_of_any_form(h, stencil):
    # (a fourth-order stencil is exact to 1e-12 on this smooth loss: only inputs made for it,
    # tiny entries next to a large loss, stop it; the self-test says which stencils pass)
    answer = finite_difference(LAYER, h, stencil)
    with pytest.raises(AssertionError):
        spec.run("layer.gradient", {"layer": answer})
    spec.run("layer.loss", {"layer": answer})


def test_items_compose_and_families_give_new_inputs():
    both = Values([case(np.zeros(2))]) & Values([case(np.ones(2))], hint="second")
    fn = Spec().function("double(x) -> y", reference=lambda x: 2 * x, values=both)
    with pytest.raises(AssertionError, match="second"):
        both.run(fn, lambda x: np.zeros_like(x))
    family = Family(lambda k: (np.full(3, float(k)),))
    assert family(1) is family(1) and not np.array_equal(family(1).args[0], family(2).args[0])


# ---- the registry ---------------------------------------------------------------------------


def test_items_are_found_by_id_and_name_what_they_grade():
    assert spec.ids() == ["layer.loss", "layer.gradient", "layer.shapes", "layer.untouched",
                          "layer.loop_free", "layer.speed", "twice", "answer"]
    assert spec["twice"].uses == ("layer",) and spec["answer"].uses == ("answer",)
    with pytest.raises(KeyError, match="no item 'layer.values'"):
        spec.run("layer.values", {"layer": layer})
    with pytest.raises(NameError, match="'layer' is not defined"):
        spec.run("layer.loss", {})
    with pytest.raises(AssertionError, match="six times seven"):
        spec.run("answer", {"answer": 41})
    with pytest.raises(ValueError, match="declared twice"):
        spec.value("answer", 1.0)


def test_a_spec_refuses_what_it_cannot_mean():
    with pytest.raises(ValueError, match="gradients name arguments it does not have"):
        Spec().function("f(x) -> (loss, dx)", reference=lambda x: (0.0, x),
                        gradients={"dx": "z"})
    with pytest.raises(TypeError, match="expected an item"):
        Spec().function("f(x) -> y", reference=lambda x: x, values=[1, 2])


# ---- the hidden folder ----------------------------------------------------------------------

FOLDER = {
    "spec.py": b"from grader.author import Spec, Values, case\n"
               b"from . import reference as ref\n"
               b"from .helpers.sizes import SIZES\n"
               b"spec = Spec()\n"
               b"spec.function('square(x) -> y', reference=ref.square,\n"
               b"              values=Values([case(float(n)) for n in SIZES]))\n",
    "reference.py": b"def square(x):\n    return x * x\n",
    "helpers/sizes.py": b"SIZES = (1, 2, 3)\n",
    "data.csv": b"1,2,3\n",
}


def test_a_hidden_folder_is_imported_from_memory_with_its_own_relative_imports():
    hidden = load(FOLDER, "toy")
    assert hidden.spec.ids() == ["square.values"]
    hidden.grade("square.values", lambda x: x * x)
    with pytest.raises(AssertionError):
        hidden.grade("square.values", lambda x: x + x)
    assert hidden.module("reference").square(3) == 9
    assert hidden.package.FILES["data.csv"] == b"1,2,3\n"
    assert load(FOLDER, "toy") is hidden  # once per content
    changed = {**FOLDER, "reference.py": b"def square(x):\n    return x ** 2\n"}
    assert version(changed) != version(FOLDER) and load(changed, "toy") is not hidden


def test_a_hidden_folder_that_cannot_be_imported_says_which_file():
    with pytest.raises(ImportError, match="broken/hidden/spec.py"):
        load({"spec.py": b"import does_not_exist\n"}, "broken")
    with pytest.raises(ImportError, match="defines no `spec`"):
        load({"spec.py": b"x = 1\n"}, "empty")


def test_the_student_names_a_hidden_test_uses_come_from_its_items():
    hidden = load(FOLDER, "toy")
    code = 'grade("square.values")\nassert helper(2) == 4\n'
    assert graded_items(code) == ["square.values"]
    assert student_names(code, hidden.spec) == {"square", "helper"}
    assert student_names("from x import y\nz = y(a)\n") == {"a"}
