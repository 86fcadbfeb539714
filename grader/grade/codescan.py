"""What a student's code does, read from its syntax tree — never from its comments or prose.

Two users: :mod:`grader.grade.suspicious` flags attempts to game the grader for the
instructor, each flag naming the line it points at; and the clean process that measures
loop-freeness, speed and untouched inputs (:mod:`grader.grade.execute`) takes from the
notebook only its definitions, and holds those measurements for review when the code it
measures reaches for the interpreter's internals.

The rules look at names, attributes, calls and imports, and at string constants only where
they are paths given to a file or import call. A comment that says "grader", a docstring about
signals or a printed word never matters.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Set
from dataclasses import dataclass, field

#: Finding kinds that make a clean measurement untrustworthy (the others only flag).
TAMPERING = frozenset({"library", "hook", "tracer", "stack", "builtins", "internals",
                       "dynamic"})

REASONS = {
    "library": "replaces a library function (a comparison or test helper, for instance)",
    "hook": "installs an IPython hook",
    "tracer": "changes the tracer or profiler",
    "stack": "walks the call stack or the heap",
    "instructor": "reaches for instructor files or the grader",
    "builtins": "replaces builtins or output streams",
    "process": "signals, forks or leaves the kernel",
    "internals": "reaches into the interpreter's internals",
    "dynamic": "runs code built at run time",
    "numeric": "computes a gradient by finite differences instead of the derived formula",
}

# Numerical differentiation helpers: the notebook's own, CS231n's, SciPy's. A function that
# calls one has avoided the derivation the course asks for (the hidden tests fail such
# gradients where they can; the flag asks a person to look).
NUMERICAL = {"numerical_gradient", "eval_numerical_gradient", "approx_fprime"}

_PROCESS_MODULES = {"subprocess", "ctypes", "socket", "signal", "multiprocessing", "pty",
                    "_thread", "cffi"}
_INSTRUCTOR_MODULES = {"grader", "nbgrader"}
_PROCESS_CALLS = {("os", name) for name in ("kill", "killpg", "_exit", "fork", "forkpty",
                                            "system", "popen", "execv", "execve", "execvp",
                                            "execl", "spawnv", "abort", "setsid")}
_HOOK_ATTRIBUTES = {"set_custom_exc", "input_transformers_cleanup", "input_transformers_post",
                    "ast_transformers", "register_magic_function", "set_hook",
                    "register_post_execute", "showtraceback", "_showtraceback",
                    "run_cell", "displayhook_class", "display_pub"}
_STACK_ATTRIBUTES = {"f_back", "f_locals", "f_globals", "f_builtins", "f_trace", "tb_frame",
                     "gi_frame", "cr_frame", "ag_frame", "f_code"}
# What reaches code and frames that are not the student's (a function's own attributes, its
# ``__dict__`` used as a cache, or ``x.__class__.__name__`` in a message are not here).
_INTERNALS = {"__code__", "__closure__", "__globals__", "__builtins__", "__subclasses__",
              "__import__", "__getattribute__", "__bases__", "__mro__", "__reduce__",
              "__reduce_ex__", "__defaults__", "__kwdefaults__"}
_STREAMS = {"stdout", "stderr", "stdin", "displayhook", "excepthook", "__stdout__",
            "__stderr__", "breakpointhook", "meta_path", "path_hooks", "modules"}
_DYNAMIC_CALLS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars",
                  "setattr", "delattr", "breakpoint"}
_FILE_CALLS = {"open", "listdir", "scandir", "walk", "glob", "iglob", "Path", "import_module",
               "spec_from_file_location", "load", "loadtxt", "genfromtxt", "read_csv", "copy",
               "copyfile", "copytree", "rmtree", "remove", "unlink", "rename", "stat", "exists",
               "isfile", "isdir", "connect", "run_path"}
_INSTRUCTOR_PATHS = ("source/", "release/", "autograded", "gradebook", "grader", "nbgrader",
                     "/submitted", "feedback/")


@dataclass(frozen=True)
class Finding:
    """One thing the code does that an honest answer has no reason to."""

    kind: str
    line: int
    code: str

    @property
    def reason(self) -> str:
        return REASONS[self.kind]


@functools.lru_cache(maxsize=1024)
def parse(source: str) -> ast.Module | None:
    """The syntax tree of a cell, IPython's magics and shell escapes included (None: not Python).

    Plain Python is parsed as it is, so line numbers are the cell's own. A cell is parsed once
    for the flags and the clean process alike: callers must not change the tree.
    """
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # not Python: it cannot run either
        return None


def _chain(node: ast.AST) -> list[str]:
    """``np.testing.assert_allclose`` as ``["np", "testing", "assert_allclose"]`` (or [])."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    if isinstance(node, ast.Call):  # get_ipython().events.register
        inner = _chain(node.func)
        return [*inner, "()", *reversed(parts)] if inner else []
    return []


