"""Trusted verdicts: hidden tests run in the grading process, never in the student's kernel.

Before a notebook is executed, the hidden part of every test cell is cut out; the kernel runs
the student's cells and the public tests only. Right after a test cell has run, its hidden
part runs here, against the student's objects reached through :mod:`grader.grade.bridge`, so
the student's code can neither see the hidden test nor change how it compares (no patched
``np.allclose``, no IPython hook, no frame to read). The verdict alone decides the cell's
score: its outputs are rewritten so that nbgrader's ``determine_grade`` reads exactly it.
"""

from __future__ import annotations

import builtins
import textwrap
from dataclasses import dataclass
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_solution

from grader.checks import Review
from grader.grade.bridge import Bridge, BridgeError, StudentNamespace
from grader.hidden import GRADE

HELD = "HeldForReview"

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


@dataclass(frozen=True)
class Verdict:
    """The trusted outcome of one test cell: passed, or why not."""

    passed: bool
    ename: str = ""
    evalue: str = ""
    held: bool = False  # not conclusive: a person decides (see grader.checks.Review)


def split_hidden(nb: NotebookNode) -> dict[int, str]:
    """Cut the hidden part out of every test cell of ``nb``; return it by cell index."""
    hidden = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
            continue
        public, secret, inside = [], [], False
        for line in cell.source.splitlines(keepends=True):
            if BEGIN in line:
                inside = True
            elif END in line:
                inside = False
            else:
                (secret if inside else public).append(line)
        if secret:
            cell.source = "".join(public).rstrip() + "\n"
            hidden[index] = textwrap.dedent("".join(secret))
    return hidden


def judge(code: str, bridge: Bridge, spec: Any = None) -> Verdict:
    """Run one hidden test here, with the student's names resolved in the kernel.

    ``grade("item")`` in the test grades an item of the assignment's ``spec`` (see
    :mod:`grader.author.spec`); the name is the grader's, whatever the notebook defines.
    """
    names = StudentNamespace(bridge)
    if spec is not None:
        names[GRADE] = lambda item: spec.run(item, names)
    faults = set(bridge.faults)
    try:
        exec(compile(code, "<hidden test>", "exec"),  # noqa: S102 - instructor's own code
             {"__builtins__": builtins, "__name__": "__hidden__"}, names)
    except Review as error:
        return Verdict(False, HELD, str(error), held=True)
    except BridgeError as error:
        return Verdict(False, error.ename, str(error))
    except NameError as error:
        return Verdict(False, "NameError", str(error))
    except Exception as error:  # an AssertionError with the test's message, most often
        new = [bridge.faults[name] for name in bridge.faults if name not in faults]
        if new:  # the test's helpers wrapped it: say what happened to the function
            return Verdict(False, new[0].ename, str(new[0]))
        return Verdict(False, type(error).__name__, str(error))
    return Verdict(True)


def apply_verdict(cell: NotebookNode, verdict: Verdict) -> None:
    """Make the cell's outputs say the verdict, and only the verdict, to nbgrader.

    The student's own printed output stays; errors of the public part become text (the
    verdict already accounts for what they test), and anything nbgrader would read as a score
    (an error, stderr, a number as the cell's result) is the verdict's alone.
    """
    kept = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            kept.append(output)
        elif output.get("output_type") == "error" and verdict.passed:
            kept.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"(public test) {output.get('ename')}: {output.get('evalue')}\n"))
    if not verdict.passed:
        kept.append(nbformat.v4.new_output(
            "error", ename=verdict.ename, evalue=verdict.evalue,
            traceback=[f"{verdict.ename}: {verdict.evalue}"]))
    cell.outputs = kept
