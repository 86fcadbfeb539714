"""Self-check: run the public tests of a released notebook, without the grader package.

This file is shipped to students as ``selfcheck.py`` beside their notebook, so it imports only
the standard library. One runner serves two callers:

* inside the notebook, after running the cells: ``from selfcheck import check; check()`` (every
  item), ``check("sigmoid_values")`` (one item) or ``check("sigmoid")`` (the items of one
  function). The tests see the notebook's current variables and cannot change them.
* from a shell or a CI job: ``python selfcheck.py NOTEBOOK.ipynb [--item NAME] [--github]`` runs
  every code cell in a fresh namespace, then reports. ``--github`` also prints ``Points X/Y``
  the way GitHub Classroom's grading reporter does (a notice titled "Autograding complete").

Only the public part of a test cell runs: anything from ``### BEGIN HIDDEN TESTS`` on is cut,
so a notebook that still contained hidden tests would not run them either. Passing every public
test is a good sign, never a grade: the hidden tests run when the notebook is graded.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HIDDEN_MARK = "### BEGIN HIDDEN TESTS"
DISCLAIMER = (
    "Passing the public tests does not mean full marks: when your notebook is graded, hidden\n"
    "tests check more cases (other inputs and shapes, stability, speed, exact values), and\n"
    "written answers are graded by hand."
)
PASS, FAIL, ERROR = "pass", "fail", "error"
MESSAGE_LINES = 8


@dataclass
class Item:
    """One graded test cell: its name, points, public code and the answer cell it follows."""

    name: str
    points: float
    code: str
    answer: str | None


@dataclass
class Result:
    """What running one item's public tests gave."""

    item: Item
    status: str
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASS


@dataclass
class Notebook:
    """The cells of a notebook that matter here, in order."""

    path: Path
    items: list[Item] = field(default_factory=list)
    # (kind, source) of every code cell in order; kind is "test" or "code"
    cells: list[tuple[str, str]] = field(default_factory=list)
    # position in ``cells`` of each answer cell: its grade id
    answers: dict[int, str] = field(default_factory=dict)


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def public_part(code: str) -> str:
    """The code of a test cell up to (not including) its hidden tests."""
    return code.split(HIDDEN_MARK, 1)[0]


