"""An assignment's spec: its functions, their standard items and the items written by hand.

The hidden tests of an assignment are one module, ``source/<assignment>/hidden/spec.py``,
holding a :class:`Spec` named ``spec``::

    spec = Spec()
    spec.function("svm_loss_naive(W, X, y, reg) -> (loss, dW)", reference=ref.svm_loss,
                  gradients={"dW": "W"},
                  loss=Values(value_problems, hint="loss = (1/N) sum ... + reg * sum(W**2)."),
                  gradient=Gradient(numeric=problems, exact=kinks, rtol=1e-9, scale=dW_scale),
                  shapes=Shapes(edge_problems), untouched=Untouched(problem(20, 6, 3)))

    @spec.item
    def reduction(softmax_cross_entropy, binary_cross_entropy, two_class_logit):
        ...  # a check a spec cannot say, written with grader.checks

A test cell's hidden part then names the item it grades, and nothing else::

    ### BEGIN HIDDEN TESTS
    grade("svm_loss_naive.loss")
    ### END HIDDEN TESTS

A standard item is ``<function>.<key>`` (the keyword it was declared with); an item written
by hand is its function's name, and its parameters name the student's objects it is given.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from grader import checks
from grader.author.function import Function
from grader.author.items import Item


@dataclass(frozen=True)
class Registered:
    """One item of the spec: what it grades with, and the student names it uses."""

    id: str
    uses: tuple[str, ...]
    run: Callable[..., None]  # run(*student objects, in the order of ``uses``)
    function: Function | None = None  # a standard item's function, and the item itself
    item: Item | None = None


class Spec:
    """The items of one assignment, by id, in the order they were declared."""

    def __init__(self) -> None:
        self.functions: dict[str, Function] = {}
        self._items: dict[str, Registered] = {}

    # ---- declaring -------------------------------------------------------------------------
    def function(self, signature: str, reference: Callable[..., Any], *,
                 gradients: Mapping[str, str] | None = None, gradients_of: str | None = None,
                 describe: Callable[..., str] | None = None, **items: Item) -> Function:
        """Declare a function students write and its standard items (``key=Item(...)``).

        See :class:`grader.author.function.Function` for the parameters; each keyword item
        becomes the item ``<function name>.<key>``.
        """
        fn = Function(signature, reference, dict(gradients or {}), gradients_of, describe)
        if fn.name in self.functions:
            raise ValueError(f"{fn.name} is declared twice")
        self.functions[fn.name] = fn
        for key, item in items.items():
            if not isinstance(item, Item):
                raise TypeError(f"{fn.name}.{key}: expected an item (Values, Gradient, ...), "
                                f"got {type(item).__name__}")
            self._add(Registered(f"{fn.name}.{key}", (fn.name,),
                                 lambda student, fn=fn, item=item: item.run(fn, student), fn,
                                 item))
        return fn

    def item(self, check: Callable[..., None]) -> Callable[..., None]:
        """Register a hand-written item (a decorator); its parameters name what it grades."""
        parameters = tuple(inspect.signature(check).parameters)
        self._add(Registered(check.__name__, parameters, check))
        return check

    def value(self, name: str, expected: float, *, rtol: float = 1e-7, atol: float = 0.0,
              hint: str = "") -> None:
        """Register an item for a number the student computes and names ``name``."""

        def check(value: Any) -> None:
            got = checks.as_float(value, name)
            checks.assert_close(got, expected, name, rtol=rtol, atol=atol, hint=hint)

        self._add(Registered(name, (name,), check))

    def _add(self, item: Registered) -> None:
        if item.id in self._items:
            raise ValueError(f"item {item.id!r} is declared twice")
        self._items[item.id] = item

    # ---- using -----------------------------------------------------------------------------
    def ids(self) -> list[str]:
        """Every item, in the order it was declared."""
        return list(self._items)

    def __getitem__(self, item_id: str) -> Registered:
        try:
            return self._items[item_id]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise KeyError(f"no item {item_id!r} in this assignment's spec (it has: {known})")\
                from None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def run(self, item_id: str, names: Mapping[str, Any]) -> None:
        """Grade item ``item_id`` with the student's objects looked up in ``names``.

        Raises
        ------
        NameError
            When the student's notebook does not define a name the item grades.
        AssertionError
            When the item is not earned (the message is for the student).
        """
        item = self[item_id]
        given = []
        for name in item.uses:
            try:
                given.append(names[name])
            except KeyError:
                raise NameError(f"name {name!r} is not defined") from None
        item.run(*given)
