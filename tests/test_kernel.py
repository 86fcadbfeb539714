"""The grading kernel behind pipes: what a notebook records, as Jupyter records it.

A real kernel (forked by a real factory, sandboxed) runs cells; the outputs nbgrader and the
feedback rely on — streams (from Python and from compiled code), display data and figures,
results with their execution counts, errors with tracebacks, cleared output — come back in
order, and a kernel that breaks its channel or dies is noticed, never trusted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import numpy as np
import pytest
from conftest import REPO

from grader.course import Course
from grader.grade.bridge import Bridge, StudentFunction
from grader.grade.execute import CellOutputs
from grader.grade.kernel import Kernel, KernelLost, Limits, kernel_env
from grader.grade.sandbox import plan_for
from grader.grade.supervisor import become_subreaper
from grader.grade.worker import kernel_arguments
from grader.grade.zygote import KernelFactory

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def factory() -> Iterator[KernelFactory]:
    # Forked from the test process: fine here, it has started no thread of its own yet that
    # the factory would need (a worker does the same, first thing). The course's own options.
    become_subreaper()
    made = KernelFactory(kernel_arguments(Course(REPO).config()))
    yield made
    made.close()
    become_subreaper(False)  # the rest of the test session waits for its own children only


@pytest.fixture
def kernel(factory: KernelFactory) -> Iterator[Kernel]:
    workdir = tempfile.mkdtemp(prefix="grader-test-")
    sandbox = plan_for(workdir, uid=123_456) if os.geteuid() == 0 else None
    started = Kernel(factory, Limits(), workdir, {**kernel_env(), "HOME": workdir}, sandbox)
    yield started
    started.close()


def run(kernel: Kernel, code: str, limit: int = 2**20) -> tuple[dict, list]:
    sink = CellOutputs(limit)
    done, _ = kernel.request({"op": "cell", "code": code}, sink=sink)
    return done, [dict(o) for o in sink.finish()]


def test_streams_results_displays_and_errors_come_back_in_order(kernel: Kernel) -> None:
    done, outputs = run(kernel, "import os, sys\nprint('python')\nos.write(1, b'compiled\\n')\n"
                                "print('err', file=sys.stderr)\n6 * 7")
    assert done["count"] == 1 and done["error"] is None
    assert outputs[0] == {"output_type": "stream", "name": "stdout",
                          "text": "python\ncompiled\n"}
    assert outputs[1] == {"output_type": "stream", "name": "stderr", "text": "err\n"}
    assert outputs[2]["output_type"] == "execute_result"
    assert outputs[2]["data"] == {"text/plain": "42"} and outputs[2]["execution_count"] == 1

    done, outputs = run(kernel, "from IPython.display import HTML, display\nprint('before')\n"
                                "display(HTML('<b>x</b>'))\nprint('after')\n1 / 0")
    assert done["count"] == 2 and done["error"] == "ZeroDivisionError"
    assert [o["output_type"] for o in outputs] == ["stream", "display_data", "stream", "error"]
    assert outputs[1]["data"]["text/html"] == "<b>x</b>"
    assert outputs[3]["ename"] == "ZeroDivisionError" and outputs[3]["traceback"]


def test_figures_and_cleared_output(kernel: Kernel) -> None:
    _, outputs = run(kernel, "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    _, outputs = run(kernel, "from IPython.display import clear_output\nprint('gone')\n"
                             "clear_output(wait=True)\nprint('kept')")
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": "kept\n"}]


def test_output_is_kept_up_to_its_limit_with_a_note(kernel: Kernel) -> None:
    _, outputs = run(kernel, "print('x' * 5_000_000)", limit=1000)
    text = "".join(o.get("text", "") for o in outputs)
    assert text.count("x") == 1000
    assert "output truncated: 4,999,001 more bytes were not kept" in text


def test_the_bridge_moves_numbers_only(kernel: Kernel) -> None:
    run(kernel, "import numpy as np\ndef double(a, scale=2):\n    a *= scale\n    return a, 0.5\n"
                "class Opaque:\n    pass\ndef opaque():\n    return Opaque()")
    bridge = Bridge(kernel, 10.0, {})
    a = np.arange(6.0).reshape(2, 3)
    got, half = StudentFunction(bridge, "double")(a)
    assert isinstance(got, np.ndarray) and np.array_equal(got, np.arange(6.0).reshape(2, 3) * 2)
    assert half == 0.5
    assert np.array_equal(a, got), "an input changed in place is mirrored back"
    with pytest.raises(TypeError, match="Opaque, not numbers"):
        StudentFunction(bridge, "opaque")()


def test_a_kernel_that_garbles_its_channel_is_not_trusted(kernel: Kernel) -> None:
    run(kernel, "x = 1")
    with pytest.raises(KernelLost, match="broke its channel"):
        run(kernel, "import os\nfor fd in range(3, 20):\n    try:\n"
                    "        os.write(fd, (1000).to_bytes(4, 'big') + b'not json' * 200)\n"
                    "    except OSError:\n        pass")


def test_an_answer_the_student_code_writes_itself_is_not_taken(kernel: Kernel) -> None:
    run(kernel, "def f():\n    get_ipython().send({'op': 'done', 'events': 3, "
                "'tampered': False})\n    return 1.0")
    with pytest.raises(KernelLost, match="an answer to no request"):
        kernel.request({"op": "trace", "name": "f", "args": []})


def test_a_dead_kernel_is_noticed_with_how_it_ended(kernel: Kernel) -> None:
    with pytest.raises(KernelLost, match="SIGSEGV"):
        run(kernel, "import ctypes\nctypes.string_at(0)")


def test_marks_cut_across_reads_still_order_the_outputs() -> None:
    from grader.grade.channel import MARK
    from grader.grade.kernel import InOrder

    sink = CellOutputs(2**20)
    order = InOrder(sink)
    data = b"one\n" + MARK % 1 + b"two\n" + MARK % 2 + b"three\n"
    order.message(2, lambda: sink.output({"output_type": "display_data",
                                          "data": {"text/plain": "B"}, "metadata": {}}))
    for i in range(0, len(data), 5):  # the pipe hands over five bytes at a time
        order.stdout(data[i:i + 5])
    order.message(1, lambda: sink.output({"output_type": "display_data",
                                          "data": {"text/plain": "A"}, "metadata": {}}))
    order.finish()
    got = [o.get("text") or o["data"]["text/plain"] for o in sink.finish()]
    assert got == ["one\n", "A", "two\n", "B", "three\n"]


def test_text_behind_a_mark_whose_message_never_comes_is_held_within_a_bound() -> None:
    from grader.grade.channel import MARK
    from grader.grade.kernel import HELD_TEXT, InOrder

    sink = CellOutputs(1000)
    order = InOrder(sink)
    order.stdout(b"before\n" + MARK % 7)  # a mark the student printed: no message follows
    chunk = b"x" * 65536
    for _ in range(1024):  # 64 MB printed behind it
        order.stdout(chunk)
        assert order._held <= HELD_TEXT + len(chunk)
    order.finish()
    got = sink.finish()
    assert got[0]["text"].startswith("before\nxxx") and len(got[0]["text"]) < 2000


def test_the_course_start_up_lines_run_once_and_warnings_stay_quiet(kernel: Kernel) -> None:
    # nbgrader_config.py silences warnings in grading kernels (IPKernelApp.exec_lines)
    _, outputs = run(kernel, "import warnings\nwarnings.warn('harmless')\nprint('ok')")
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]


def test_figures_are_inline_even_when_a_parent_chose_another_backend() -> None:
    import matplotlib

    matplotlib.use("Agg")  # as a grader process that draws its own report would
    import matplotlib.pyplot  # noqa: F401

    become_subreaper()
    made = KernelFactory(kernel_arguments(Course(REPO).config()))
    workdir = tempfile.mkdtemp(prefix="grader-test-")
    started = Kernel(made, Limits(), workdir, {**kernel_env(), "HOME": workdir}, None)
    try:
        _, outputs = run(started, "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()")
        assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    finally:
        started.close()
        made.close()
        become_subreaper(False)
