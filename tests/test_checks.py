"""The check helpers: safe calls, lenient coercion, strict comparison, teaching messages."""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from grader import checks
from grader.author.attacks import memoised
from grader.hidden import load_folder

# correct losses to check the checks with: the course's own reference solutions
ref = load_folder(Path(__file__).resolve().parents[1] / "source" / "svm_hinge" / "hidden").module(
    "reference")

# ---- call and quiet ------------------------------------------------------------------------


def test_call_works_on_copies():
    x = np.arange(4.0)

    def clobber(v):
        v[:] = -1
        return v.sum()

    assert checks.call(clobber, x, name="clobber") == -4
    np.testing.assert_array_equal(x, np.arange(4.0))


def test_call_keeps_stderr_and_warnings_out_of_stderr(capfd):
    def noisy(v):
        print("to stdout")
        print("to stderr", file=sys.stderr)
        os.write(2, b"from C\n")
        warnings.warn("careful", UserWarning, stacklevel=1)
        np.exp(1e4)
        return np.log(np.zeros(2))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that escaped would raise here
        out = checks.call(noisy, np.zeros(2), name="noisy")
    assert np.isneginf(out).all()
    captured = capfd.readouterr()
    assert captured.err == ""
    assert "to stdout" in captured.out and "to stderr" in captured.out
    assert "from C" in captured.out


def test_call_can_swallow_stdout(capfd):
    checks.call(print, "hello", name="print", swallow_stdout=True)
    assert capfd.readouterr().out == ""


def test_quiet_restores_everything():
    before_err, before_filters = sys.stderr, list(warnings.filters)
    with checks.quiet():
        pass
    assert sys.stderr is before_err and warnings.filters == before_filters
    assert np.geterr()["over"] == "warn"


def test_call_turns_exceptions_into_assertion_errors():
    def stub(z):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="stub raised NotImplementedError.*Replace"):
        checks.call(stub, 1, name="stub")
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        checks.call(lambda: 1 / 0, name="f")
    with pytest.raises(AssertionError, match="raised SystemExit"):
        checks.call(sys.exit, 3, name="exit")

    # No message without its text: never "raised ValueError: ." nor a dangling colon.
    for error, expected in ((NotImplementedError(), "f raised NotImplementedError: it is not "
                             "implemented yet. Replace the `raise NotImplementedError()` line "
                             "with your code."),
                            (ValueError(), "f raised ValueError."),
                            (ValueError("  "), "f raised ValueError."),
                            (RuntimeError("LinAlgError: "), "f raised RuntimeError: LinAlgError."),
                            (KeyError("w"), "f raised KeyError: 'w'."),
                            (ValueError("bad shape."), "f raised ValueError: bad shape.")):
        def raises(error=error):
            raise error

        with pytest.raises(AssertionError) as info:
            checks.call(raises, name="f")
        assert str(info.value) == expected

    def shouts(x):
        raise ValueError(str(np.arange(10_000)))

    with pytest.raises(AssertionError) as info:
        checks.call(shouts, 1, name="shouts")
    assert len(str(info.value)) < 400


# ---- coercion ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1.5, 3, np.float64(1.5), np.float32(1.5), np.array(1.5),
                                   np.array([1.5]), [1.5]])
def test_as_float_accepts_any_single_number(value):
    assert isinstance(checks.as_float(value, "loss"), float)


@pytest.mark.parametrize(("value", "message"), [
    (np.ones(3), "single number.*shape \\(3,\\).*average"),
    (None, "single number; got NoneType"),
    ("1.5", "single number; got str"),
    (1 + 2j, "real number"),
    ((1.0, 2.0), "single number"),
])
def test_as_float_rejects_everything_else(value, message):
    with pytest.raises(AssertionError, match=message):
        checks.as_float(value, "loss")


def test_as_array_accepts_any_memory_order_and_dtype():
    a = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    out = checks.as_array(a, "dW", (2, 3))
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, a)
    np.testing.assert_array_equal(checks.as_array([[1, 2]], "x", (1, 2)), [[1.0, 2.0]])
    np.testing.assert_array_equal(checks.as_array(np.arange(4)[::2], "x", (2,)), [0.0, 2.0])


