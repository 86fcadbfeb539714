"""Exports against the formats they claim, and the ``grader report`` command.

The nbgrader CSV is compared with what nbgrader's own exporter writes for the same gradebook;
the class is the hand-computed one of ``test_report.py``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin
from test_report import make_small_course

from grader.cli import main
from grader.report import build_report
from grader.report.command import report_command
from grader.report.exports import (
    CANVAS_FIXED,
    canvas_csv,
    json_text,
    nbgrader_csv,
    read_json,
    student_csv,
)
from grader.report.policy import CoursePolicy
from grader.report.synthetic import synthetic_gradebook

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_course(tmp_path_factory.mktemp("exports") / "course")


@pytest.fixture
def small_course(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(template, target)
    return target


def nbgrader_export(db: Path, out: Path) -> str:
    """What nbgrader's CsvExportPlugin writes for ``db``."""
    with Gradebook(f"sqlite:///{db}") as gb:
        CsvExportPlugin(to=str(out)).export(gb)
    return out.read_text()


def test_nbgrader_csv_is_what_nbgrader_writes(small_course: Path, tmp_path: Path) -> None:
    ours = nbgrader_csv(build_report(small_course, policy=CoursePolicy()))
    theirs = nbgrader_export(small_course / "gradebook.db", tmp_path / "theirs.csv")
    assert ours == theirs
    rows = list(csv.DictReader(io.StringIO(ours)))
    assert len(rows) == 2 * 5  # every student for every assignment, submitted or not
    bob = next(r for r in rows if r["student_id"] == "bob" and r["assignment"] == "hw1")
    assert (bob["raw_score"], bob["late_submission_penalty"], bob["score"]) == (
        "1.0", "1.2", "0.0")


def test_nbgrader_csv_matches_the_nbgrader_command(small_course: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades.csv"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(out)],
                   cwd=small_course, env=env, check=True, capture_output=True, timeout=120)
    assert nbgrader_csv(build_report(small_course, policy=CoursePolicy())) == out.read_text()


def test_nbgrader_csv_on_a_random_class(tmp_path: Path) -> None:
    db = synthetic_gradebook(tmp_path / "gradebook.db", n_students=40, seed=7)
    ours = nbgrader_csv(build_report(tmp_path, policy=CoursePolicy()))
    assert ours == nbgrader_export(db, tmp_path / "theirs.csv")


def test_nbgrader_csv_and_nbgrader_agree_on_the_late_penalty(small_course: Path,
                                                             tmp_path: Path) -> None:
    ours = list(csv.DictReader(io.StringIO(nbgrader_csv(build_report(small_course)))))
    theirs = list(csv.DictReader(io.StringIO(
        nbgrader_export(small_course / "gradebook.db", tmp_path / "theirs.csv"))))
    assert ours == theirs
    bob = next(r for r in ours if r["student_id"] == "bob" and r["assignment"] == "hw1")
    assert (bob["late_submission_penalty"], bob["score"]) == ("1.2", "0.0")


def test_canvas_layout(small_course: Path) -> None:
    rows = list(csv.reader(io.StringIO(canvas_csv(build_report(small_course)))))
    assert rows[0] == CANVAS_FIXED + ["Homework 1 (101)", "hw2"]
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][1:] == ["", "", "", "", "6", "6"]
    body = {row[2]: row for row in rows[2:]}
    assert list(body) == ["alice", "bob", "carol", "dave", "erin"]
    assert body["alice"] == ["Adams, Alice", "95a", "alice", "", "L01", "6", "4"]
    assert body["bob"][5:] == ["", "6"]  # hw1 waits for manual grading: left ungraded
    assert body["carol"][5:] == ["3.5", "4"]
    assert body["dave"][5:] == ["0", "0"]  # nothing submitted
    assert body["erin"][5:] == ["5", "0"]


