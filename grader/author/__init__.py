"""Authoring an assignment: the vocabulary of its spec, and the tools that check it.

An assignment's hidden tests are its spec (``source/<assignment>/hidden/spec.py``): each
function students write is declared once — signature, reference, which outputs are gradients
of which input — with its standard items, and the items a spec cannot say are written by hand
with :mod:`grader.checks`. See :mod:`grader.author.spec`.
"""

from grader.author.function import BY_KEY, Function
from grader.author.items import (
    All,
    Finite,
    Gradient,
    Item,
    LoopFree,
    Shapes,
    Speed,
    Tol,
    Untouched,
    Values,
)
from grader.author.problems import Case, Family, Inputs, Problems, case
from grader.author.spec import Spec

__all__ = ["BY_KEY", "All", "Case", "Family", "Finite", "Function", "Gradient", "Inputs",
           "Item", "LoopFree", "Problems", "Shapes", "Spec", "Speed", "Tol", "Untouched",
           "Values", "case"]