def _modules(tree: ast.Module) -> dict[str, str]:
    """Names bound to imported modules (alias: module), anywhere in the cell."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _snippet(source_lines: list[str], node: ast.AST) -> str:
    line = source_lines[node.lineno - 1] if 0 < getattr(node, "lineno", 0) <= len(
        source_lines) else ""
    return line.strip()[:60]


def imports(sources: list[str]) -> dict[str, str]:
    """Names bound to modules by the import statements of these cells (alias: module)."""
    bound: dict[str, str] = {}
    for source in sources:
        tree = parse(source)
        if tree is not None:
            bound.update(_modules(tree))
    return bound


def findings(source: str, modules: dict[str, str] | None = None) -> list[Finding]:
    """Everything in ``source`` (one cell) that an honest answer has no reason to do.

    ``modules`` are the module names the notebook imported elsewhere (``np`` from the setup
    cell): ``np.allclose = ...`` replaces a library function wherever ``np`` was imported.
    """
    tree = parse(source)
    if tree is None:
        return []
    lines = source.splitlines()
    found: dict[tuple[str, int], Finding] = {}
    for kind, node in _scan(tree, {**(modules or {}), **_modules(tree)}):
        line = getattr(node, "lineno", 0)
        found.setdefault((kind, line), Finding(kind, line, _snippet(lines, node)))
    return sorted(found.values(), key=lambda f: (f.line, f.kind))


def _path_like(value: object) -> bool:
    """A string that names a file of the instructor's: no spaces, a slash, a telling name."""
    return (isinstance(value, str) and "/" in value and not any(c.isspace() for c in value)
            and any(p in value for p in _INSTRUCTOR_PATHS))


def _scan(tree: ast.Module, modules: dict[str, str]) -> Iterator[tuple[str, ast.AST]]:
    paths, opens = [], False
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            if _path_like(node.value):
                paths.append(node)
            continue
        if isinstance(node, ast.Call):
            chain = _chain(node.func)
            opens = opens or bool(chain and chain[-1] in _FILE_CALLS)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            for name in names:
                root = name.split(".")[0]
                if root in _PROCESS_MODULES:
                    yield "process", node
                if root in _INSTRUCTOR_MODULES:
                    yield "instructor", node
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [
                node.target]
            for target in targets:
                yield from _assigned(target, modules, node)
        elif isinstance(node, ast.Attribute):
            yield from _attribute(node, modules)
        elif isinstance(node, ast.Name):
            if node.id in _INTERNALS or node.id == "__builtins__":
                yield "internals", node
            if node.id.startswith("__grader"):
                yield "instructor", node
        elif isinstance(node, ast.Call):
            yield from _call(node, modules)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node in tree.body:
            for inner in ast.walk(node):
                chain = _chain(inner.func) if isinstance(inner, ast.Call) else []
                if chain and chain[-1] in NUMERICAL:
                    yield "numeric", inner
    if opens:  # a path the cell keeps in a variable before it opens it
        for node in paths:
            yield "instructor", node


def _assigned(target: ast.AST, modules: dict[str, str], node: ast.AST
              ) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _assigned(element, modules, node)
        return
    if not isinstance(target, ast.Attribute):
        return
    chain = _chain(target)
    if not chain:
        return
    root = modules.get(chain[0], "")
    if chain[0] == "sys" or root == "sys":
        if chain[-1] in _STREAMS:
            yield "builtins", node
        return
    if chain[0] in ("builtins", "__builtins__") or root == "builtins":
        yield "builtins", node
    elif chain[-1] in _HOOK_ATTRIBUTES or "()" in chain:
        yield "hook", node
    elif chain[0] in modules:  # np.allclose = ..., math.isclose = ..., checks.x = ...
        yield "library", node


