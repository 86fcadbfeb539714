"""The template process every grading worker and kernel is forked from.

multiprocessing's forkserver imports the modules below once; workers are forked from it, and
each worker forks its kernel (see :mod:`grader.grade.zygote`). Starting it is cheap to ask
for and slow to finish (seconds of imports), so the command line asks first thing, and the
imports overlap with the command's own start-up. This module imports nothing heavy itself.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from multiprocessing import forkserver

# jsonschema (imported by nbformat) uses rfc3987_syntax when it is installed, and that module
# builds a parser at import: a second of start-up in every grading process, for the "iri"
# string format that no notebook schema uses. Marked absent, jsonschema skips that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

# The grading pipeline and the kernel's shell with what it imports while it starts (IPython,
# pdb, history, the inline figures of matplotlib). Never the reference solutions or hidden
# tests: kernels inherit all of this.
PRELOAD = ["grader.grade.template", "grader.grade.worker", "grader.grade.shell",
           "IPython.core.history", "IPython.core.inputtransformer2", "pdb", "pydoc", "numpy"]
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def start(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """Ask for the template (with ``preload`` imported as well) and return its context.

    Idempotent: once the forkserver runs, later calls only return the context.
    """
    # The template imports NumPy: its thread pools must be sized before that happens.
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    # debugpy, imported by the template, otherwise warns on stderr about frozen modules
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD, *preload])
    forkserver.ensure_running()
    return context


def start_for_course(start_dir: str | None = None) -> None:
    """Start the template for the course around ``start_dir``, if there is one (best effort)."""
    try:
        from traitlets.config.loader import PyFileConfigLoader

        from grader.course import CONFIG_FILE, find_course_root

        root = find_course_root(start_dir)
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
        start(list(config.Grading.get("preload", [])))
    except Exception:  # the command itself reports a missing or broken course properly
        pass
