"""Execute one notebook in fresh kernels, judging its tests here, with every fault confined.

The cells run in order in a kernel (:mod:`grader.grade.kernel`); right after a test cell, its
hidden part is judged in this process (:mod:`grader.grade.verdict`). What the kernel prints is
kept up to a number of bytes per cell and per notebook, with a visible note where it was cut.

A fault costs the function at fault, not the rest of the notebook:

- a cell that does not finish in time is interrupted; the student's function it was running
  (the kernel names it, or the test cell's hidden part does) is marked, and every later cell
  that calls it, and every hidden test that uses it, fails at once with the same reason;
- when the kernel dies, the cell during which it died fails, the culprit function (if it can
  be told) is marked the same way, and the notebook goes on in a fresh kernel: the cells that
  ran before are run again, silently, and grading continues after the fatal cell. The fatal
  cell, and a cell that calls a marked function, run again as their definitions alone
  (imports, functions, constants: :func:`grader.grade.codescan.definitions`): the statement at
  fault loses its own effects, not the functions defined beside it. A notebook gets a bounded
  number of fresh kernels and a time budget.
"""

from __future__ import annotations

import ast
import codecs
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader.grade.bridge import DIVERGED, Bridge, BridgeError
from grader.grade.clean import CleanProcess
from grader.grade.codescan import definitions, parse
from grader.grade.kernel import GRACE, OUTPUT_FRAME, Kernel, KernelLost, Timeout
from grader.grade.verdict import Verdict, apply_verdict, judge, split_hidden
from grader.hidden import student_names

KERNEL_DIED = "KernelDied"
TIMED_OUT = "CellTimeoutError"


@dataclass(frozen=True)
class Budget:
    """What one notebook may use.

    Parameters
    ----------
    cell_timeout : float
        Seconds a cell (or one call of a hidden test) may run before it is interrupted.
    notebook_timeout : float
        Seconds for the whole notebook, restarts included; what has not run by then scores 0.
    restarts : int
        Fresh kernels a notebook may get after its kernel died.
    cell_output : int
        Bytes of output kept per cell (streams, results, displays, errors).
    notebook_output : int
        Bytes of output kept for the whole notebook.
    """

    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    restarts: int = 3
    cell_output: int = 2**20
    notebook_output: int = 4 * 2**20


class CellOutputs:
    """Collects one cell's outputs as the kernel sends them, keeping at most ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.outputs: list[NotebookNode] = []
        self.kept = 0
        self.lost = 0
        self._decoders: dict[str, Any] = {}
        self._clear_next = False

    def _room(self, size: int) -> bool:
        if self._clear_next:
            self.outputs, self._clear_next = [], False
        if self.kept + size > self.limit:
            self.lost += size
            return False
        self.kept += size
        return True

    def stream(self, name: str, data: bytes) -> None:
        decoder = self._decoders.setdefault(name, codecs.getincrementaldecoder("utf-8")("replace"))
        text = decoder.decode(data)
        if self._clear_next:
            self.outputs, self._clear_next = [], False
        room = max(0, self.limit - self.kept)
        if len(text) > room:
            self.lost += len(text) - room
            text = text[:room]
        if not text:
            return
        self.kept += len(text)
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.outputs.append(nbformat.v4.new_output("stream", name=name, text=text))

    def output(self, output: dict[str, Any]) -> None:
        kind = output.get("output_type")
        if kind not in ("display_data", "execute_result", "error"):
            return
        try:
            size = len(json.dumps(output))
            if kind == "error":
                node = nbformat.v4.new_output(
                    "error", ename=str(output.get("ename", "Error"))[:200],
                    evalue=str(output.get("evalue", ""))[:5000],
                    traceback=[str(line) for line in output.get("traceback", [])][:200])
            else:
                node = nbformat.v4.output_from_msg({
                    "header": {"msg_type": kind},
                    "content": {"data": output.get("data", {}),
                                "metadata": output.get("metadata", {}),
                                "execution_count": output.get("execution_count")}})
            nbformat.validate(node, ref="output", version=4, version_minor=5)
        except Exception:  # not an output nbformat accepts: it is not kept
            return
        if self._room(size):
            self.outputs.append(node)

    def clear(self, wait: bool) -> None:
        if wait:
            self._clear_next = True
        else:
            self.outputs = []

    def dropped(self, size: int) -> None:
        self.lost += size

    def error(self, ename: str, evalue: str) -> None:
        """Add an error of the grader's own (a timeout, a dead kernel), whatever the limit."""
        self.outputs.append(nbformat.v4.new_output(
            "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))

    def finish(self) -> list[NotebookNode]:
        if self.lost:
            self.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                f"\n[output truncated: {self.lost:,} more bytes were not kept; "
                f"the limit is {self.limit:,} bytes for this cell]\n")))
        return self.outputs