def _attribute(node: ast.Attribute, modules: dict[str, str]) -> Iterator[tuple[str, ast.AST]]:
    chain = _chain(node)
    if node.attr in _STACK_ATTRIBUTES:
        yield "stack", node
    elif node.attr in _INTERNALS:
        yield "internals", node
    elif node.attr in _HOOK_ATTRIBUTES or chain[-2:] == ["events", "register"]:
        yield "hook", node
    if not chain:
        return
    module = modules.get(chain[0], chain[0]).split(".")[0]
    rest = chain[1:]
    if module == "sys" and rest[:1] in (["settrace"], ["setprofile"], ["gettrace"]):
        yield "tracer", node
    if module == "threading" and rest[:1] in (["settrace"], ["setprofile"]):
        yield "tracer", node
    if module == "sys" and rest[:1] in (["_getframe"], ["_current_frames"]):
        yield "stack", node
    if module == "inspect" and rest[:1] in (["stack"], ["currentframe"], ["getouterframes"],
                                            ["trace"], ["getframeinfo"]):
        yield "stack", node
    if module == "gc" and rest[:1] in (["get_objects"], ["get_referrers"], ["get_referents"]):
        yield "stack", node
    if (module, rest[0] if rest else "") in _PROCESS_CALLS:
        yield "process", node
    if module in _PROCESS_MODULES and rest:
        yield "process", node
    if module in _INSTRUCTOR_MODULES:
        yield "instructor", node


def _call(node: ast.Call, modules: dict[str, str]) -> Iterator[tuple[str, ast.AST]]:
    chain = _chain(node.func)
    name = chain[-1] if chain else ""
    if isinstance(node.func, ast.Name) and name in _DYNAMIC_CALLS:
        yield "dynamic", node
    if isinstance(node.func, ast.Name) and name == "getattr" and len(node.args) >= 2:
        attribute = node.args[1]
        if not isinstance(attribute, ast.Constant) or str(attribute.value).startswith("__"):
            yield "dynamic", node
    if name in _FILE_CALLS or name == "__import__":
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            for constant in ast.walk(argument):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str) \
                        and any(p in constant.value for p in _INSTRUCTOR_PATHS):
                    yield "instructor", node
                    return


# ---- the code a clean process gets ---------------------------------------------------------