@pytest.mark.parametrize(("value", "message"), [
    (np.ones((3, 2)), "dW has shape \\(3, 2\\); expected shape \\(2, 3\\)"),
    (np.ones(6), "has shape \\(6,\\)"),
    (None, "real array"),
    (np.ones((2, 3), dtype=complex), "real array"),
])
def test_as_array_rejects_wrong_shape_or_kind(value, message):
    with pytest.raises(AssertionError, match=message):
        checks.as_array(value, "dW", (2, 3))


def test_unpack_pair():
    assert checks.unpack_pair((1, 2), "f") == (1, 2)
    assert checks.unpack_pair([1, 2], "f") == (1, 2)
    with pytest.raises(AssertionError, match="returned None.*return"):
        checks.unpack_pair(None, "f")
    with pytest.raises(AssertionError, match=r"pair \(loss, dW\); it returned 3 values"):
        checks.unpack_pair((1, 2, 3), "f", "loss", "dW")
    with pytest.raises(AssertionError, match="single float"):
        checks.unpack_pair(0.5, "f")
    with pytest.raises(AssertionError, match="single ndarray"):
        checks.unpack_pair(np.ones(2), "f")


# ---- comparison ----------------------------------------------------------------------------


def test_assert_close_passes_within_tolerance_and_on_matching_infinities():
    e = np.array([1.0, -2.0, 0.0, np.inf])
    checks.assert_close(e * (1 + 1e-9), e, "x")
    checks.assert_close(1.0 + 1e-9, 1.0, "loss")


def test_assert_close_names_the_worst_entry_without_dumping_the_data():
    expected = np.linspace(0, 1, 10_000).reshape(100, 100)
    got = expected.copy()
    got[3, 7] += 0.5
    got[50, 50] += 0.01
    with pytest.raises(AssertionError) as info:
        checks.assert_close(got, expected, "softmax(S)", hint="Normalise rows.")
    msg = str(info.value)
    assert "softmax(S)" in msg and "entry [3, 7]" in msg and "2 of 10000" in msg
    assert "Normalise rows." in msg
    assert len(msg) < 400


def test_assert_close_reports_shape_and_non_finite_values():
    with pytest.raises(AssertionError, match=r"got shape \(3,\), expected \(3, 1\)"):
        checks.assert_close(np.ones(3), np.ones((3, 1)), "x")
    with pytest.raises(AssertionError, match=r"2 non-finite.*entry \[1\]: nan"):
        checks.assert_close([1.0, np.nan, np.inf], np.ones(3), "x")
    with pytest.raises(AssertionError, match="is inf, not a finite number"):
        checks.assert_close(np.inf, 1.0, "loss")


def test_assert_gradient_names_the_wrong_entry():
    rng = np.random.default_rng(1)
    W, X, y = rng.standard_normal((3, 4)), rng.standard_normal((5, 3)), rng.integers(0, 4, 5)
    _, dW = ref.softmax_loss(W, X, y, 0.0)
    checks.assert_gradient(lambda w: ref.softmax_loss(w, X, y, 0.0)[0], W, dW, "dW")
    dW[2, 1] *= 3
    with pytest.raises(AssertionError, match=r"dW disagrees .* at entry \[2, 1\]"):
        checks.assert_gradient(lambda w: ref.softmax_loss(w, X, y, 0.0)[0], W, dW, "dW")


# ---- untouched -----------------------------------------------------------------------------


def test_assert_untouched():
    S, y = np.arange(6.0).reshape(2, 3), np.array([0, 2])
    checks.assert_untouched(ref.softmax_cross_entropy, S, y, name="sce", arg_names=["S", "y"])

    def shift(S, y):
        S -= 1

    with pytest.raises(AssertionError, match=r"changed its argument S in place \(entry \[0, 0\]"):
        checks.assert_untouched(shift, S, y, name="sce", arg_names=["S", "y"])
    np.testing.assert_array_equal(S, np.arange(6.0).reshape(2, 3))

    def relabel(S, y):
        y[0] = 1

    with pytest.raises(AssertionError, match="argument y"):
        checks.assert_untouched(relabel, S, y, name="sce", arg_names=["S", "y"])

    def retype(S, y):
        S.dtype = np.int64  # same bytes, other meaning

    with pytest.raises(AssertionError, match="argument S"):
        checks.assert_untouched(retype, S, y, name="sce", arg_names=["S", "y"])


# ---- loop-freeness -------------------------------------------------------------------------


def rowsum_vectorized(A):
    return A.sum(axis=1)


