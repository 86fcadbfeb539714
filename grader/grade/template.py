"""The template process every grading worker and kernel is forked from.

multiprocessing's forkserver imports the modules below once; workers are forked from it, and
each worker forks its kernel (see :mod:`grader.grade.zygote`). Starting it is cheap to ask
for and slow to finish (seconds of imports), so the command line asks first thing, and the
imports overlap with the command's own start-up. This module imports nothing heavy itself.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import multiprocessing
import os
import sys
from collections.abc import Sequence
from multiprocessing import forkserver
from pathlib import Path

# jsonschema (imported by nbformat) uses rfc3987_syntax when it is installed, and that module
# builds a parser at import: a second of start-up in every grading process, for the "iri"
# string format that no notebook schema uses. Marked absent, jsonschema skips that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

# The grading pipeline and the kernel's shell with what it imports while it starts (IPython,
# pdb, history, the inline figures of matplotlib). Never the reference solutions or hidden
# tests: kernels inherit all of this.
PRELOAD = ["grader.grade.template", "grader.grade.worker", "grader.grade.shell",
           "IPython.core.history", "IPython.core.inputtransformer2", "IPython.core.logger",
           "pdb", "pydoc", "numpy", "numpy.random"]
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
INLINE_FIGURES = "module://matplotlib_inline.backend_inline"


def start(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """Ask for the template (with ``preload`` imported as well) and return its context.

    Idempotent: once the forkserver runs, later calls only return the context.
    """
    # The template imports NumPy: its thread pools must be sized before that happens.
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    # Kernels show figures inline: matplotlib reads this when the template imports it.
    os.environ["MPLBACKEND"] = INLINE_FIGURES
    # debugpy, imported by the template, otherwise warns on stderr about frozen modules
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD, *preload])
    forkserver.ensure_running()
    return context


def notebook_imports(paths: Sequence[Path]) -> list[str]:
    """The installed modules the instructor's notebooks import (never the grader's own).

    A kernel pays for every import its notebook makes unless the template made it first;
    the released notebooks say which (``sklearn.datasets`` for one assignment, only NumPy
    for another), so a course need not list them and no assignment pays for another's.
    """
    found: list[str] = []
    for path in paths:
        try:
            cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse(source if isinstance(source, str) else "".join(source))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module] if isinstance(node, ast.ImportFrom) and node.module \
                    and not node.level else []
                found.extend(n for n in names if n not in found)
    return [n for n in found if n.split(".")[0] != "grader" and _installed(n)]


def _installed(module: str) -> bool:
    # the top-level package only: finding ``sklearn.datasets`` would import ``sklearn`` here,
    # in the command's process, a second before the template that is meant to do it
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def start_for_course(start_dir: str | None = None, assignment: str | None = None) -> None:
    """Start the template for the course around ``start_dir``, if there is one (best effort).

    With ``assignment``, it also imports what that assignment's released notebooks import.
    """
    try:
        from traitlets.config.loader import PyFileConfigLoader

        from grader.course import CONFIG_FILE, find_course_root

        root = find_course_root(start_dir)
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
        released = sorted((root / "release" / assignment).glob("*.ipynb")) if assignment else []
        start([*config.Grading.get("preload", []), *notebook_imports(released)])
    except Exception:  # the command itself reports a missing or broken course properly
        pass
