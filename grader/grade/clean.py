"""A clean process for the measurements a student's notebook must not be able to touch.

Loop-freeness, speed and untouched inputs are measured by running the student's function and
watching it. In the student's kernel, code of the notebook's other cells could watch back:
a hook that answers the grader's requests itself, a cache filled by earlier calls. So these
measurements run in a second fresh kernel that holds only the notebook's definitions — its
imports, function definitions and constants (:func:`grader.grade.codescan.definitions`), in
the notebook's order — and none of its other top-level statements, called across the same
numbers-only boundary.

What remains is the function's own body. If the notebook's definitions reach for the
interpreter's internals (the tracer, frames, builtins, a library's functions), or the
function cannot be defined without running the rest of the notebook, the measurement cannot
be trusted either way: the item is held for review (:class:`grader.checks.Review`), never
awarded and never failed on a guess.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from grader.checks import Review
from grader.grade.bridge import Bridge, BridgeError
from grader.grade.codescan import TAMPERING, definitions, findings, parse
from grader.grade.kernel import Kernel, KernelLost, Timeout

#: Fresh clean processes one notebook may use (one more after one died).
RESTARTS = 1


def _functions(tree: ast.Module | None) -> dict[str, ast.AST]:
    """The functions a cell defines at its top level: ``def f`` and ``f = lambda ...``."""
    found: dict[str, ast.AST] = {}
    for node in tree.body if tree is not None else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
    return found


class CleanProcess:
    """The clean kernel of one notebook, started when a measurement first needs it.

    Parameters
    ----------
    new_kernel : callable
        Returns a fresh kernel.
    timeout : float
        Seconds a call (or a cell of definitions) may take.
    """

    def __init__(self, new_kernel: Callable[[], Kernel], timeout: float) -> None:
        self.new_kernel = new_kernel
        self.timeout = timeout
        self.kernels: list[Kernel] = []
        self._modules: dict[str, str] = {}
        self._functions: set[str] = set()  # the functions kept so far
        self._cells: list[str] = []  # each executed cell's definitions, in order
        self._fed = 0
        # each function defined so far: the names its body uses, and why it is not trusted
        self._uses: dict[str, set[str]] = {}
        self._doubts: dict[str, str] = {}
        self._sticky: dict[str, str] = {}  # doubts no new definition lifts
        self._bridge: Bridge | None = None

    def add(self, source: str, label: str) -> None:
        """Take the definitions of a cell the notebook has just run."""
        modules = dict(self._modules)
        found = definitions(source, self._modules, self._functions)
        if found.code:
            self._cells.append(found.code)
        cell_findings = findings(source, {**modules, **self._modules})
        defined = _functions(parse(source))
        for name, node in defined.items():
            self._uses[name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            self._doubts.pop(name, None)  # a new definition replaces the old one
            for finding in cell_findings:
                if finding.kind in TAMPERING and \
                        node.lineno <= finding.line <= (node.end_lineno or 0):
                    self._doubts[name] = (f"{label}, line {finding.line}: "
                                          f"{finding.reason} ({finding.code!r})")
                    break
        # Code the clean process does not run (a decorated definition included) may bind a
        # function's name after its definition: the clean process would measure another one.
        for name, line in found.rebound.items():
            targets = list(self._uses) if name == "*" else [name] if name in self._uses else []
            for target in targets:
                if target in defined and defined[target].lineno > line:
                    continue  # defined again below, and kept: that definition counts
                self._doubts[target] = (f"{label}, line {line}: code the notebook runs binds "
                                        f"{target} again after its definition")
        for name, line in found.declared_global.items():  # any later call may rebind these
            self._sticky[name] = (f"{label}, line {line}: a function of the notebook "
                                  f"declares {name} global")

    def _doubt(self, name: str) -> str | None:
        """Why ``name``, or a function it calls, cannot be measured reliably (None: it can)."""
        seen, pending = set(), [name]
        while pending:
            current = pending.pop()
            if current in seen or current not in self._uses:
                continue
            seen.add(current)
            if current in self._doubts or current in self._sticky:
                return self._doubts.get(current) or self._sticky[current]
            pending.extend(self._uses[current])
        return None

    def bridge(self) -> Bridge:
        """A bridge into the clean kernel, holding every definition the notebook has run."""
        if self._bridge is None or self._bridge.lost:
            if len(self.kernels) > RESTARTS:
                raise Review("held for review: the notebook's definitions alone end the clean "
                             "process the measurements run in.")
            kernel = self.new_kernel()
            self.kernels.append(kernel)
            self._bridge, self._fed = Bridge(kernel, self.timeout, {}), 0
        if self._fed < len(self._cells):
            pending, self._fed = self._cells[self._fed:], len(self._cells)
            try:
                self._bridge.kernel.request({"op": "define", "cells": pending},
                                            timeout=self.timeout)
            except (Timeout, KernelLost):
                self._bridge.kernel.kill()  # a definition that hangs must not go on running
                self._bridge.lost = True
                return self.bridge()
        return self._bridge

    def function(self, name: str) -> Bridge:
        """The clean bridge, once ``name`` is known to be a function that can be trusted there.

        Raises
        ------
        Review
            When the measurement cannot be trusted (see the module's description).
        """
        doubt = self._doubt(name)
        if doubt:
            raise Review(f"held for review: {doubt}; loop-freeness, speed and untouched inputs "
                         f"are not measured for {name} when its code does that.")
        bridge = self.bridge()
        try:
            answer, _ = bridge.request("kind", name)
        except BridgeError as error:
            raise Review(f"held for review: {error}") from None
        if answer.get("kind") != "callable":
            raise Review(f"held for review: {name} cannot be defined from the notebook's "
                         "imports, functions and constants alone (it needs code the notebook "
                         "runs at its top level), so it cannot be measured on its own.")
        return bridge

    def close(self) -> None:
        for kernel in self.kernels:
            kernel.close()