def rowsum_loop(A):
    out = np.empty(A.shape[0])
    for i in range(A.shape[0]):
        out[i] = A[i].sum()
    return out


def rowsum_comprehension(A):
    return np.array([row.sum() for row in A])


def rowsum_vectorize(A):
    return np.vectorize(lambda i: A[i].sum())(np.arange(A.shape[0]))


def rowsum_while(A):
    out, i = [], 0
    while i < len(A):
        out.append(A[i].sum())
        i += 1
    return np.array(out)


def SMALL(k):  # noqa: N802 - a problem factory, named like the constant it replaces
    return (np.full((3, 4), float(k)),)


def LARGE(k):  # noqa: N802
    return (np.full((60, 4), float(k)),)


def test_loop_free_passes_array_code():
    checks.assert_loop_free(rowsum_vectorized, SMALL, LARGE, "rowsum")
    checks.assert_loop_free(
        ref.svm_loss, lambda k: (np.ones((2, 3)), np.full((4, 2), k), np.zeros(4, int), 0),
        lambda k: (np.ones((5, 9)), np.full((50, 5), k), np.zeros(50, int), 0), "svm")


def test_every_counted_or_timed_call_sees_a_new_input():
    seen = []

    def recording(A):
        seen.append(A.tobytes())
        return A.sum(axis=1)

    checks.assert_loop_free(recording, SMALL, LARGE, "rowsum")
    assert len(seen) == 6 and len(set(seen)) == 6
    seen.clear()
    checks.assert_fast(recording, rowsum_vectorized,
                       lambda k: (np.full((2000, 3), float(k)),), "rowsum")
    assert seen and len(set(seen)) == len(seen)


def test_remembering_answers_does_not_hide_a_loop_or_make_it_fast():
    with pytest.raises(AssertionError, match="not loop-free"):
        checks.assert_loop_free(memoised(rowsum_loop), SMALL, LARGE, "rowsum")
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match="too slow"):
        checks.assert_fast(memoised(rowsum_loop), rowsum_vectorized,
                           lambda k: (rng.standard_normal((20_000, 3)),), "rowsum")


@pytest.mark.parametrize("func", [rowsum_loop, rowsum_comprehension, rowsum_vectorize,
                                  rowsum_while])
def test_loop_free_catches_python_iteration(func):
    with pytest.raises(AssertionError, match=r"not loop-free.*\(3, 4\).*\(60, 4\)"):
        checks.assert_loop_free(func, SMALL, LARGE, func.__name__, sizes=("(3, 4)", "(60, 4)"))


def test_switching_tracing_off_does_not_hide_a_loop():
    def sneaky(A):
        sys.settrace(None)
        return rowsum_loop(A)

    previous = sys.gettrace()
    with pytest.raises(AssertionError, match="sneaky cannot be checked for loops.*settrace"):
        checks.assert_loop_free(sneaky, SMALL, LARGE, "sneaky")
    assert sys.gettrace() is previous


def test_tracing_restores_the_previous_tracer():
    def outer_tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        assert checks.count_trace_events(rowsum_loop, *LARGE(0)) > 60
        assert sys.gettrace() is outer_tracer
        with pytest.raises(AssertionError):
            checks.assert_loop_free(lambda A: 1 / 0, SMALL, LARGE, "broken")
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(previous)


# ---- speed ---------------------------------------------------------------------------------


def test_best_time_stops_early():
    start = time.perf_counter()
    assert checks.best_time(time.sleep, 0.05, repeats=100, budget=0.1) >= 0.05
    assert time.perf_counter() - start < 0.5
    assert checks.best_time(time.sleep, 0.0, repeats=100, good_enough=1.0) < 1.0


def test_assert_fast_passes_vectorized_and_fails_loops_within_a_second():
    def make(k):
        return (np.random.default_rng(k).standard_normal((20_000, 3)),)

    checks.assert_fast(rowsum_vectorized, rowsum_vectorized, make, "rowsum")
    checks.assert_fast(lambda A: np.einsum("ij->i", A), rowsum_vectorized, make, "rowsum")
    start = time.perf_counter()
    with pytest.raises(AssertionError, match="rowsum is too slow"):
        checks.assert_fast(rowsum_loop, rowsum_vectorized, make, "rowsum")
    assert time.perf_counter() - start < 1.5
