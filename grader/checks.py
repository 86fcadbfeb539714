"""Check helpers for the hidden tests: call student code safely, coerce, compare, explain.

Every helper raises :class:`AssertionError` with a message meant for the student: which function
and which output, expected versus got shape, the worst entry and its error, and a hint. Messages
quote single entries, never whole hidden inputs.

Student functions are always called on deep copies of the test inputs (an in-place edit cannot
corrupt a later comparison), with warnings silenced and standard error sent to standard output:
nbgrader scores any stderr output of a test cell as a failure, and a harmless NumPy warning from
a correct answer must not cost points.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import gc
import io
import os
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from grader import gradcheck


class Review(Exception):  # noqa: N818 - reads as what it does: `raise Review(...)`
    """Raised by a hidden test when the evidence is not conclusive either way.

    The item is then neither awarded nor failed: it is held for a person to review (pending in
    nbgrader's gradebook, with this message as the reason), never guessed.
    """


@contextlib.contextmanager
def quiet(swallow_stdout: bool = False) -> Iterator[None]:
    """Silence warnings and send stderr to stdout (or swallow both) for the duration.

    Parameters
    ----------
    swallow_stdout : bool
        Discard printed output too; used where a student function is called many times.
    """
    out = io.StringIO() if swallow_stdout else sys.stdout
    with contextlib.ExitStack() as stack:
        stack.enter_context(_fd2_to_fd1())
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        stack.enter_context(np.errstate(all="ignore"))
        stack.enter_context(contextlib.redirect_stderr(out))
        if swallow_stdout:
            stack.enter_context(contextlib.redirect_stdout(out))
        yield


@contextlib.contextmanager
def _fd2_to_fd1() -> Iterator[None]:
    # Compiled code (BLAS, C extensions) writes to file descriptor 2 directly, past sys.stderr.
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(1, 2)
    except (OSError, ValueError, AttributeError):  # no usable descriptors: nothing to redirect
        yield
        return
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _raised(name: str, exc: BaseException) -> Exception:
    if isinstance(exc, Review):  # not the student's error: it stays a question for a person
        return exc
    if isinstance(exc, NotImplementedError):
        return AssertionError(f"{name} raised NotImplementedError: it is not implemented yet. "
                              "Replace the `raise NotImplementedError()` line with your code.")
    # An exception without a message reads "f raised KeyError.", never "KeyError: ."; one
    # relayed from the kernel as "Name: " (no text) loses its dangling colon.
    text = str(exc).strip().rstrip(":").rstrip()
    text = text if len(text) <= 300 else text[:300] + " ..."
    detail = f": {text}" if text else ""
    end = "" if text.endswith((".", "!", "?")) else "."
    return AssertionError(f"{name} raised {type(exc).__name__}{detail}{end}")


def call(func: Callable[..., Any], *args: Any, name: str, swallow_stdout: bool = False) -> Any:
    """Call a student function on deep copies of `args`, quietly.

    Parameters
    ----------
    func : callable
        The student's function.
    *args
        Test inputs; never passed directly.
    name : str
        The function's name, for messages.
    swallow_stdout : bool
        Discard anything it prints.

    Returns
    -------
    object
        Whatever `func` returns.

    Raises
    ------
    AssertionError
        If `func` raises (the original exception is chained).
    """
    args = copy.deepcopy(args)
    try:
        with quiet(swallow_stdout):
            return func(*args)
    except (Exception, SystemExit) as exc:
        raise _raised(name, exc) from exc


def as_float(value: Any, what: str) -> float:
    """Coerce a returned scalar (float, int, numpy scalar, size-1 array) to a Python float.

    Parameters
    ----------
    value : object
        The returned value.
    what : str
        What it is, e.g. ``"the loss returned by svm_loss_naive"``.

    Returns
    -------
    float
    """
    try:
        arr = np.asarray(value)
    except Exception:  # exotic objects whose conversion fails
        arr = np.asarray(None)
    if arr.size != 1 or not (np.issubdtype(arr.dtype, np.number)):
        shape = f" of shape {arr.shape}" if arr.dtype != object else ""
        raise AssertionError(
            f"{what} should be a single number; got {type(value).__name__}{shape}."
            + (" Did you forget to average over the samples?" if arr.size > 1 else "")
        )
    if np.iscomplexobj(arr):
        raise AssertionError(f"{what} should be a real number; got {value!r}.")
    return float(arr.reshape(()))


def as_array(value: Any, what: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Coerce a returned array (any memory order, any real or boolean dtype) to float64 of a
    given shape.

    Parameters
    ----------
    value : object
        The returned value.
    what : str
        What it is, e.g. ``"dW returned by svm_loss_naive"``.
    shape : tuple of int
        The required shape; no broadcasting is accepted.

    Returns
    -------
    ndarray
    """
    try:
        arr = np.asarray(value)
    except Exception:
        arr = np.asarray(None)
    if arr.dtype == np.bool_:  # a mask: True is 1, False 0
        arr = arr.astype(np.float64)
    if not (np.issubdtype(arr.dtype, np.number)) or np.iscomplexobj(arr):
        raise AssertionError(f"{what} should be a real array; got {type(value).__name__}.")
    if arr.shape != tuple(shape):
        raise AssertionError(f"{what} has shape {arr.shape}; expected shape {tuple(shape)}.")
    return np.array(arr, dtype=np.float64, order="C")  # our own copy, whatever its layout


def unpack_pair(result: Any, name: str, first: str = "loss", second: str = "grad") -> tuple:
    """Split a ``(first, second)`` return value, explaining what is wrong if it is not one.

    Parameters
    ----------
    result : object
        What the student's function returned.
    name : str
        The function's name.
    first, second : str
        Names of the two expected outputs.

    Returns
    -------
    tuple
        The two outputs, unconverted.
    """
    expected = f"{name} should return a pair ({first}, {second})"
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    if result is None:
        raise AssertionError(f"{expected}; it returned None. Is a `return` statement missing?")
    if isinstance(result, (tuple, list)):
        raise AssertionError(f"{expected}; it returned {len(result)} values.")
    raise AssertionError(f"{expected}; it returned a single {type(result).__name__}.")


def loss_and_gradient(func: Callable[..., Any], args: tuple, name: str, grad_name: str,
                      shape: tuple[int, ...], what: str) -> tuple[float, NDArray[np.float64]]:
    """Call a student's ``(loss, gradient)`` function and check the form of what it returns.

    Parameters
    ----------
    func : callable
        The student's function.
    args : tuple
        Its inputs (passed as copies, see :func:`call`).
    name : str
        The function's name.
    grad_name : str
        Name of the gradient in messages (``dz``, ``dS``, ``dW``).
    shape : tuple of int
        Shape the gradient must have.
    what : str
        The call, as messages name it ("svm_loss_naive with N=5, D=3, C=4").

    Returns
    -------
    loss : float
    gradient : ndarray
    """
    loss, grad = unpack_pair(call(func, *args, name=name), name, "loss", grad_name)
    return (as_float(loss, f"the loss of {what}"),
            as_array(grad, f"{grad_name} of {what}", shape))


def _index(idx: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def assert_finite(got: ArrayLike, what: str, hint: str = "") -> None:
    """Require every value to be finite, naming the first offending entry.

    Parameters
    ----------
    got : array_like
        Values to check.
    what : str
        What they are.
    hint : str
        Appended to the message.
    """
    got = np.asarray(got, dtype=np.float64)
    bad = ~np.isfinite(got)
    if not bad.any():
        return
    if got.ndim == 0:
        message = f"{what} is {float(got)}, not a finite number."
    else:
        first = tuple(np.argwhere(bad)[0])
        message = (f"{what} contains {int(bad.sum())} non-finite value(s) "
                   f"(first at entry {_index(first)}: {got[first]}).")
    raise AssertionError(f"{message} {hint}".rstrip())


def assert_close(
    got: ArrayLike,
    expected: ArrayLike,
    what: str,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    hint: str = "",
    scale: ArrayLike | None = None,
) -> None:
    """Compare an array with the expected one: shape, finiteness, then values.

    An entry passes when ``|got - expected| <= atol + rtol * scale``, where `scale` is
    ``|expected|`` unless given.

    Parameters
    ----------
    got : array_like
        The student's (already coerced) values.
    expected : array_like
        Reference values.
    what : str
        What is compared, e.g. ``"softmax(S) for S of shape (5, 3)"``.
    rtol, atol : float
        Tolerances.
    hint : str
        Appended to a failure message.
    scale : array_like, optional
        Magnitude of each entry (broadcast to the shape of `expected`): the sum of the
        absolute values of the terms it is computed from, so that every honest way of
        adding them up lands within a few rounding errors of it, whatever cancels.
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: got shape {got.shape}, expected {expected.shape}. {hint}")
    if np.isfinite(expected).all():
        assert_finite(got, what, hint)
    magnitude = np.abs(expected) if scale is None else np.broadcast_to(
        np.asarray(scale, dtype=np.float64), expected.shape)
    with np.errstate(all="ignore"):
        err = np.abs(got - expected)
        allowed = atol + rtol * magnitude
        bad = ~(err <= allowed)
        bad &= ~((got == expected) | (np.isnan(got) & np.isnan(expected)))
    if not bad.any():
        return
    score = np.where(bad, np.nan_to_num(err / np.maximum(allowed, 1e-300), nan=np.inf), -1.0)
    idx = np.unravel_index(int(np.argmax(score)), got.shape)
    at = f" at entry {_index(idx)}" if got.ndim else ""
    rel = gradcheck.rel_error(got[idx], expected[idx])
    count = f"{int(bad.sum())} of {got.size} values outside" if got.size > 1 else "outside"
    limit = (f"the tolerance rtol={rtol:g}, atol={atol:g}" if scale is None
             else f"the tolerance, {allowed[idx]:.1e} at that entry")
    raise AssertionError(
        f"{what}: wrong value{at}: expected {expected[idx]:.10g}, got {got[idx]:.10g} "
        f"(abs error {err[idx]:.2e}, rel error {rel:.2e}; {count} "
        f"{limit}). {hint}".rstrip()
    )


#: Where :func:`assert_gradient` reports each check it makes, while :func:`gradient_checks` is
#: open (the self-test's margin): a context variable, so nothing leaks between items.
_CHECKS: contextvars.ContextVar[list | None] = contextvars.ContextVar("checks", default=None)


@contextlib.contextmanager
def gradient_checks() -> Iterator[list[tuple[str, gradcheck.GradCheck, float]]]:
    """Collect every numerical gradient check made inside the block.

    Yields
    ------
    list of (what, GradCheck, tol)
        Filled as the checks are made, passed or not.
    """
    made: list[tuple[str, gradcheck.GradCheck, float]] = []
    token = _CHECKS.set(made)
    try:
        yield made
    finally:
        _CHECKS.reset(token)


def assert_gradient(
    f: gradcheck.Objective,
    x: ArrayLike,
    analytic: ArrayLike,
    what: str,
    tol: float = 1e-5,
    hint: str = "",
    max_entries: int = 16,
) -> None:
    """Check a gradient against central differences of `f`, naming the worst entry.

    Gradients of more than `max_entries` entries are checked along random directions
    (:func:`grader.gradcheck.gradient_check`): as sure to catch a wrong gradient, and the
    hidden tests compare every entry with the reference as well.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, the loss the gradient should belong to (the reference definition).
    x : array_like
        Point of the check.
    analytic : array_like
        The student's gradient, already coerced to the shape of `x`.
    what : str
        What is checked, e.g. ``"dW of svm_loss_naive (N=7, D=5, C=3, reg=0.1)"``.
    tol : float
        Largest accepted relative error.
    hint : str
        Appended to a failure message.
    max_entries : int
        Largest gradient checked entry by entry.
    """
    result = gradcheck.gradient_check(f, x, analytic, max_entries=max_entries)
    made = _CHECKS.get()
    if made is not None:
        made.append((what, result, tol))
    if not result.passed(tol):
        raise AssertionError(
            f"{what} disagrees with the numerical gradient {result.describe()}. {hint}".rstrip()
        )


def copy_args(args: Sequence[Any]) -> tuple:
    """Deep copies of a call's arguments (what a student's function is given)."""
    return tuple(copy.deepcopy(tuple(args)))


def same(a: Any, b: Any) -> bool:
    """True when an argument is exactly as it was: shape, dtype and every value (NaN too)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return type(a) is type(b) and (a == b or a != a and b != b)  # NaN equals NaN here


def assert_untouched(
    func: Callable[..., Any], *args: Any, name: str, arg_names: Sequence[str]
) -> None:
    """Require that calling `func` leaves its arguments exactly as they were.

    Parameters
    ----------
    func : callable
        The student's function.
    *args
        Test inputs (copied; the copies are what `func` receives).
    name : str
        The function's name.
    arg_names : sequence of str
        Names of the arguments, for messages.
    """
    before = copy.deepcopy(args)
    work = copy.deepcopy(args)
    # a function in the student's kernel is watched where nothing else of theirs runs
    func = getattr(func, "isolated", func)
    try:
        with quiet():
            func(*work)
    except (Exception, SystemExit) as exc:
        raise _raised(name, exc) from exc
    for arg_name, old, new in zip(arg_names, before, work, strict=True):
        if same(old, new):
            continue
        detail = ""
        if isinstance(old, np.ndarray) and np.shape(new) == old.shape and old.ndim:
            diff = np.argwhere(~((old == new) | ((old != old) & (new != new))))
            if len(diff):
                i = tuple(diff[0])
                detail = f" (entry {_index(i)} was {old[i]}, is now {new[i]})"
        raise AssertionError(
            f"{name} changed its argument {arg_name} in place{detail}. The caller's data must "
            f"stay as it was: write `{arg_name} = {arg_name} - m` rather than "
            f"`{arg_name} -= m`, or work on `{arg_name}.copy()`."
        )


# Code of the standard library and installed packages. Their lines are not the student's:
# printing an array runs Python code in NumPy that grows with the array, and a correct
# vectorized function that prints must not look like a loop.
_LIBRARY_PREFIXES = ("<frozen ", *sorted({
    os.path.realpath(path) for path in (
        sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values())
}))


def traced_call(func: Callable[..., Any], *args: Any) -> tuple[int, Any]:
    """One call ``func(*args)``: its ``call`` and ``line`` trace events in its own code, and
    what it returned.

    Only events in code outside the standard library and installed packages are counted (the
    student's functions, lambdas, comprehensions and helpers). The call runs quietly on deep
    copies, without garbage collection; any previously installed tracer is restored.

    Parameters
    ----------
    func : callable
        Function to trace.
    *args
        Its inputs.

    Returns
    -------
    events : int
    result : object
    """
    if hasattr(func, "traced_call"):
        # a function living in another process is traced where it runs
        events, result = func.traced_call(*args)
        return int(events), result
    args = copy.deepcopy(args)
    count = 0
    own: dict[Any, bool] = {}

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event in ("call", "line"):
            code = frame.f_code
            if code not in own:
                own[code] = not code.co_filename.startswith(_LIBRARY_PREFIXES)
            count += own[code]
        return tracer

    previous = sys.gettrace()
    gc_enabled = gc.isenabled()
    # A garbage collection during the call can run unrelated Python finalizers, whose lines
    # would be counted too: no collection while tracing.
    gc.disable()
    with quiet(swallow_stdout=True):
        sys.settrace(tracer)
        try:
            result = func(*args)
        finally:
            tampered = sys.gettrace() is not tracer
            sys.settrace(previous)
            if gc_enabled:
                gc.enable()
    if tampered:
        # Switching tracing off would hide a loop from the count.
        raise AssertionError("the function changed the Python tracer (sys.settrace).")
    return count, result


def count_trace_events(func: Callable[..., Any], *args: Any) -> int:
    """Number of trace events of one call ``func(*args)`` in its own code (:func:`traced_call`)."""
    return traced_call(func, *args)[0]


#: ``judge(args, result)``: raises AssertionError when a measured call's result is not one
#: that earns the measurement (wrong values, another answer than the function gives elsewhere).
Judge = Callable[[tuple, Any], None]


Problem = Callable[[int], tuple]


class _Judged(AssertionError):
    """A judge's verdict on a measured call, passed on as it is."""


def assert_loop_free(
    func: Callable[..., Any],
    small: Problem,
    large: Problem,
    name: str,
    sizes: tuple[str, str] = ("a small problem", "a large problem"),
    slack: int = 5,
    judge: Judge | None = None,
) -> None:
    """Require that the Python code `func` runs does not grow with the problem size.

    Python-level trace events (function calls and executed lines) are counted for a small and
    a large problem. Loops, comprehensions, ``np.vectorize`` and calls to a looping helper
    all execute more lines on the larger problem; array operations do not.

    Every counted call gets inputs the function has not seen before (``small(k)`` and
    ``large(k)`` for a new ``k``; the warm-up calls get others), so a function that remembers
    its answers gains nothing by it.

    Parameters
    ----------
    func : callable
        The student's function.
    small, large : callable
        ``make(k) -> args``: the arguments of the k-th problem of each size, a new input for
        every ``k`` (same sizes).
    name : str
        The function's name.
    sizes : tuple of str
        Descriptions of the two problems, e.g. ``("N=4, C=3", "N=64, C=16")``.
    slack : int
        Extra events tolerated on the large problem (data-dependent branches).
    judge : callable, optional
        ``judge(args, result)`` of every counted call: a count is evidence only for a call
        whose result is right.
    """
    # warm-up where the steps are counted (the clean process): imports, caches
    warm = getattr(func, "isolated", func)
    call(warm, *small(0), name=name, swallow_stdout=True)
    call(warm, *large(0), name=name, swallow_stdout=True)

    def counted(make: Problem, k: int) -> int:
        args = make(k)
        events, result = traced_call(func, *args)
        if judge is not None:
            try:
                judge(args, result)
            except AssertionError as exc:
                raise _Judged(str(exc)) from None
        return events

    try:
        # Stray events (finalizers, lazy imports) only ever add: the fewest of two runs counts.
        n_small = min(counted(small, k) for k in (1, 2))
        n_large = min(counted(large, k) for k in (1, 2))
    except _Judged as exc:
        raise AssertionError(str(exc)) from None
    except AssertionError as exc:
        raise AssertionError(f"{name} cannot be checked for loops: {exc}") from exc
    except (Exception, SystemExit) as exc:
        raise _raised(name, exc) from exc
    if n_large > n_small + slack:
        raise AssertionError(
            f"{name} is not loop-free: it executed {n_small} Python lines and calls for "
            f"{sizes[0]} but {n_large} for {sizes[1]}. A loop over samples or classes, a "
            "comprehension, np.vectorize or a call to the naive version all grow with the "
            "data; express the computation with whole-array operations instead."
        )


def best_time(
    func: Callable[..., Any], *args: Any, repeats: int = 5, budget: float = 0.5,
    good_enough: float = 0.0,
) -> float:
    """Best wall-clock time of up to `repeats` quiet calls of ``func(*args)``, in seconds.

    Stops early once the total time spent exceeds `budget` or a call is faster than
    `good_enough`. Arguments are copied before each call, outside the timed region. The
    repeated calls all see the same input: time a student's function with ``repeats=1`` on
    a fresh input each time (as :func:`assert_fast` does), so that remembering an answer
    gains nothing.

    Parameters
    ----------
    func : callable
        Function to time.
    *args
        Its inputs.
    repeats : int
        Largest number of calls.
    budget : float
        Seconds after which no further call is started.
    good_enough : float
        Stop as soon as a call takes at most this long.

    Returns
    -------
    float
    """
    if hasattr(func, "best_time"):
        # a function living in another process times itself from this side of the boundary
        return float(func.best_time(*args, repeats=repeats, budget=budget,
                                    good_enough=good_enough))
    best = np.inf
    start = time.perf_counter()
    for _ in range(repeats):
        work = copy.deepcopy(args)
        with quiet(swallow_stdout=True):
            t0 = time.perf_counter()
            func(*work)
            best = min(best, time.perf_counter() - t0)
        if best <= good_enough or time.perf_counter() - start > budget:
            break
    return float(best)


def timed_call(func: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Wall-clock time of one quiet call ``func(*args)`` on copies, and what it returned.

    Only the call is timed (the copies are made before). A function living in another process
    is timed from this side of the boundary (``func.timed_call``).
    """
    if hasattr(func, "timed_call"):
        seconds, result = func.timed_call(*args)
        return float(seconds), result
    work = copy.deepcopy(args)
    with quiet(swallow_stdout=True):
        t0 = time.perf_counter()
        result = func(*work)
        seconds = time.perf_counter() - t0
    return seconds, result


def assert_fast(
    func: Callable[..., Any],
    reference: Callable[..., Any],
    make: Problem,
    name: str,
    factor: float = 10.0,
    grace: float = 0.003,
    rounds: int = 5,
    budget: float = 0.6,
    judge: Judge | None = None,
) -> None:
    """Require `func` to run within ``factor`` times the reference's best time plus `grace`.

    Each round draws a new input of the same size, ``make(k)``, and times the reference (best
    of three) and then the student's function (once) on it: both see the same machine load,
    and the student's function never sees an input twice, so a cache of earlier answers
    gains nothing. The best times are compared. Generous enough for any vectorized answer on
    a busy machine, far below a Python loop over the samples.

    Parameters
    ----------
    func : callable
        The student's function.
    reference : callable
        The reference solution.
    make : callable
        ``make(k) -> args``: the k-th input, a new one for every ``k``, all of one size.
        Inputs from ``k = 1`` on are timed; ``make(0)`` is left for the caller's own checks.
    name : str
        The function's name.
    factor : float
        Allowed slowdown relative to the reference.
    grace : float
        Absolute allowance in seconds, for timer and scheduler noise.
    rounds : int
        Largest number of student runs.
    budget : float
        Seconds after which no further round is started.
    judge : callable, optional
        ``judge(args, result)`` of every timed call: a time is evidence only for a call whose
        result is right.
    """
    t_ref = t_student = np.inf
    start = time.perf_counter()
    for k in range(1, rounds + 1):
        args = make(k)
        t_ref = min(t_ref, best_time(reference, *args, repeats=3))
        try:
            seconds, result = timed_call(func, *args)
        except (Exception, SystemExit) as exc:
            raise _raised(name, exc) from exc
        if judge is not None:
            judge(args, result)
        t_student = min(t_student, seconds)
        if t_student <= factor * t_ref + grace or time.perf_counter() - start > budget:
            break
    limit = factor * t_ref + grace
    if t_student > limit:
        raise AssertionError(
            f"{name} is too slow: its best run took {t_student * 1e3:.1f} ms where a "
            f"vectorized solution takes about {t_ref * 1e3:.1f} ms (limit {limit * 1e3:.1f} ms). "
            "Replace Python loops over the samples by whole-array operations."
        )
