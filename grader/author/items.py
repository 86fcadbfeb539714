"""The standard items, generated from a function's spec: values, gradient, shapes, untouched,
loop-free and speed.

Each item is a small declaration (which inputs, which tolerance, which hint) whose
:meth:`Item.run` grades one student function of the spec's :class:`~grader.author.function.
Function`: it returns None when the item is earned and raises AssertionError with a message
for the student otherwise (which output, which entry, how far off, the hint), never quoting a
whole hidden input.

The loop-free and speed items measure the function where the notebook's other code cannot
watch (the clean process, :mod:`grader.grade.clean`); every call they count or time is also
judged for its values against the reference on that same input, and compared with what the
function returns in the notebook's own kernel on it. A function that is fast but wrong when
measured earns no evidence; one that returns something else when measured than in its
notebook has its items revoked and is flagged (:data:`grader.grade.bridge.DIVERGED`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader import checks
from grader.author.function import Function
from grader.author.outputs import Output, label
from grader.author.problems import Case, Family, Problems

Student = Callable[..., Any]


@dataclass(frozen=True)
class Tol:
    """A tolerance: an entry passes when ``|got - expected| <= atol' + rtol * |expected|``,
    with ``atol' = atol + relative_atol * max|expected|``."""

    rtol: float = 1e-7
    atol: float = 1e-12
    relative_atol: float = 0.0

    def atol_for(self, expected: Any) -> float:
        if not self.relative_atol:
            return self.atol
        return self.atol + self.relative_atol * float(np.max(np.abs(expected), initial=0.0))


def _pick(value: Any, name: str, default: Any) -> Any:
    """``value[name]`` for a per-output mapping (keyed by output or owner name), else value."""
    if isinstance(value, Mapping):
        return value.get(name, value.get(name.split("[")[0], default))
    return default if value is None else value


class Item:
    """One graded item of a function. Subclasses implement :meth:`run`.

    ``first & second`` is one item that runs both, in order.
    """

    def run(self, fn: Function, student: Student) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __and__(self, other: Item) -> Item:
        return All((self, other))


@dataclass
class All(Item):
    """Several checks that earn one item together."""

    parts: tuple[Item, ...]

    def run(self, fn: Function, student: Student) -> None:
        for part in self.parts:
            part.run(fn, student)

    def __and__(self, other: Item) -> Item:
        return All((*self.parts, other))


@dataclass
class Values(Item):
    """The outputs equal the reference's on every input of ``problems``.

    Parameters
    ----------
    problems : Problems, list or callable
        The inputs (small, edge and real-use sizes; large inputs for a stability item).
    hint : str or dict
        Appended to a failure; a dict gives each output its own.
    outputs : sequence of str or "all", optional
        Which outputs are compared (default: those that are not gradients).
    tol : Tol or dict
        Tolerance, or one per output.
    """

    problems: Any
    hint: str | Mapping[str, str] = ""
    outputs: Sequence[str] | str | None = None
    tol: Tol | Mapping[str, Tol] = field(default_factory=Tol)

    def __post_init__(self) -> None:
        self.problems = Problems.of(self.problems)

    def _selected(self, fn: Function, case: Case) -> list[Output]:
        if self.outputs == "all":
            return fn.outputs(case)
        if self.outputs is None:
            return fn.value_outputs(case)
        chosen = [o for o in fn.outputs(case)
                  if o.name in self.outputs or o.name.split("[")[0] in self.outputs]
        if not chosen:
            raise ValueError(f"{fn.name} has none of the outputs {list(self.outputs)}")
        return chosen

    def run(self, fn: Function, student: Student) -> None:
        for case in self.problems:
            selected = self._selected(fn, case)
            got = fn.answer(student, case, only={o.name for o in selected})
            expected, what = fn.expected(case), fn.what(case)
            for output in selected:
                tol = _pick(self.tol, output.name, Tol())
                checks.assert_close(got[output.name], expected[output.name],
                                    label(fn.signature, output, what), rtol=tol.rtol,
                                    atol=tol.atol_for(expected[output.name]),
                                    hint=_pick(self.hint, output.name, ""))


