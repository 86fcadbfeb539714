"""An assignment's hidden folder: the course's own hidden tests, loaded into the grader.

Each assignment keeps what students must never see beside its source notebook, in
``source/<assignment>/hidden/``: the spec of its functions with its items (``spec.py``, see
:mod:`grader.author.spec`), its reference solutions and whatever else they import, and its own
tests (``test_*.py``, for the instructor's test suite; they play no part in a grade). nbgrader
is configured never to release the folder, and no kernel ever sees it: the grading process
reads its files, a job carries them (to a Dask worker as to a local one), and the worker
imports them here, from memory, as a package of their own — never in a process kernels are
forked from. A grade depends on these files, so they are part of the assignment's fingerprint
and of nothing else's.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.abc
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

#: The folder beside an assignment's notebook that holds its hidden tests.
FOLDER = "hidden"
#: Its module that holds the spec (a :class:`~grader.author.spec.Spec` named ``spec``).
ENTRY = "spec"
#: What the hidden part of a test cell calls to grade an item of the spec.
GRADE = "grade"
#: The reviewed equivalent mutants of the assignment (:mod:`grader.author.mutants`).
EQUIVALENT_MUTANTS = "equivalent_mutants.txt"
#: The folder's files for the instructor alone (with its tests, ``test_*.py``): no grade
#: depends on them, so editing them regrades nothing.
AUTHORING = ("conftest.py", EQUIVALENT_MUTANTS)


def _shipped(path: Path, root: Path) -> bool:
    """Files a grade depends on: all but the folder's own tests, authoring files and caches."""
    parts = path.relative_to(root).parts
    return path.is_file() and "__pycache__" not in parts and ".ipynb_checkpoints" not in parts \
        and not (path.suffix == ".py" and path.name.startswith("test_")) \
        and path.name not in AUTHORING


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of a hidden folder that a grade depends on, by relative path (POSIX)."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if _shipped(p, folder)}


def version(files: Mapping[str, bytes]) -> str:
    """One hash of ``files``: names and contents."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


class _MemoryFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the modules of loaded hidden folders from their sources in memory."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, bool, str]] = {}  # module -> source, package, file

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in self.sources:
            return None
        _, package, _ = self.sources[fullname]
        return importlib.util.spec_from_loader(fullname, self, is_package=package)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        source, package, filename = self.sources[module.__name__]
        module.__file__ = filename
        if package:
            module.__path__ = []
        exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - instructor's


_FINDER = _MemoryFinder()


@dataclass(frozen=True)
class Hidden:
    """A loaded hidden folder: its package, and its spec when it has one."""

    assignment: str
    package: ModuleType
    spec: Any  # grader.author.spec.Spec or None (hidden tests written as plain code)

    def grade(self, item_id: str, *objects: Any) -> None:
        """Grade item ``item_id`` of the spec in this process, given the student's objects it
        uses (in the order of its ``uses``); raises AssertionError when it is not earned."""
        self.spec[item_id].run(*objects)

    def module(self, name: str) -> ModuleType:
        """The folder's module ``name`` (``"reference"`` for ``reference.py``)."""
        return importlib.import_module(f"{self.package.__name__}.{name}")


_loaded: dict[str, Hidden] = {}


def load(files: Mapping[str, bytes], assignment: str) -> Hidden:
    """Import a hidden folder from its files (once per distinct content); return it.

    Raises
    ------
    ImportError
        With the assignment and the file, when the folder's code cannot be imported.
    """
    key = version(files)
    if key in _loaded:
        return _loaded[key]
    safe = re.sub(r"\W", "_", assignment)
    root = f"_hidden_{safe}_{key[:16]}"
    sources = {root: ("", True, f"<hidden {assignment}>")}
    for name, data in files.items():
        if not name.endswith(".py"):
            continue
        parts = name[:-3].split("/")
        package = parts[-1] == "__init__"
        if package:
            parts = parts[:-1]
        module = ".".join([root, *parts])
        sources[module] = (data.decode("utf-8"), package, f"{assignment}/{FOLDER}/{name}")
        for depth in range(1, len(parts)):  # folders without __init__.py are packages too
            sources.setdefault(".".join([root, *parts[:depth]]), ("", True, module))
    _FINDER.sources.update(sources)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    package = importlib.import_module(root)
    package.FILES = dict(files)  # data files the tests may read, by relative path
    spec = None
    if f"{ENTRY}.py" in files:
        try:
            spec = getattr(importlib.import_module(f"{root}.{ENTRY}"), "spec", None)
        except Exception as error:
            raise ImportError(f"{assignment}/{FOLDER}/{ENTRY}.py cannot be imported: "
                              f"{type(error).__name__}: {error}") from error
        if spec is None:
            raise ImportError(f"{assignment}/{FOLDER}/{ENTRY}.py defines no `spec`")
    loaded = _loaded[key] = Hidden(assignment, package, spec)
    return loaded


def load_folder(folder: Path, assignment: str | None = None) -> Hidden:
    """Import the hidden folder at ``folder`` (for the instructor's tests and tools)."""
    folder = Path(folder)
    return load(folder_files(folder), assignment or folder.parent.name)


def beside(test_file: str) -> Hidden:
    """The hidden folder a test file of it lives in (``load_folder`` of its directory)."""
    return load_folder(Path(test_file).resolve().parent)


def kernel_grade(folder: str, assignment: str) -> Any:
    """In a stock nbgrader kernel (:mod:`grader.stock`): ``grade(item)`` grading an item of
    the assignment's spec with the names of the kernel itself. Light to import: a kernel pays
    for it at every notebook."""
    from IPython import get_ipython

    hidden = load_folder(Path(folder), assignment)
    names = get_ipython().user_ns

    def grade(item_id: str) -> None:
        hidden.spec.run(item_id, names)

    return grade


def student_names(code: str, spec: Any = None) -> set[str]:
    """The student's names a hidden test uses: the items it grades use theirs (from the
    spec), other code those it reads but does not define itself (builtins are nobody's)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == GRADE and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                and spec is not None and node.args[0].value in spec):
            names |= set(spec[node.args[0].value].uses)
    defined = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    defined |= {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    read = {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return names | (read - defined - set(dir(builtins)) - {GRADE})


def graded_items(code: str) -> list[str]:
    """The item ids a hidden test grades with ``grade("...")``, in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == GRADE and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)]
