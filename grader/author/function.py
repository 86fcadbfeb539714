"""One function the students write, as its spec declares it: signature, reference, gradients.

:class:`Function` is what every standard item works with: it calls a student's function on
an input, reads what it returned against what the reference returns there
(:mod:`grader.author.outputs`), names the call in messages and knows which outputs are
gradients of which output with respect to which argument.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader import checks
from grader.author.outputs import Output, Signature, layout, read
from grader.author.problems import Case

#: ``gradients={"grads": BY_KEY}``: each key of the dict ``grads`` names the argument its
#: array is the gradient with respect to.
BY_KEY = "each key"


def describe_args(names: tuple[str, ...], args: tuple) -> str:
    """The default way messages describe an input: array shapes and scalar values."""
    parts = []
    for name, value in zip(names, args):
        if isinstance(value, np.ndarray):
            parts.append(f"{name} of shape {value.shape}")
        elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            parts.append(f"{name}={float(value):g}")
    return "with " + ", ".join(parts) if parts else ""


@dataclass
class Function:
    """A function of the assignment, as declared in its spec.

    Parameters
    ----------
    signature : str
        ``"name(arg, ...) -> output"`` or ``"name(arg, ...) -> (output, ...)"``.
    reference : callable
        The reference solution, with the same arguments and the same form of result (a
        dict output is a dict of arrays in the reference too).
    gradients : dict, optional
        Output name -> argument name it is the gradient of the loss with respect to, e.g.
        ``{"dW": "W"}``; ``{"grads": BY_KEY}`` for a dict whose keys name the arguments.
    gradients_of : str, optional
        The output the gradients belong to, the loss (default: the first number among the
        outputs).
    describe : callable, optional
        ``describe(*args) -> str``: how messages name an input (default: its shapes and
        scalar values, see :func:`describe_args`).
    """

    signature: Signature
    reference: Callable[..., Any]
    gradients: Mapping[str, str] = field(default_factory=dict)
    gradients_of: str | None = None
    describe: Callable[..., str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.signature, str):
            self.signature = Signature.parse(self.signature)
        unknown = [arg for arg in self.gradients.values()
                   if arg != BY_KEY and arg not in self.signature.args]
        if unknown:
            raise ValueError(f"{self.name}: gradients name arguments it does not have: "
                             f"{', '.join(unknown)} (it has {', '.join(self.signature.args)})")
        self._expected: dict[int, tuple[Case, list[Output], dict[str, Any]]] = {}

    @property
    def name(self) -> str:
        return self.signature.name

    # ---- one input -------------------------------------------------------------------------
    def about(self, case: Case) -> str:
        """The input ``case``, as messages describe it ("(N=4, D=3, C=3, reg=0.1)")."""
        if case.about:
            return case.about
        return self.describe(*case.args) if self.describe else \
            describe_args(self.signature.args, case.args)

    def what(self, case: Case) -> str:
        """The call on ``case``, as messages name it."""
        about = self.about(case)
        text = f"{self.name}({', '.join(self.signature.args)})"
        text = f"{text} {about}" if about else text
        return f"{text}, {case.note}" if case.note else text

    def _reference(self, case: Case) -> tuple[list[Output], dict[str, Any]]:
        known = self._expected.get(id(case))
        if known is None or known[0] is not case:
            result = self.reference(*case.args)
            outputs = layout(self.signature, result)
            values = read(self.signature, outputs, result, f"the reference of {self.name}")
            for value in values.values():
                if isinstance(value, np.ndarray):
                    value.setflags(write=False)
            if len(self._expected) > 512:  # families make new inputs without end
                self._expected.clear()
            known = self._expected[id(case)] = (case, outputs, values)
        return known[1], known[2]

    def outputs(self, case: Case) -> list[Output]:
        """The outputs of a call on ``case``, in the forms of the reference's."""
        return self._reference(case)[0]

    def expected(self, case: Case) -> dict[str, Any]:
        """What the reference returns on ``case``, by output name (read-only)."""
        return self._reference(case)[1]

    def read(self, case: Case, result: Any, only: Collection[str] | None = None,
             shapes: bool = True) -> dict[str, Any]:
        """A student's ``result`` on ``case``, by output name (AssertionError if malformed);
        see :func:`grader.author.outputs.read` for ``only`` and ``shapes``."""
        return read(self.signature, self.outputs(case), result, self.what(case), only, shapes)

    def answer(self, student: Callable[..., Any], case: Case, swallow_stdout: bool = False,
               only: Collection[str] | None = None, shapes: bool = True) -> dict[str, Any]:
        """Call the student's function on copies of ``case`` and read what it returns."""
        result = checks.call(student, *case.args, name=self.name,
                             swallow_stdout=swallow_stdout)
        return self.read(case, result, only, shapes)

    # ---- gradients -------------------------------------------------------------------------
    def gradient_outputs(self, case: Case) -> list[tuple[Output, int]]:
        """Each gradient output on ``case``, with the index of its argument."""
        found = []
        for output in self.outputs(case):
            owner = output.name.split("[")[0]
            arg = self.gradients.get(output.name) or self.gradients.get(owner)
            if arg == BY_KEY and len(output.path) > 0 and isinstance(output.path[-1], str):
                arg = output.path[-1]
            if arg and arg != BY_KEY:
                if arg not in self.signature.args:
                    raise ValueError(f"{self.name}: {output.name} is declared the gradient with "
                                     f"respect to {arg!r}, which is not an argument")
                found.append((output, self.signature.args.index(arg)))
        return found

    def loss_output(self, case: Case) -> str:
        """The output the gradients are gradients of."""
        if self.gradients_of:
            return self.gradients_of
        for output in self.outputs(case):
            if output.scalar:
                return output.name
        raise ValueError(f"{self.name}: no number among its outputs to be the loss; "
                         "name it with gradients_of=...")

    def objective(self, case: Case, index: int) -> Callable[[np.ndarray], float]:
        """The reference's loss as a function of argument ``index`` alone (the others fixed)."""
        loss = self.loss_output(case)
        outputs = self.outputs(case)

        def f(value: np.ndarray) -> float:
            args = list(case.args)
            args[index] = value
            result = self.reference(*args)
            return float(read(self.signature, outputs, result, self.name)[loss])

        return f

    def value_outputs(self, case: Case) -> list[Output]:
        """The outputs that are not gradients."""
        gradients = {output.name for output, _ in self.gradient_outputs(case)}
        return [o for o in self.outputs(case) if o.name not in gradients]
