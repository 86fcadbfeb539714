"""The inputs hidden tests try: fixed, made once when first needed, and read-only.

A hidden test must give the same grade every time, so its inputs come from fixed seeds; they
are made once per grading process, on first use (a worker that never grades an item never
pays for its large problems), and every array in them is made read-only: the student's
function and the comparisons only ever receive copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One input: the arguments of a call, and what the messages add about it.

    Parameters
    ----------
    args : tuple
        The arguments, in the order of the function's signature.
    note : str
        Said after the call in messages, e.g. ``"scores up to +-1e4"``.
    about : str
        How messages describe the input (``"(N=5, D=3)"``), instead of the function's own way.
    """

    args: tuple
    note: str = ""
    about: str = ""  # how messages describe the input, instead of the function's own way


def case(*args: Any, note: str = "") -> Case:
    """``case(S, y, note="scores up to +-1e4")``: one input with a note for the messages."""
    return Case(tuple(args), note)


def _frozen(value: Any) -> Case:
    found = value if isinstance(value, Case) else Case(tuple(value))
    if not isinstance(found.args, tuple):
        raise TypeError(f"an input must be a tuple of arguments, got {type(found.args).__name__}")
    for part in found.args:
        if isinstance(part, np.ndarray):
            part.setflags(write=False)
    return found


class Problems(Sequence):
    """A list of inputs, made by ``make()`` when first used.

    Parameters
    ----------
    make : callable or iterable
        Returns (or is) the inputs: argument tuples or :class:`Case` objects.
    """

    def __init__(self, make: Callable[[], Iterable[Any]] | Iterable[Any]) -> None:
        self._make = make
        self._cases: list[Case] | None = None

    @classmethod
    def of(cls, value: Problems | Callable[[], Iterable[Any]] | Iterable[Any]) -> Problems:
        """``value`` itself if it already is a :class:`Problems`."""
        return value if isinstance(value, Problems) else cls(value)

    def _all(self) -> list[Case]:
        if self._cases is None:
            made = self._make() if callable(self._make) else self._make
            self._cases = [_frozen(item) for item in made]
        return self._cases

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[Case]:
        return iter(self._all())


class Family:
    """Inputs of one size, a new one for every ``k``: ``make(k)`` returns the k-th.

    The loop-free and speed items give every counted or timed call an input the function has
    not seen before (``k = 1, 2, ...``; ``make(0)`` is for warm-ups), so a function that
    remembers its answers gains nothing.
    """

    def __init__(self, make: Callable[[int], Any]) -> None:
        self._make = make
        self._cases: dict[int, Case] = {}

    def __call__(self, k: int) -> Case:
        if k not in self._cases:
            self._cases[k] = _frozen(self._make(k))
        return self._cases[k]


@dataclass(frozen=True)
class _Arg:
    name: str
    dims: tuple[str, ...]  # the shape, in dimension names
    labels: str | None = None  # labels in [0, dims[labels]) when set
    value: Any = None  # a constant (a number) when set


def _parse_arg(name: str, text: Any) -> _Arg:
    if not isinstance(text, str):
        return _Arg(name, (), value=text)
    words = text.replace(",", " ").replace("(", " ").replace(")", " ").split()
    if words and words[0] == "labels":
        if len(words) != 3:
            raise ValueError(f"argument {name}: write labels as 'labels N C' (N labels in "
                             f"[0, C)), not {text!r}")
        return _Arg(name, (words[1],), labels=words[2])
    for word in words:
        if not word.isidentifier():
            raise ValueError(f"argument {name}: {text!r} should name its dimensions, e.g. "
                             "'N D', or be 'labels N C' or a number")
    return _Arg(name, tuple(words))


class Inputs:
    """A generator of valid inputs, declared by the arguments' shapes in named dimensions.

    ``Inputs(X="N D", y="labels N C", W="D C", reg=0.1)`` draws ``X`` and ``W`` with standard
    normal entries (times ``scale[name]``, default 1), ``y`` as integers in ``[0, C)`` and
    passes ``reg`` as it is, in that order: the order of the function's arguments. Inputs of
    given sizes come from fixed seeds (the sizes and a seed), so a grade never depends on
    chance; ``where(*args)`` may reject a draw (to keep inputs off a kink, say), which is then
    drawn again.

    Parameters
    ----------
    scale : dict, optional
        Standard deviation of each array argument's entries.
    where : callable, optional
        ``where(*args) -> bool``: whether a draw is a valid input.
    **args
        Each argument: its dimensions (``"N D"``, ``""`` for a single number), ``"labels N
        C"``, or a constant.
    """

    def __init__(self, *, scale: dict[str, float] | None = None,
                 where: Callable[..., bool] | None = None, **args: Any) -> None:
        self.args = [_parse_arg(name, text) for name, text in args.items()]
        self.scale = dict(scale or {})
        self.where = where
        unknown = set(self.scale) - {a.name for a in self.args}
        if unknown:
            raise ValueError(f"scale names no argument: {', '.join(sorted(unknown))}")

    def draw(self, sizes: dict[str, int], seed: int = 0, **constants: Any) -> Case:
        """One input with the dimensions ``sizes`` (``N=5, D=3, C=4``), from a fixed seed.

        ``constants`` replace the declared constants (``reg=0.0``).
        """
        needed = {d for a in self.args for d in (*a.dims, *([a.labels] if a.labels else []))}
        missing = needed - set(sizes)
        if missing:
            raise ValueError(f"sizes lack {', '.join(sorted(missing))} (given: {sizes})")
        key = [seed, *(int(sizes[d]) for d in sorted(needed))]
        rng = np.random.default_rng(key)
        for _ in range(1000):
            args = []
            for arg in self.args:
                if arg.labels:
                    count, classes = int(sizes[arg.dims[0]]), int(sizes[arg.labels])
                    args.append(rng.integers(0, classes, size=count))
                elif arg.value is not None or arg.name in constants:
                    args.append(constants.get(arg.name, arg.value))
                else:
                    shape = tuple(int(sizes[d]) for d in arg.dims)
                    args.append(self.scale.get(arg.name, 1.0) * rng.standard_normal(shape))
            if self.where is None or self.where(*args):
                about = ", ".join(f"{d}={int(sizes[d])}" for d in sizes)
                if constants:
                    about += ", " + ", ".join(f"{k}={v:g}" for k, v in constants.items())
                return Case(tuple(args), about=f"({about})")
        raise ValueError(f"no valid input of sizes {sizes} in 1000 draws: `where` rejects them")

    def problems(self, *sizes: dict[str, int], seed: int = 0, **constants: Any) -> Problems:
        """Inputs of each of ``sizes`` (made when first needed)."""
        return Problems(lambda: [self.draw(s, seed, **constants) for s in sizes])

    def family(self, sizes: dict[str, int], **constants: Any) -> Family:
        """Inputs of one size, a new one for every ``k`` (for the loop-free and speed items)."""
        return Family(lambda k: self.draw(sizes, seed=1000 + k, **constants))
