"""What the student's code does, from its syntax tree: flags name lines, words never count."""

from __future__ import annotations

import pytest
from test_integrity import ATTACKS, DETECTABLE

from grader.grade.codescan import definitions, findings, imports

NOTEBOOK_MODULES = {"np": "numpy", "time": "time"}


def kinds(source: str) -> set[str]:
    return {f.kind for f in findings(source, NOTEBOOK_MODULES)}


@pytest.mark.parametrize("attack", sorted(DETECTABLE))
def test_every_integrity_attack_is_found(attack: str) -> None:
    code = ATTACKS[attack].replace("{root}", "/srv/course").replace("{repo}", "/srv/repo")
    assert findings(code, NOTEBOOK_MODULES), attack


def test_a_finding_names_its_line() -> None:
    code = "x = 1\n\n\nimport numpy\nnumpy.allclose = lambda *a, **k: True\n"
    [finding] = findings(code)
    assert (finding.kind, finding.line) == ("library", 5)
    assert finding.code.startswith("numpy.allclose =")


HONEST = '''
# The grader compares this with np.allclose; the hidden tests live in source/ and grader/.
import os
import numpy as np


def softmax(S):
    """Signals, sockets, subprocess and gc.get_objects are not needed; see the grader."""
    S = np.asarray(S, dtype=float)  # sys.settrace, os.kill: words in a comment
    E = np.exp(S - S.max(axis=1, keepdims=True))
    print("the grader reads source/ and release/; signal.SIGINT is just text")
    message = f"{os.path.join('data', 'x.npy')} grader"
    return E / E.sum(axis=1, keepdims=True)


np.set_printoptions(precision=3)
rng = np.random.default_rng(0)
'''


def test_honest_words_in_comments_strings_and_prints_raise_nothing() -> None:
    assert findings(HONEST, NOTEBOOK_MODULES) == []


@pytest.mark.parametrize("code,kind", [
    ("np.isclose = lambda *a, **k: True", "library"),
    ("import math\nmath.isclose = max", "library"),
    ("get_ipython().events.register('pre_execute', print)", "hook"),
    ("ip = get_ipython()\nip.input_transformers_cleanup.append(lambda l: l)", "hook"),
    ("import sys\nsys.settrace(None)", "tracer"),
    ("import sys as s\nf = s._getframe(1)", "stack"),
    ("import inspect\nframes = inspect.stack()", "stack"),
    ("def f():\n    return (lambda: 0).__code__", "internals"),
    ("import builtins\nbuiltins.print = len", "builtins"),
    ("import sys\nsys.stdout = None", "builtins"),
    ("import os\nos._exit(0)", "process"),
    ("import subprocess", "process"),
    ("import ctypes\nctypes.string_at(0)", "process"),
    ("from grader import reference", "instructor"),
    ("data = open('/srv/course/source/a/a.ipynb').read()", "instructor"),
    ("import glob\nfor p in ('/srv/course/gradebook.db',):\n    glob.glob(p)", "instructor"),
    ("value = eval('1 + 1')", "dynamic"),
    ("value = getattr(np, name)", "dynamic"),
])
def test_what_code_does_is_found(code: str, kind: str) -> None:
    assert kind in kinds(code), findings(code, NOTEBOOK_MODULES)


def test_definitions_keep_functions_imports_and_constants_only() -> None:
    cell = '''
import numpy as np
from math import log
EPS = np.finfo(float).eps
SIZES = (1, 2, 3)
helper = lambda x: x + 1
def f(x, scale=2.0):
    return helper(x) * scale
@staticmethod
def decorated(x):
    return x
def defaults_that_run_code(x, y=print("side effect")):
    return x
np.allclose = lambda *a, **k: True
get_ipython().events.register("pre_execute", print)
result = f(3)
for i in range(3):
    pass
import os
status = os.system("true")
'''
    kept = definitions(cell).code
    assert "def f(x, scale=2.0)" in kept and "EPS = np.finfo(float).eps" in kept
    assert "helper = lambda" in kept and "SIZES = (1, 2, 3)" in kept
    assert "from math import log" in kept and "import os" in kept
    for left_out in ("decorated", "defaults_that_run_code", "allclose", "register",
                     "result =", "for i", "os.system"):
        assert left_out not in kept, left_out


def test_module_names_come_from_every_cell() -> None:
    assert imports(["import numpy as np", "from scipy import special as sp", "x = 1"]) == {
        "np": "numpy", "sp": "scipy.special"}


def test_a_measurement_is_doubted_for_the_function_whose_code_tampers_only() -> None:
    from grader.grade.clean import CleanProcess

    clean = CleanProcess(lambda: None, 5.0)  # no kernel is needed to decide what to trust
    clean.add("import sys\nhelper = lambda: sys.settrace(None)\n"
              "def uses_helper(x):\n    return helper() or x\n"
              "def honest(x):\n    return x * 2\n", "cell")
    clean.add("import inspect\ndef walker(x):\n    return inspect.stack()\n", "other")
    assert "changes the tracer" in clean._doubt("uses_helper")
    assert "line 2" in clean._doubt("helper")
    assert "walks the call stack" in clean._doubt("walker")
    assert clean._doubt("honest") is None
    clean.add("def walker(x):\n    return x\n", "again")  # redefined honestly
    assert clean._doubt("walker") is None