@dataclass
class Gradient(Item):
    """Every gradient output is the gradient of the loss: checked numerically against the
    reference's loss, and entry by entry against the reference's gradient.

    Parameters
    ----------
    numeric : Problems, list or callable
        Inputs checked both ways.
    exact : Problems, list or callable
        Inputs checked entry by entry only: where only the derived formula is exact (a
        gradient with tiny entries next to a large loss, margins near a kink), so a gradient
        obtained by finite differences cannot pass.
    rtol : float
        Largest error of an entry relative to its magnitude (``scale``).
    atol : float or callable
        Absolute allowance, or ``atol(*args)``.
    scale : callable, optional
        ``scale(*args)``: the magnitude of each entry (the sum of the absolute values of the
        terms it adds up), an array or a dict by output or argument name; default ``|ref|``.
    hint : str
        Appended to every failure.
    derived_hint : str
        Appended too when an entry differs from the reference's.
    numeric_tol : float
        Largest relative error against the numerical gradient.
    wrt : sequence of str, optional
        Only the gradients with respect to these arguments (one item for the output layer's
        parameters, another for the hidden layer's, say); default: every gradient.
    """

    numeric: Any = ()
    exact: Any = ()
    rtol: float = 1e-7
    atol: float | Callable[..., float] = 0.0
    scale: Callable[..., Any] | None = None
    hint: str = ""
    derived_hint: str = ""
    numeric_tol: float = 1e-5
    wrt: Sequence[str] | None = None

    def __post_init__(self) -> None:
        self.numeric, self.exact = Problems.of(self.numeric), Problems.of(self.exact)

    def run(self, fn: Function, student: Student) -> None:
        for case in self.numeric:
            self._check(fn, student, case, numerically=True)
        for case in self.exact:
            self._check(fn, student, case, numerically=False)

    def _check(self, fn: Function, student: Student, case: Case, numerically: bool) -> None:
        gradients = [(o, i) for o, i in fn.gradient_outputs(case)
                     if self.wrt is None or fn.signature.args[i] in self.wrt]
        if not gradients:
            raise ValueError(f"{fn.name}: a gradient item needs gradients=... in its spec "
                             "(of the arguments it names in wrt=...)")
        got = fn.answer(student, case, only={o.name for o, _ in gradients})
        expected, what = fn.expected(case), fn.what(case)
        scales = self.scale(*case.args) if self.scale else None
        atol = self.atol(*case.args) if callable(self.atol) else self.atol
        for output, index in gradients:
            where = label(fn.signature, output, what)
            if numerically:
                checks.assert_gradient(fn.objective(case, index), case.args[index],
                                       got[output.name], where, tol=self.numeric_tol,
                                       hint=self.hint)
            scale = scales
            if isinstance(scales, Mapping):
                scale = _pick(scales, output.name, scales.get(fn.signature.args[index]))
            checks.assert_close(got[output.name], expected[output.name], where,
                                rtol=self.rtol, atol=atol, scale=scale,
                                hint=self.hint + self.derived_hint)


@dataclass
class Shapes(Item):
    """Outputs of the right form (numbers, arrays of the reference's shapes) and finite, at
    edge sizes (``N = 1``, ``C = 2``, ...).

    Parameters
    ----------
    problems : Problems, list or callable
        The inputs.
    extra : callable, optional
        ``extra(got, case, what)``: a property to check as well (rows summing to 1, say).
    """

    problems: Any
    extra: Callable[[dict[str, Any], Case, str], None] | None = None

    def __post_init__(self) -> None:
        self.problems = Problems.of(self.problems)

    def run(self, fn: Function, student: Student) -> None:
        for case in self.problems:
            got, what = fn.answer(student, case), fn.what(case)
            for output in fn.outputs(case):
                checks.assert_finite(got[output.name], label(fn.signature, output, what))
            if self.extra is not None:
                self.extra(got, case, what)


@dataclass
class Finite(Item):
    """Every output finite (whatever its shape: that is :class:`Shapes`' business), e.g. at
    large inputs, where an unstable formula overflows."""

    problems: Any

    def __post_init__(self) -> None:
        self.problems = Problems.of(self.problems)

    def run(self, fn: Function, student: Student) -> None:
        for case in self.problems:
            got, what = fn.answer(student, case, shapes=False), fn.what(case)
            for output in fn.outputs(case):
                checks.assert_finite(got[output.name], label(fn.signature, output, what))


@dataclass
class Untouched(Item):
    """The function leaves its arguments exactly as they were.

    Watched in the clean process, then confirmed in the notebook's kernel on the same input.
    """

    problem: Any  # the arguments (a tuple or a Case), or a callable that makes them

    def __post_init__(self) -> None:
        problem = self.problem
        self._case = Problems(lambda: [problem() if callable(problem) else problem])

    def run(self, fn: Function, student: Student) -> None:
        case = self._case[0]
        names = list(fn.signature.args)
        checks.assert_untouched(student, *case.args, name=fn.name, arg_names=names)
        if not _remote(student):
            return
        work = checks.copy_args(case.args)
        try:
            checks.call(student, *work, name=fn.name, swallow_stdout=True)
        except AssertionError as error:
            _diverged(fn, student, case, f"it failed in the notebook ({error})")
        changed = [n for n, old, new in zip(names, case.args, work) if not checks.same(old, new)]
        if changed:
            _diverged(fn, student, case, f"it changed {', '.join(changed)} in the notebook "
                                         "but not where it was watched")