def load(path: str | os.PathLike) -> Notebook:
    """Read the graded test cells and code cells of an ``.ipynb`` file."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    notebook = Notebook(path)
    answer = None
    for cell in data.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code":
            continue
        code = source_of(cell)
        if meta.get("solution") and meta.get("grade_id"):
            answer = meta["grade_id"]
            notebook.answers[len(notebook.cells)] = answer
        if meta.get("grade") and not meta.get("solution"):
            name = meta.get("grade_id", f"cell{len(notebook.cells)}").removeprefix("test_")
            item = Item(name, float(meta.get("points", 0)), public_part(code), answer)
            notebook.items.append(item)
            notebook.cells.append(("test", name))
        else:
            notebook.cells.append(("code", code))
    return notebook


def select(items: list[Item], name: str | None) -> list[Item]:
    """The items called ``name`` (an item, ``test_<item>``, or an answer cell), or all."""
    if name is None:
        return items
    wanted = name.removeprefix("test_")
    chosen = [i for i in items if i.name == wanted] or [i for i in items if i.answer == name]
    if not chosen:
        known = ", ".join(i.name for i in items)
        raise ValueError(f"no public test called {name!r}; the items are: {known}")
    return chosen


def _explain(error: BaseException) -> tuple[str, str]:
    """A short, friendly status and message for an exception raised by a test."""
    if isinstance(error, AssertionError):
        return FAIL, str(error) or "an assertion failed"
    if isinstance(error, NotImplementedError):
        return FAIL, "not implemented yet (the cell still raises NotImplementedError)"
    if isinstance(error, NameError):
        return FAIL, (f"{error}: run the cell that defines it first (if that cell still "
                      "raises NotImplementedError, it is not implemented yet)")
    text = str(error).strip()
    return ERROR, f"{type(error).__name__}: {text}" if text else type(error).__name__


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """Interrupt the block after ``seconds`` where signals allow (main thread, POSIX)."""
    usable = seconds and hasattr(signal, "SIGALRM")
    if usable:
        try:
            previous = signal.signal(signal.SIGALRM, _raise_timeout)
        except ValueError:  # not the main thread: run without a deadline
            usable = False
    if usable:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _raise_timeout(signum, frame):
    raise _Timeout()


def _run_code(code: str, namespace: dict, label: str, timeout: float | None) -> None:
    # Output of the student's code would bury the summary; it is not needed to judge a test.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            _deadline(timeout):
        exec(compile(code, label, "exec"), namespace)


def run_item(item: Item, namespace: dict, timeout: float | None = None) -> Result:
    """Run one item's public tests in a copy of ``namespace`` (so its variables stay as they are).

    Parameters
    ----------
    item : Item
        The test to run.
    namespace : dict
        The notebook's variables (the student's functions among them).
    timeout : float, optional
        Seconds the test may take (only where a signal can interrupt it).

    Returns
    -------
    Result
    """
    start = time.perf_counter()
    try:
        _run_code(item.code, dict(namespace), f"<test {item.name}>", timeout)
        status, message = PASS, ""
    except _Timeout:
        status, message = ERROR, f"took longer than {timeout:g} s"
    except Exception as error:  # anything the student's code raises is reported, not fatal
        status, message = _explain(error)
    return Result(item, status, message, time.perf_counter() - start)


def without_magics(code: str) -> str:
    # IPython syntax (%matplotlib, !pip) is not Python; those lines do nothing for the tests.
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        lines.append(line)
    return "\n".join(lines)


def run_notebook(notebook: Notebook, name: str | None = None,
                 timeout: float | None = 60.0) -> list[Result]:
    """Run every code cell of ``notebook`` in order in a fresh namespace, scoring test cells.

    A cell that raises is reported on stderr and the next one runs, as in a grading kernel.
    """
    wanted = {i.name for i in select(notebook.items, name)}
    items = {i.name: i for i in notebook.items}
    namespace: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
    results = []
    raised: dict[str, BaseException] = {}  # answer cells that raised, by grade id
    for number, (kind, code) in enumerate(notebook.cells, 1):
        if kind == "test":
            if code in wanted:
                result = run_item(items[code], namespace, timeout)
                results.append(_blame_answer(result, raised.get(items[code].answer)))
            continue
        try:
            _run_code(without_magics(code), namespace, f"<cell {number}>", timeout)
        except BaseException as error:  # noqa: BLE001 -- a stub or a bug in one cell is normal
            if isinstance(error, KeyboardInterrupt):
                raise
            if number - 1 in notebook.answers:
                raised[notebook.answers[number - 1]] = error
            _, message = _explain(error)
            if not isinstance(error, NotImplementedError):
                print(f"code cell {number}: {message}", file=sys.stderr)
    return results


def _blame_answer(result: Result, error: BaseException | None) -> Result:
    """A failed test whose answer cell raised is reported as that cell's error.

    Its variables were never defined, so the test would only say "name 'a' is not defined",
    about a cell that did run.
    """
    if result.passed or error is None:
        return result
    if isinstance(error, NotImplementedError):
        message = "not implemented yet (its answer cell still raises NotImplementedError)"
    else:
        message = f"its answer cell raised {_explain(error)[1]}"
    return Result(result.item, FAIL, message, result.seconds)


def summary(results: list[Result], title: str) -> str:
    """A friendly plain-text summary that never reads as a grade."""
    passed = [r for r in results if r.passed]
    lines = [f"Public tests of {title}: {len(passed)} of {len(results)} "
             f"item{'s' if len(results) != 1 else ''} passed."]
    width = max((len(r.item.name) for r in results), default=0)
    for r in results:
        mark = "✓" if r.passed else "✗"
        lines.append(f"  {mark} {r.item.name:<{width}}".rstrip())
        if not r.passed:
            # The whole teaching message, but never a wall of numbers.
            message = (r.message.strip() or r.status).splitlines()
            shown = [text[:200] for text in message[:MESSAGE_LINES]]
            if len(message) > MESSAGE_LINES:
                shown.append("…")
            lines += [f"      {text}" for text in shown]
    if results and len(passed) == len(results):
        lines.append("Every public test passes: a good sign, but not your grade.")
    lines += ["", DISCLAIMER]
    return "\n".join(lines)


def _find_notebook(namespace: dict) -> Path:
    """The notebook this kernel runs, or the only graded notebook in the working directory."""
    for candidate in (namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"),
                      os.environ.get("JPY_SESSION_NAME")):
        if candidate and str(candidate).endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    found = [p for p in sorted(Path.cwd().glob("*.ipynb")) if load(p).items]
    if len(found) != 1:
        raise FileNotFoundError(
            "cannot tell which notebook to check; call check(notebook='NAME.ipynb')")
    return found[0]


def check(item: str | None = None, notebook: str | os.PathLike | None = None) -> None:
    """Run the public tests of one item (or all of them) on this notebook's variables.

    Call it from the notebook after running the cells above, e.g. ``check()`` for everything,
    ``check("softmax")`` for the items of ``softmax``, ``check("softmax_stable")`` for one.

    Parameters
    ----------
    item : str, optional
        An item name (``sigmoid_values`` or ``test_sigmoid_values``) or the name of an answer
        cell (its items); all items by default.
    notebook : str or path, optional
        The notebook whose test cells to run (default: this one, found automatically).
    """
    namespace = sys._getframe(1).f_globals  # the notebook's variables: the caller's globals
    path = Path(notebook) if notebook else _find_notebook(namespace)
    loaded = load(path)
    results = [run_item(i, namespace) for i in select(loaded.items, item)]
    print(summary(results, path.name))


def classroom_report(results: list[Result]) -> tuple[str, dict]:
    """GitHub Classroom's ``Points X/Y`` text and a runner result for its grading reporter."""
    total = sum(r.item.points for r in results if r.passed)
    maximum = sum(r.item.points for r in results)
    runner = {
        "version": 1,
        "status": PASS if all(r.passed for r in results) else FAIL,
        "max_score": maximum,
        "tests": [{"name": r.item.name, "status": r.status, "message": r.message or None,
                   "score": r.item.points if r.passed else 0,
                   "execution_time": f"{r.seconds:.2f}s"} for r in results],
    }
    return f"Points {total:g}/{maximum:g}", runner