def test_student_csv(small_course: Path) -> None:
    frame = pd.read_csv(io.StringIO(student_csv(build_report(small_course))),
                        keep_default_na=False, dtype=str)
    frame = frame.set_index("student_id")
    assert frame.loc["bob", "hw1/essay"] == "pending"
    assert frame.loc["dave", "hw1/test_a"] == ""
    assert frame.loc["carol", "hw1/essay"] == "1.5"
    assert frame.loc["bob", "hw1 late penalty"] == "1.2"
    assert frame.loc["bob", "hw1 status"] == "pending"
    assert frame.loc["alice", "letter"] == "B"
    assert float(frame.loc["alice", "percent"]) == pytest.approx(88.8889)
    assert list(frame.columns[:3]) == ["last_name", "first_name", "email"]


def test_json_round_trip(small_course: Path) -> None:
    report = build_report(small_course)
    text = json_text(report)
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    back = read_json(text)
    assert back["course_id"] == "demo-course"
    assert back["policy"]["late"] == {"grace_minutes": 15.0, "per_day": 0.1,
                                      "max_fraction": 0.5}
    for key in ("students", "items", "submissions", "flags", "failures", "cofailure_pairs",
                "assignments"):
        original = getattr(report, key).reset_index(drop=True)
        pd.testing.assert_frame_equal(back[key], original, check_dtype=False,
                                      check_column_type=False), key
    pd.testing.assert_frame_equal(back["item_scores"], report.item_scores,
                                  check_column_type=False, check_index_type=False)
    for name, counts in report.cofailure.items():
        assert np.array_equal(back["cofailure"][name].to_numpy(), counts.to_numpy())
        assert np.allclose(back["cofailure_corr"][name].to_numpy(),
                           report.cofailure_corr[name].to_numpy(), equal_nan=True)
    bob = back["submissions"].set_index(["student_id", "assignment"]).loc[("bob", "hw1")]
    assert bob["late_penalty"] == pytest.approx(1.2)
    assert math.isnan(back["item_scores"].loc["bob", ("hw1", "essay")])


def test_json_rejects_other_documents() -> None:
    with pytest.raises(ValueError):
        read_json('{"format": "something else"}')


def test_exports_of_an_empty_gradebook(tmp_path: Path) -> None:
    report = build_report(tmp_path)
    assert nbgrader_csv(report).splitlines() == [
        "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
        "late_submission_penalty,score,max_score"]
    assert canvas_csv(report).splitlines()[0] == ",".join(CANVAS_FIXED)
    assert read_json(json_text(report))["students"].empty
    assert student_csv(report).startswith("student_id,")


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html", "canvas", "nbgrader"])
def test_command_formats(small_course: Path, fmt: str) -> None:
    result = CliRunner().invoke(report_command, ["--course", str(small_course), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output


def test_command_table_is_readable(small_course: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--course", str(small_course)])
    assert result.exit_code == 0, result.output
    text = result.output
    for expected in ("Adams, Alice", "88.9", "Students", "Items", "Flagged submissions",
                     "kernel died", "0.0 (−1.2 late) *", "4.0 !", "missing"):
        assert expected in text, expected


def test_command_writes_file_and_prints_path(small_course: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "grades.html"
    result = CliRunner().invoke(report_command, ["hw1", "--course", str(small_course),
                                                 "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"report written to {out}"
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_command_limits_assignments_and_rejects_unknown(small_course: Path) -> None:
    result = CliRunner().invoke(report_command, ["hw2", "--course", str(small_course),
                                                 "--format", "canvas"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].endswith("Section,hw2")
    bad = CliRunner().invoke(report_command, ["hw9", "--course", str(small_course)])
    assert bad.exit_code == 2 and "hw9" in bad.output


def test_command_outside_a_course(tmp_path: Path) -> None:
    result = CliRunner().invoke(report_command, ["--course", str(tmp_path)])
    assert result.exit_code == 1 and "nbgrader_config.py" in result.output