def _pure(node: ast.AST | None, modules: dict[str, str], functions: Set[str] = frozenset(),
          argument: bool = False) -> bool:
    """An expression that runs nothing of the student's: literals, names, library calls.

    ``functions`` are the notebook's functions: given to a library call (an ``argument``), one
    could be called by it, so it is not pure there; neither is a lambda anywhere in it.
    """
    def pure(child: ast.AST | None, inside: bool = argument) -> bool:
        return _pure(child, modules, functions, inside)

    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return not (argument and node.id in functions)
    if isinstance(node, ast.Attribute):
        return pure(node.value)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(pure(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(pure(e) for e in (*node.keys, *node.values))
    if isinstance(node, ast.UnaryOp):
        return pure(node.operand)
    if isinstance(node, ast.BinOp):
        return pure(node.left) and pure(node.right)
    if isinstance(node, ast.Call):
        chain = _chain(node.func)
        return (len(chain) > 1 and chain[0] in modules and "()" not in chain
                and all(pure(a, True) for a in node.args)
                and all(pure(k.value, True) for k in node.keywords))
    return False


@dataclass
class Definitions:
    """What a clean process takes of a cell, and what the cell binds that it does not take."""

    #: The kept statements, each on its own: one that fails (a constant computed from a name
    #: the clean process lacks) does not stop the definitions after it.
    code: str
    #: Names the statements left out bind at the notebook's top level, by line ("*": any).
    rebound: dict[str, int]
    #: Names the cell's functions declare ``global``: any call may rebind them.
    declared_global: dict[str, int]
    #: The statements left out: line and the first line of their code.
    dropped: list[tuple[int, str]] = field(default_factory=list)


def definitions(source: str, modules: dict[str, str] | None = None,
                functions: set[str] | None = None) -> Definitions:
    """The imports, function definitions and constants of a cell, and nothing else.

    Top-level statements that run anything of the student's (calls, loops, hooks, decorators,
    default values that call something, a library call given one of the notebook's functions)
    are left out: what remains defines the functions without running them. ``modules``
    collects the module names imported so far in the notebook, ``functions`` the functions
    kept so far (both updated in place), so that ``np.float64(1e-12)`` in a later cell counts
    as a library call and ``np.fromfunction(f, ...)`` does not.
    """
    tree = parse(source)
    modules = {} if modules is None else modules
    functions = set() if functions is None else functions
    found = Definitions("", {}, {})
    if tree is None:
        return found
    kept: list[ast.stmt] = []
    for node in tree.body:
        if _kept(node, modules, functions):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules.update(_modules(ast.Module(body=[node], type_ignores=[])))
            elif not isinstance(node, (ast.Assign, ast.AnnAssign)) or \
                    isinstance(node.value, ast.Lambda):
                functions.update(_bound(node))
            kept.append(node)
        else:
            for name in _bound(node):
                found.rebound[name] = node.lineno
            found.dropped.append((node.lineno, ast.unparse(node).splitlines()[0][:80]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                found.declared_global.setdefault(name, node.lineno)
    # each on its own: a statement that fails leaves the others defined
    found.code = "\n".join(
        ast.unparse(node) if isinstance(node, ast.ImportFrom) and node.module == "__future__"
        else ast.unparse(ast.Try(body=[node], handlers=[ast.ExceptHandler(
            type=ast.Name("Exception"), name=None, body=[ast.Pass()])], orelse=[],
            finalbody=[])) for node in kept)
    return found


def _kept(node: ast.stmt, modules: dict[str, str], functions: Set[str]) -> bool:
    """Whether a top-level statement defines without running anything of the student's."""
    function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
        isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda))
    if not function and any(True for _ in _scan(ast.Module(body=[node], type_ignores=[]),
                                                modules)):
        return False  # even a library call can be told to do what no definition needs
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return not (isinstance(node, ast.ImportFrom) and node.level)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        defaults = (*node.args.defaults, *node.args.kw_defaults)
        return not node.decorator_list and all(_pure(d, modules, functions) for d in defaults)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(isinstance(t, ast.Name) for t in targets):
            return False
        if isinstance(node.value, ast.Lambda):
            defaults = (*node.value.args.defaults, *node.value.args.kw_defaults)
            return all(_pure(d, modules, functions) for d in defaults)
        return _pure(node.value, modules, functions)
    return False


_NAMESPACES = {"globals", "vars", "locals"}


def _bound(statement: ast.stmt) -> Iterator[str]:
    """The names a top-level statement binds in the notebook's namespace ("*": it could bind
    any, through ``globals()``, ``exec`` and the like)."""
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
            pending.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                pending.extend([*node.args.defaults, *node.args.kw_defaults])
            continue  # a body binds its own names
        if isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp,
                             ast.DictComp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            yield node.id
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                yield "*" if alias.name == "*" else (alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            chain = _chain(node.value)
            if chain[-2:] in (["globals", "()"], ["vars", "()"], ["locals", "()"]) or \
                    chain[-2:] == ["sys", "modules"] or (isinstance(node.value, ast.Attribute)
                                                      and node.value.attr in ("__globals__",
                                                                              "__dict__")):
                key = node.slice
                yield key.value if isinstance(key, ast.Constant) and \
                    isinstance(key.value, str) else "*"
        elif isinstance(node, ast.Call):
            chain = _chain(node.func)
            if chain[-1:] in (["exec"], ["eval"], ["__import__"]) or \
                    (chain and chain[0] in _NAMESPACES and chain[-1] in ("update", "setdefault")):
                yield "*"
            elif chain[-1:] in (["setattr"], ["delattr"]) and len(node.args) >= 2:
                key = node.args[1]
                yield key.value if isinstance(key, ast.Constant) and \
                    isinstance(key.value, str) else "*"
        pending.extend(ast.iter_child_nodes(node))