@dataclass
class LoopFree(Item):
    """The Python code the function runs does not grow with the problem size.

    Parameters
    ----------
    small, large : Family or callable
        ``make(k)``: the k-th input of each size, a new one for every ``k``.
    slack : int
        Extra trace events tolerated on the large input (data-dependent branches).
    """

    small: Any
    large: Any
    slack: int = 5

    def __post_init__(self) -> None:
        self.small, self.large = _family(self.small), _family(self.large)

    def run(self, fn: Function, student: Student) -> None:
        sizes = (fn.about(self.small(0)), fn.about(self.large(0)))
        checks.assert_loop_free(student, lambda k: self.small(k).args,
                                lambda k: self.large(k).args, fn.name, sizes=sizes,
                                slack=self.slack, judge=_judge(fn, student, "counted"))


@dataclass
class Speed(Item):
    """The function runs within ``factor`` times the reference's time (plus ``grace`` s).

    Parameters
    ----------
    make : Family or callable
        ``make(k)``: the k-th input of one size (``k = 0`` is never timed).
    factor, grace, rounds, budget
        As :func:`grader.checks.assert_fast`.
    """

    make: Any
    factor: float = 10.0
    grace: float = 0.003
    rounds: int = 5
    budget: float = 0.6

    def __post_init__(self) -> None:
        self.make = _family(self.make)

    def run(self, fn: Function, student: Student) -> None:
        checks.assert_fast(student, fn.reference, lambda k: self.make(k).args, fn.name,
                           factor=self.factor, grace=self.grace, rounds=self.rounds,
                           budget=self.budget, judge=_judge(fn, student, "timed"))


def _family(value: Any) -> Family:
    return value if isinstance(value, Family) else Family(value)


def _remote(student: Student) -> bool:
    """True for a function of a student's kernel (measured in the clean process)."""
    return hasattr(student, "isolated") and student.isolated is not student


def _diverged(fn: Function, student: Student, case: Case, how: str) -> None:
    message = (f"{fn.name} behaves differently when it is measured: on the same input "
               f"({fn.what(case)}) {how}. A function must compute the same thing wherever it "
               "runs; its items score 0.")
    mark = getattr(student, "diverged", None)
    if mark is not None:
        mark(message)
    raise AssertionError(message)


def _judge(fn: Function, student: Student, how: str) -> Callable[[tuple, Any], None]:
    """What every counted or timed call must also be: right, and the notebook's own answer.

    "Right" is generous (any one output right, loosely): a vectorized function whose only
    mistake is one output keeps its loop-free and speed points, and loses that output's own
    item. The function's answer in the notebook's kernel on the same input must be the same.
    """

    def judge(args: tuple, result: Any) -> None:
        case = Case(tuple(args))
        try:  # leniently: an output of the wrong shape is one not right, not a call not read
            got = fn.read(case, result, shapes=False)
        except AssertionError as error:
            unreadable = error
            got = None
        if _remote(student):
            # the same input in the notebook's own kernel: it must give the same answer
            try:
                mine = fn.answer(student, case, swallow_stdout=True, shapes=False)
            except AssertionError as error:
                if got is not None:
                    _diverged(fn, student, case, f"it failed in the notebook ({error})")
                mine = None
            if got is None and mine is not None:
                _diverged(fn, student, case, f"where it was measured, {unreadable}")
            if got is not None:
                differ = [o.name for o in fn.outputs(case)
                          if not _same(got[o.name], mine[o.name])]
                if differ:
                    _diverged(fn, student, case, f"{', '.join(differ)} differed from what "
                                                 "it returned in the notebook")
        if got is None:
            raise AssertionError(f"{fn.name}, when its calls were {how}: {unreadable}")
        expected, what = fn.expected(case), fn.what(case)
        if not any(_loosely_right(got[o.name], expected[o.name]) for o in fn.outputs(case)):
            names = ", ".join(o.name for o in fn.outputs(case))
            raise AssertionError(
                f"{fn.name}: no output ({names}) of {what} is right when its calls are {how}, "
                "so there is no vectorized computation to credit yet; make its values right "
                "first.")

    return judge


def _loosely_right(got: Any, expected: Any) -> bool:
    if np.shape(got) != np.shape(expected):
        return False
    if np.ndim(expected) == 0 and np.ndim(got) == 0:
        return bool(np.isclose(got, expected, rtol=1e-6, atol=1e-9))
    return bool(np.allclose(got, expected, rtol=1e-5, atol=1e-9))


def _same(a: Any, b: Any) -> bool:
    """The same values, to rounding: what one function gives twice on the same input."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        size = max(float(np.max(np.abs(np.nan_to_num(a)), initial=0.0)),
                   float(np.max(np.abs(np.nan_to_num(b)), initial=0.0)))
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12 * size, equal_nan=True))
