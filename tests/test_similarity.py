"""``grader similarity`` on real notebooks: the labelled corpus, boilerplate, bad input.

The corpus (``tests/corpus``, see ``similarity_corpus.py``) holds honest solutions written
independently in different styles and copies of some of them disguised the way students
disguise them. Its notebooks are the released notebooks filled in, in nbgrader's layout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import similarity_corpus
from click.testing import CliRunner
from conftest import ASSIGNMENTS, REPO, cell, released_notebook, source_notebook, submit

from grader.cli import main
from grader.course import Course, CourseError
from grader.similarity import Settings, similarity
from grader.similarity.export import records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, released_template: Course) -> Path:
    """The corpus's notebooks: ``<dir>/<student>/<assignment>/<assignment>.ipynb``."""
    return similarity_corpus.build(released_template.release,
                                   tmp_path_factory.mktemp("corpus") / "submitted")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["similarity", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("assignment", similarity_corpus.assignments())
def test_disguised_copies_are_flagged_and_honest_pairs_are_not(
        course: Course, corpus: Path, assignment: str) -> None:
    labels = similarity_corpus.labels(assignment)
    result = similarity(course, assignment, corpus)
    flagged = {frozenset((a, b)) for a, b in zip(result.flagged["a"], result.flagged["b"])}
    assert labels.copy_pairs <= flagged, labels.copy_pairs - flagged
    assert not flagged & labels.honest_pairs, flagged & labels.honest_pairs
    # Every copy is ranked above every honest pair.
    ranked = [frozenset(p) for p in zip(result.pairs["a"], result.pairs["b"])]
    assert set(ranked[:len(labels.copy_pairs)]) == labels.copy_pairs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_compares_its_example_class(course: Course, assignment: str) -> None:
    """Any assignment, corpus or not: a verbatim copy of an example student is flagged, and
    the honest example students are not."""
    examples = REPO / "examples" / "submitted"
    students = sorted(p.parent.name for p in examples.glob(f"*/{assignment}"))
    if not students:
        pytest.skip(f"{assignment} has no example class")
    for student in students:
        shutil.copytree(examples / student / assignment, course.submitted / student / assignment)
    original = "ada" if "ada" in students else students[0]
    shutil.copytree(examples / original / assignment,
                    course.submitted / "copycat" / assignment)
    result = similarity(course, assignment)
    flagged = {frozenset((a, b)) for a, b in zip(result.flagged["a"], result.flagged["b"])}
    assert flagged == {frozenset((original, "copycat"))}, flagged


def test_blank_notebooks_are_not_similar(course: Course) -> None:
    """Two untouched releases share everything they were given, and that is not copying."""
    for student in ("blank1", "blank2"):
        submit(course, student, "cross_entropy", released_notebook(course, "cross_entropy"))
    # Only the def lines and docstrings kept, bodies written differently.
    nb = released_notebook(course, "cross_entropy")
    stub = "    # YOUR CODE HERE\n    raise NotImplementedError()"
    answer = cell(nb, "sigmoid")
    answer.source = answer.source.replace(stub, "    return 1 / (1 + np.exp(-z))")
    submit(course, "short", "cross_entropy", nb)
    result = similarity(course, "cross_entropy")
    assert result.students == ["blank1", "blank2", "short"]
    assert result.pairs.empty, result.pairs


def test_identical_answers_share_everything_but_what_was_given(course: Course,
                                                              corpus: Path) -> None:
    shutil.copytree(corpus / "kofi", course.submitted / "kofi")
    shutil.copytree(corpus / "kofi", course.submitted / "kofi2")
    shutil.copytree(corpus / "jules", course.submitted / "jules")
    result = similarity(course, "svm_hinge")
    top = result.pairs.iloc[0]
    assert (top["a"], top["b"], bool(top["flagged"])) == ("kofi", "kofi2", True)
    # Less than 1: what matches the reference solution counts in the size of an answer, not
    # as shared. Still far above anything honest.
    assert top["score"] > 0.4 and top["score"] > 3 * result.pairs["score"].iloc[1]
    code, _, spans, _ = result.passages("kofi", "kofi2", "svm_loss_naive")
    marked = "".join(code[start:end] for start, end in spans)
    # The shared passages are the student's lines, never the released def line or docstring.
    assert "for other_class in range(number_of_classes)" in marked
    assert "def svm_loss_naive" not in marked and "Parameters" not in marked


def test_reference_solution_is_not_evidence(course: Course) -> None:
    """Two students who both wrote the instructor's solution share only the obvious way."""
    reference = source_notebook("cross_entropy")
    release = released_notebook(course, "cross_entropy")
    for student in ("ref1", "ref2"):
        for grade_id in ("sigmoid", "softmax", "binary_cross_entropy", "softmax_cross_entropy"):
            cell(release, grade_id).source = cell(reference, grade_id).source
        submit(course, student, "cross_entropy", release)
    result = similarity(course, "cross_entropy")
    assert result.flagged.empty
    assert result.pairs.empty or result.pairs["shared"].max() == 0


def test_json_lists_pairs_for_other_tools(course: Course, corpus: Path) -> None:
    code, output = run("cross_entropy", "--course", str(course.root), "--submissions",
                       str(corpus), "--format", "json")
    assert code == 0, output
    pairs = json.loads(output)
    assert isinstance(pairs, list) and pairs
    for pair in pairs:
        assert {"a", "b", "score", "flagged", "functions"} <= set(pair)
        assert 0 <= pair["score"] <= 1 and isinstance(pair["flagged"], bool)
        assert set(pair["functions"]) == {"sigmoid", "softmax", "binary_cross_entropy",
                                          "softmax_cross_entropy", "two_class_logit",
                                          "affine_map", "logit_gradients", "saturation"}
    scores = [p["score"] for p in pairs]
    assert scores == sorted(scores, reverse=True)
    quinn = next(p for p in pairs if {p["a"], p["b"]} == {"ivan", "quinn"})
    assert quinn["flagged"] and quinn["functions"]["sigmoid"] > 0.5


def test_table_csv_and_threshold(course: Course, corpus: Path) -> None:
    code, table = run("svm_hinge", "--course", str(course.root), "--submissions", str(corpus))
    assert code == 0, table
    assert "6 flagged" in table and "never a verdict" in table
    out = course.root / "shared.csv"
    code, said = run("svm_hinge", "--course", str(course.root), "--submissions", str(corpus),
                     "--format", "csv", "--out", str(out), "--threshold", "0.5")
    assert code == 0 and str(out) in said
    header, *rows = out.read_text().splitlines()
    assert header.split(",")[:6] == ["a", "b", "past", "score", "shared", "flagged"]
    assert "train_linear_classifier" in header  # cells are named for their function
    flagged = [row.split(",")[5] == "True" for row in rows]
    high = [float(row.split(",")[3]) >= 0.5 for row in rows]
    assert flagged == high and 0 < sum(flagged) < 6


def test_earlier_terms_are_a_reference_corpus(course: Course, corpus: Path,
                                              tmp_path: Path) -> None:
    past = tmp_path / "2024"
    for student in ("hana", "kofi", "jules"):
        shutil.copytree(corpus / student, past / student)
    for student in ("pia", "mei"):
        shutil.copytree(corpus / student, course.submitted / student)
    result = similarity(course, "svm_hinge", past=[past])
    assert result.students == ["mei", "pia"]
    flagged = [(r.a, r.b, r.past) for r in result.flagged.itertuples()]
    assert flagged == [("pia", "2024/hana", "2024")]
    # Earlier students are never compared with each other.
    assert not any(a.startswith("2024/") for a in result.pairs["a"])
    answer = [r for r in records(result) if r["b"] == "2024/hana"][0]
    assert answer["past"] == "2024" and answer["flagged"]


def test_an_assignment_without_submissions_says_so(course: Course) -> None:
    code, output = run("svm_hinge", "--course", str(course.root))
    assert code == 1
    assert "no submissions of 'svm_hinge'" in output and "submitted" in output
    code, output = run("svm_hinge", "--course", str(course.root), "--submissions",
                       str(course.root / "nowhere"))
    assert code == 1 and "does not exist" in output
    code, output = run("nope", "--course", str(course.root))
    assert code == 1 and "unknown assignment 'nope'" in output
    with pytest.raises(CourseError, match="not a directory"):
        submit(course, "ann", "svm_hinge", released_notebook(course, "svm_hinge"))
        similarity(course, "svm_hinge", past=[course.root / "missing-term"])


def test_damaged_notebooks_are_named_and_the_rest_compared(course: Course,
                                                          corpus: Path) -> None:
    for student in ("hana", "pia"):
        shutil.copytree(corpus / student, course.submitted / student)
    submit(course, "cut", "svm_hinge", '{"cells": [')
    result = similarity(course, "svm_hinge")
    assert result.students == ["hana", "pia"]
    assert len(result.problems) == 1 and "cut" in result.problems[0]
    assert "invalid JSON" in result.problems[0]
    assert bool(result.flagged.iloc[0]["flagged"])
    code, output = run("svm_hinge", "--course", str(course.root))
    assert code == 0 and "not read" in output and "cut" in output
    # Only damaged notebooks: nothing to compare, a clear error.
    for student in ("hana", "pia"):
        shutil.rmtree(course.submitted / student)
    code, output = run("svm_hinge", "--course", str(course.root))
    assert code == 1 and "no readable notebook" in output


def test_settings_decide_the_flag(course: Course, corpus: Path) -> None:
    strict = similarity(course, "svm_hinge", corpus, settings=Settings(threshold=1.0))
    loose = similarity(course, "svm_hinge", corpus, settings=Settings(threshold=0.0,
                                                                      min_shared=0))
    assert strict.pairs["score"].tolist() == loose.pairs["score"].tolist()
    assert len(strict.flagged) <= 1 and loose.flagged.shape[0] == len(loose.pairs)
