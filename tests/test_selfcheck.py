"""The students' self-check: public tests only, from inside a notebook or a shell, never a grade."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from grader import selfcheck

SOURCE = REPO / "source" / "cross_entropy" / "cross_entropy.ipynb"
RELEASE = REPO / "release" / "cross_entropy" / "cross_entropy.ipynb"
ADA = REPO / "examples" / "submitted" / "ada" / "cross_entropy" / "cross_entropy.ipynb"


def test_hidden_tests_are_cut_even_from_the_instructor_notebook() -> None:
    notebook = selfcheck.load(SOURCE)
    assert len(notebook.items) == 24
    for item in notebook.items:
        assert "HIDDEN" not in item.code and "hidden." not in item.code, item.name
    # the released test cells are exactly their public parts
    released = {i.name: i.code for i in selfcheck.load(RELEASE).items}
    assert {i.name: i.code.strip() for i in notebook.items} == \
        {k: v.strip() for k, v in released.items()}


def test_items_are_chosen_by_item_test_id_or_answer_cell() -> None:
    items = selfcheck.load(RELEASE).items
    assert [i.name for i in selfcheck.select(items, "sigmoid_values")] == ["sigmoid_values"]
    assert [i.name for i in selfcheck.select(items, "test_bce_loss")] == ["bce_loss"]
    assert [i.name for i in selfcheck.select(items, "softmax")] == [
        "softmax_values", "softmax_stable", "softmax_shapes", "softmax_untouched"]
    assert len(selfcheck.select(items, None)) == 24
    with pytest.raises(ValueError, match="sigmoid_values"):
        selfcheck.select(items, "sigmoidd")


def test_the_summary_never_reads_as_a_grade() -> None:
    item = selfcheck.Item("sigmoid_values", 2.0, "", "sigmoid")
    for results in ([selfcheck.Result(item, selfcheck.PASS)],
                    [selfcheck.Result(item, selfcheck.FAIL, "sigmoid(0) should be 0.5")]):
        text = selfcheck.summary(results, "cross_entropy.ipynb")
        assert "does not mean full marks" in text and "hidden" in text
        assert "Points" not in text and "score" not in text.lower()
    assert "not your grade" in selfcheck.summary(
        [selfcheck.Result(item, selfcheck.PASS)], "nb.ipynb")


def test_a_test_does_not_change_the_students_variables() -> None:
    item = selfcheck.Item("x", 1.0, "z = 5\nassert f(z) == 10\n", "f")
    namespace = {"z": "mine", "f": lambda v: 2 * v}
    assert selfcheck.run_item(item, namespace).passed
    assert namespace["z"] == "mine"
    broken = selfcheck.run_item(selfcheck.Item("y", 1.0, "1 / 0", None), {})
    assert broken.status == selfcheck.ERROR and "ZeroDivisionError" in broken.message


def run_in_kernel(notebook: Path, folder: Path, extra: list[str]) -> list[str]:
    """Execute ``notebook`` in a real kernel in ``folder`` with ``extra`` cells appended (the
    grader package made unimportable, as for a student); the text output of those cells."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "grader" / "selfcheck.py", folder / "selfcheck.py")
    target = folder / notebook.name
    shutil.copy2(notebook, target)
    nb = nbformat.read(target, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; sys.modules['grader'] = None"))
    first_extra = len(nb.cells)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in extra]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    outputs = []
    for cell in nb.cells[first_extra:]:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors[0].get("evalue")
        outputs.append("".join(o.get("text", "") for o in cell.outputs))
    return outputs


@pytest.mark.notebook
def test_check_inside_a_finished_notebook(tmp_path: Path) -> None:
    one, function, everything, kept = run_in_kernel(ADA, tmp_path / "work", [
        "from selfcheck import check\nz = 'mine'\ncheck('sigmoid_values')",
        "check('softmax')",
        "check()",
        "print(repr(z))",
    ])
    assert "1 of 1 item passed" in one and "✓ sigmoid_values" in one
    assert function.count("✓") == 4 and "softmax_untouched" in function
    assert "24 of 24 items passed" in everything and "not your grade" in everything
    for text in (one, function, everything):
        assert "does not mean full marks" in text
    assert kept.strip() == "'mine'"


@pytest.mark.notebook
def test_check_inside_the_untouched_release(tmp_path: Path) -> None:
    [everything] = run_in_kernel(RELEASE, tmp_path / "work",
                                 ["from selfcheck import check\ncheck()"])
    assert "0 of 24 items passed" in everything
    assert "not implemented yet" in everything
    assert "not your grade" not in everything and "does not mean full marks" in everything


def test_a_stub_answer_cell_reads_not_implemented_from_a_shell(tmp_path: Path, capsys) -> None:
    # `python selfcheck.py NOTEBOOK` runs every cell: the affine map's answer cell (module
    # level `a, b`) raises NotImplementedError, so its test must not blame a missing name.
    assert selfcheck.main([str(RELEASE)]) == 1
    out = capsys.readouterr().out
    assert "0 of 24 items passed" in out
    assert "is not defined" not in out
    affine = out[out.index("✗ affine_map"):].splitlines()[1]
    assert "not implemented yet" in affine
    # an answer cell failing for another reason is named as the cause
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "affine_map":
            cell.source = "a = np.array([0.0, 1.0])\nb = np.zeros(3) @ np.zeros(2)\n"
    broken = tmp_path / "cross_entropy.ipynb"
    nbformat.write(nb, broken)
    results = {r.item.name: r for r in selfcheck.run_notebook(selfcheck.load(broken))}
    assert results["affine_map"].message.startswith("its answer cell raised ValueError: ")
    assert "not implemented yet" in results["sigmoid_values"].message
