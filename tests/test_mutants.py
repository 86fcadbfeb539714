"""Mutation analysis of the hidden tests (``grader mutants``): its operators, its verdicts, and
the whole run: every mutant of every graded function is killed or reviewed as equivalent."""

from __future__ import annotations

import json

import libcst as cst
import pytest
from click.testing import CliRunner
from conftest import REPO

from grader.author import mutants
from grader.author import mutation_operators as ops
from grader.author.notebook import Assignment
from grader.course import Course

COURSE = Course(REPO)
SVM, CE = Assignment(COURSE, "svm_hinge"), Assignment(COURSE, "cross_entropy")


def mutate(operator, code: str) -> list[str]:
    """Every replacement `operator` proposes for the nodes of an expression."""
    tree = cst.parse_module(code)
    found = []

    class Visitor(cst.CSTVisitor):
        def on_visit(self, node):
            for kind, op in ops.OPERATORS:
                if op is operator and isinstance(node, kind):
                    found.extend(tree.code_for_node(n) for n in op(node))
            return True

    tree.visit(Visitor())
    return found


def test_the_operators_say_what_students_get_wrong():
    assert "S.max(axis=0, keepdims=True)" in mutate(ops.operator_axis,
                                                    "S.max(axis=1, keepdims=True)")
    assert mutate(ops.operator_loop_bound, "range(n)") == ["range(n - 1)", "range(n + 1)"]
    sizes = mutate(ops.operator_typical_size, "W.shape[1]")
    assert "min(W.shape[1], 10)" in sizes and "1000" in sizes
    assert "min(X.shape[1], 3073)" in mutate(ops.operator_typical_size, "X.shape[1]")
    assert "min(X.shape[0], 2048)" in mutate(ops.operator_typical_size, "X.shape[0]")
    # the replaced nodes: "dW / n" becomes "dW", "2.0 * reg" becomes "reg"
    assert mutate(ops.operator_drop_factor, "dW / n + 2.0 * reg * W") == ["dW", "reg"]
    assert "margin > 1e-06" in mutate(ops.operator_tolerance, "margin > 0")
    assert mutate(ops.operator_log_of_probability, "np.mean(lse - s)") == [
        "np.mean(-np.log(np.exp(-(lse - s))))"]
    assert mutate(ops.operator_no_shift, "S - S.max(axis=1, keepdims=True)") == ["S"]


def test_mutants_of_every_graded_function_come_from_mutmut_and_our_operators():
    made = mutants.generate(SVM, mutants.graded_functions(SVM))
    assert {m.function for m in made} == {"svm_loss_naive", "svm_loss_vectorized",
                                          "softmax_loss_vectorized"}
    origins = {m.operator for m in made}
    assert "mutmut" in origins and {"typical_size", "tolerance", "drop_factor"} <= origins
    assert len({m.source for m in made}) == len(made)  # no mutant twice


def test_a_wrong_mutant_loses_its_items_and_only_those():
    made = mutants.generate(SVM, {"svm_loss_naive"})
    (cap,) = [m for m in made if "min(W.shape[1], 10)" in m.diff]
    mutants.grade_all([cap], {"svm_hinge": SVM}, jobs=1, progress=False)
    assert set(cap.lost) == {"test_svm_naive_loss", "test_svm_naive_gradient"}
    assert mutants.leaks([cap], {"svm_hinge": SVM}) == []
    cap.lost["test_softmax_loss"] = "lost for no reason"
    assert mutants.leaks([cap], {"svm_hinge": SVM}) == [
        f"{cap.key} loses test_softmax_loss, which does not use svm_loss_naive"]


def test_classification_fails_on_survivors_and_on_a_stale_list():
    made = mutants.generate(CE, {"two_class_logit"})
    for m in made:
        m.lost = {}
    problems = mutants.classify(made, {})
    assert len(problems) == len(made) and all(p.startswith("survived") for p in problems)
    listed = {made[0].key: "reason"}
    made[0].lost = {"test_two_class_logit": "wrong"}
    assert mutants.classify(made[:1], listed) == [
        f"listed as equivalent but killed: {made[0].key}"]


def test_every_listed_equivalent_mutant_has_a_reason():
    for assignment in (CE, SVM):
        listed = mutants.read_equivalent(assignment)
        assert listed and all(len(reason) > 20 for reason in listed.values())


@pytest.mark.notebook  # slow-ish: every mutant of every assignment, graded in-process
def test_no_mutant_of_a_graded_function_survives(tmp_path):
    out = tmp_path / "mutants.json"
    result = CliRunner().invoke(mutants.mutants_command,
                                ["--jobs", "2", "--out", str(out), "--course", str(REPO)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert len(report) > 300
    assert {m["status"] for m in report} == {"killed", "equivalent"}
    assert {m["assignment"] for m in report} == set(COURSE.assignments())
    totals = [line for line in result.output.splitlines() if line.startswith("all ")]
    assert totals and totals[0].endswith("100.0%")