def top_level_names(source: str) -> set[str]:
    """Names a cell uses when it runs (not those inside the functions it only defines)."""
    tree = parse(source)
    if tree is None:  # not Python: it will fail in the kernel anyway
        return set()
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                pending.extend(child.decorator_list if hasattr(child, "decorator_list") else [])
                pending.extend(child.args.defaults + child.args.kw_defaults)
                continue
            if child is not None:
                pending.append(child)
    return names


@dataclass
class NotebookRun:
    """Runs one sanitized notebook; the verdicts and what went wrong are kept on it.

    Parameters
    ----------
    nb : NotebookNode
        The notebook; its hidden tests are cut out, its cells get their outputs.
    new_kernel : callable
        Returns a fresh kernel (booting).
    budget : Budget
        Time, restarts and output allowed.
    spec : Spec, optional
        The assignment's spec, whose items the hidden tests grade (``grade("item")``).
    """

    nb: NotebookNode
    new_kernel: Callable[[], Kernel]
    budget: Budget = field(default_factory=Budget)
    spec: Any = None
    verdicts: dict[int, Verdict] = field(default_factory=dict)
    faults: dict[str, BridgeError] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    kernels: list[Kernel] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # for the staff: what looks like gaming

    def __post_init__(self) -> None:
        self.hidden = split_hidden(self.nb)
        self._skip: dict[int, str] = {}
        self._output_left = self.budget.notebook_output
        self._deadline = time.monotonic() + self.budget.notebook_timeout
        self._kernel: Kernel | None = None
        self._timed_out: set[int] = set()
        self._ran: set[int] = set()  # cells sent to a kernel
        self._bare: set[int] = set()  # cells whose definitions alone ended a kernel too
        self._noted: set[int] = set()  # cells whose definitions-only replay is on record
        self._disk_noted: Kernel | None = None  # the kernel whose full disk was noted
        self.clean = CleanProcess(self.new_kernel, self.budget.cell_timeout)
        for key in ("boot", "cells", "tests", "replay"):
            self.timing[key] = 0.0

    # ---- the run ---------------------------------------------------------------------------
    def run(self) -> str | None:
        """Execute every code cell; return why the notebook could not be run to its end."""
        cells = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
        for cell in cells:
            self.nb.cells[cell].outputs = []
            self.nb.cells[cell].execution_count = None
        reason = None
        try:
            for position, index in enumerate(cells):
                if time.monotonic() > self._deadline:
                    reason = (f"the notebook used up its {self.budget.notebook_timeout:g} s; "
                              "the cells that had not run score 0")
                    break
                if self._kernel is None:
                    reason = self._fresh_kernel(cells[:position])
                    if reason:
                        break
                self._cell(index)
        finally:
            self.close()
        if reason:
            self.events.append(reason)
            self._mark_unrun(reason)
        self._revoke_diverged()
        for index, verdict in self.verdicts.items():
            apply_verdict(self.nb.cells[index], verdict)
        return reason

    def close(self) -> None:
        for kernel in self.kernels:
            kernel.close()
        self.clean.close()
        self._kernel = None

    def _fresh_kernel(self, ran: list[int]) -> str | None:
        """Start a kernel and bring it to where the notebook is (after a death, re-running)."""
        while True:
            if len(self.kernels) > self.budget.restarts:
                return (f"the kernel died {len(self.kernels)} times; the cells that had not "
                        "run score 0")
            began = time.perf_counter()
            kernel = self.new_kernel()
            self.kernels.append(kernel)
            try:
                kernel.ready()
            except (KernelLost, Timeout) as error:
                return f"a fresh kernel could not be started ({error})"
            finally:
                self.timing["boot"] += time.perf_counter() - began
            self._kernel = kernel
            if len(self.kernels) > 1:
                self.events.append(f"a fresh kernel was started ({len(self.kernels) - 1} of at "
                                   f"most {self.budget.restarts}); the cells before ran again")
            began = time.perf_counter()
            try:
                for index in ran:
                    if index not in self._ran:
                        continue  # skipped when its turn came: it defined nothing then either
                    if self._skip_reason(index) is None:
                        self._replay(index, self.nb.cells[index].source)
                    elif index not in self._bare and index not in self.hidden:
                        # (a test cell's definitions are the instructor's, and its calls
                        # what failed)
                        self._replay_definitions(index)
                return None
            except KernelLost:
                self._kernel = None  # the replayed cell is skipped from now on; try again
            finally:
                self.timing["replay"] += time.perf_counter() - began

    def _replay_definitions(self, index: int) -> None:
        """Run again only what cell ``index`` defines; its other statements stay out."""
        modules: dict[str, str] = {}
        functions: set[str] = set()
        for earlier in sorted(self._ran):
            if earlier < index:
                definitions(self.nb.cells[earlier].source, modules, functions)
        found = definitions(self.nb.cells[index].source, modules, functions)
        if not found.code:
            return
        if index not in self._noted and found.dropped:
            self._noted.add(index)
            label = self.nb.cells[index].metadata.get("nbgrader", {}).get(
                "grade_id") or f"cell {index}"
            left = "; ".join(f"line {line}: {code}" for line, code in found.dropped[:3])
            more = len(found.dropped) - 3
            left += f"; and {more} more" if more > 0 else ""
            if index in self._skip:
                self.events.append(f"{label}: {self._skip[index]} while it ran; in the fresh "
                                   f"kernel it ran again as its definitions alone, leaving "
                                   f"out {left}")
            else:
                fault = (self._skip_reason(index) or ("", ""))[1]
                self.events.append(f"{label} ran again in the fresh kernel as its definitions "
                                   f"alone, leaving out {left} ({fault})")
        try:
            self._replay(index, found.code)
        except KernelLost:
            self._bare.add(index)
            raise

    def _replay(self, index: int, code: str) -> None:
        assert self._kernel is not None
        # A cell that ran out of time before is stopped again soon: what it defined at its
        # start is back, without paying its timeout twice.
        timeout = GRACE if index in self._timed_out else self.budget.cell_timeout
        try:
            self._kernel.request({"op": "cell", "code": code}, timeout=timeout,
                                 limit=OUTPUT_FRAME)
        except Timeout:
            self._kernel.interrupt()
            try:
                self._kernel.answer(GRACE, limit=OUTPUT_FRAME)
            except Timeout:
                self._kernel.kill()
                self._skip[index] = "this cell did not stop when interrupted"
                raise KernelLost("the kernel was stopped") from None
        except KernelLost as error:
            self._skip[index] = f"{error} when this cell ran again"
            raise

    # ---- one cell ---------------------------------------------------------------------------
    def _cell(self, index: int) -> None:
        cell = self.nb.cells[index]
        why = self._skip_reason(index)
        if why is not None:
            cell.outputs = [nbformat.v4.new_output("error", ename=why[0], evalue=why[1],
                                                   traceback=[f"{why[0]}: {why[1]}"])]
            if index in self.hidden:
                self.verdicts[index] = Verdict(False, why[0], why[1])
            return
        assert self._kernel is not None
        sink = CellOutputs(max(0, min(self.budget.cell_output, self._output_left)))
        began = time.perf_counter()
        self._ran.add(index)
        try:
            done = self._run(index, sink)
        finally:
            cell.outputs = sink.finish()
            self._output_left -= sink.kept
            self.timing["cells"] += time.perf_counter() - began
        # It ran, in part if it was interrupted or ended its kernel: what it defined is
        # defined in the clean process as in every fresh kernel from now on.
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        self.clean.add(cell.source, label)
        if done is None:
            return
        if isinstance(done.get("count"), int):
            cell.execution_count = done["count"]
        self._check_disk()
        if index in self.hidden and self._kernel is not None:
            began = time.perf_counter()
            bridge = Bridge(self._kernel, self.budget.cell_timeout, self.faults, self.clean)
            self.verdicts[index] = judge(self.hidden[index], bridge, self.spec)
            self.timing["tests"] += time.perf_counter() - began
            if bridge.lost:
                self._lost(f"the kernel died while the tests of this cell ran "
                           f"({self._kernel.exit or 'stopped'})")

    def _run(self, index: int, sink: CellOutputs) -> dict[str, Any] | None:
        """Run cell ``index``; None when it did not finish (the reason is on the cell)."""
        assert self._kernel is not None
        kernel, timeout = self._kernel, self.budget.cell_timeout
        code = self.nb.cells[index].source
        try:
            try:
                done, _ = kernel.request({"op": "cell", "code": code}, timeout=timeout,
                                         sink=sink, limit=OUTPUT_FRAME)
                return done
            except Timeout:
                kernel.interrupt()
                try:
                    done, _ = kernel.answer(GRACE, sink=sink, limit=OUTPUT_FRAME)
                except Timeout:
                    kernel.kill()
                    raise KernelLost(f"the kernel was stopped: this cell ran longer than "
                                     f"{timeout:g} s and did not stop when interrupted") from None
                self._timed_out.add(index)
                message = f"the cell did not finish within {timeout:g} s and was interrupted"
                sink.error(TIMED_OUT, message)
                self._blame(index, done.get("culprit"),
                            f"did not return within {timeout:g} s and was stopped", "TimeoutError")
                if index in self.hidden:
                    self.verdicts[index] = Verdict(False, TIMED_OUT, message)
                return None
        except KernelLost as error:
            reason = str(error)
            sink.error(KERNEL_DIED, f"{reason} while this cell ran; it earns nothing")
            if index in self.hidden:
                self.verdicts[index] = Verdict(False, KERNEL_DIED,
                                               f"{reason} while this cell ran")
            self._blame(index, None, f"ended the kernel ({kernel.exit or 'it was stopped'})",
                        KERNEL_DIED)
            self._lost(reason, index)
            return None

    def _blame(self, index: int, culprit: Any, what: str, ename: str) -> None:
        """Mark the function a fault belongs to: named by the kernel, or the test's only one."""
        if not (isinstance(culprit, str) and culprit.isidentifier()):
            names = student_names(self.hidden.get(index, ""), self.spec)
            culprit = next(iter(names)) if len(names) == 1 else None
        if culprit and culprit not in self.faults:
            self.faults[culprit] = BridgeError(
                f"{culprit} {what}; the tests that call it fail without calling it again.", ename)
            self.events.append(f"{culprit} {what}")

    def _lost(self, reason: str, index: int | None = None) -> None:
        """The kernel is gone: the next cell starts a fresh one, without the fatal cell."""
        if index is not None:
            self._skip[index] = reason
        self.events.append(reason)
        self._kernel = None

    def _skip_reason(self, index: int) -> tuple[str, str] | None:
        """Why cell ``index`` is not run (again): it was fatal, or calls a marked function."""
        if index in self._skip:
            return KERNEL_DIED, f"{self._skip[index]}; not run again"
        if self.faults:
            used = top_level_names(self.nb.cells[index].source)
            if index in self.hidden:
                used |= student_names(self.hidden[index], self.spec)
            for name in sorted(used & set(self.faults)):
                fault = self.faults[name]
                return fault.ename, f"not run: {fault}"
        return None

    def _check_disk(self) -> None:
        assert self._kernel is not None
        if self._disk_noted is self._kernel:  # said once per kernel
            return
        used, limit = self._kernel.disk_used(), self._kernel.limits.disk_mb * 2**20
        if used is None:
            return
        if used >= limit * 0.99:
            self._disk_noted = self._kernel
            self.events.append(f"the notebook filled its {self._kernel.limits.disk_mb} MB of "
                               "disk; writes beyond it failed")
            if not self._kernel.sandboxed:  # nothing stops it but this
                self._kernel.kill()
                self._lost("the kernel was stopped: it wrote more than its "
                           f"{self._kernel.limits.disk_mb} MB of disk")

    def _revoke_diverged(self) -> None:
        """A function that answered differently where it was measured than in its notebook
        earns nothing: every test that used it fails, those judged before it was found out
        included, and the submission is flagged."""
        for name, fault in sorted(self.faults.items()):
            if fault.ename != DIVERGED:
                continue
            self.flags.append(str(fault))
            self.events.append(f"{name} behaves differently when it is measured; every item "
                               "that uses it scores 0")
            for index, code in self.hidden.items():
                if name in student_names(code, self.spec) | \
                        top_level_names(self.nb.cells[index].source):
                    self.verdicts[index] = Verdict(False, fault.ename, str(fault))

    def _mark_unrun(self, reason: str) -> None:
        for index in mark_unexecuted(self.nb, reason):
            if index in self.hidden and index not in self.verdicts:
                self.verdicts[index] = Verdict(False, KERNEL_DIED, reason)


def mark_unexecuted(nb: NotebookNode, reason: str) -> list[int]:
    """Give every graded code cell that did not run an error output; return their indices."""
    marked = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        if cell.get("execution_count") is None and not cell.get("outputs"):
            cell.outputs = [nbformat.v4.new_output(
                "error", ename=KERNEL_DIED, evalue=reason, traceback=[f"{KERNEL_DIED}: {reason}"])]
            marked.append(index)
    return marked