def _github(results: list[Result], text: str) -> None:
    points, runner = classroom_report(results)
    total, maximum = points.split()[1].split("/")
    # The same two notices GitHub Classroom's reporter writes; Classroom reads the first.
    print(f"::notice title=Autograding complete::{points}")
    report = json.dumps({"totalPoints": float(total), "maxPoints": float(maximum)})
    print(f"::notice title=Autograding report::{report}")
    encoded = base64.b64encode(json.dumps(runner).encode()).decode()
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"result={encoded}\n")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write(f"### {points} (public tests only)\n\n```\n{text}\n```\n")


def main(argv: list[str] | None = None) -> int:
    """Command line: run a notebook's public tests; exit 0 when every one passes, else 1."""
    parser = argparse.ArgumentParser(description="Run the public tests of a notebook.")
    parser.add_argument("notebooks", type=Path, nargs="+", metavar="NOTEBOOK")
    parser.add_argument("--item", default=None, help="one item or answer cell (default: all)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per cell")
    parser.add_argument("--github", action="store_true",
                        help="also report Points X/Y for GitHub Classroom")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots in a notebook must not open windows
    results, texts = [], []
    for path in args.notebooks:
        try:
            ran = run_notebook(load(path), args.item, args.timeout)
        except (OSError, ValueError) as error:
            print(f"selfcheck: {path}: {error}", file=sys.stderr)
            return 2
        results += ran
        texts.append(summary(ran, path.name))
    text = "\n\n".join(texts)
    print(text)
    if args.github:
        _github(results, text)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
