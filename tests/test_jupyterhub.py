"""A term on JupyterHub, for real: nbgrader's exchange, Unix student accounts, the whole
sequence of the README's *A term on JupyterHub*.

Two students, each a Unix user made with ``useradd`` (root is needed: the test is skipped,
saying so, only where accounts cannot be made), run nbgrader's student commands as themselves
in their own home directories; the instructor (this process's user) runs the course's. The
sequence: ``release_assignment``; both students ``fetch_assignment`` (``selfcheck.py`` comes
with the notebook and runs), answer and ``submit``; ``collect``; the due date is set
(``nbgrader db assignment add --duedate``) and passes; one student resubmits, late;
``collect --update``; ``grader grade``; ``grader feedback``; ``release_feedback``; both
``fetch_feedback``: each finds their own page, the late one with the late penalty. The course
applies 10% of the points per started day late with no grace period, so a resubmission a
second after the due date costs 3.6 of 36 points. The accounts are removed afterwards.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO, make_course

from grader.course import Course

pytestmark = pytest.mark.notebook
A = "cross_entropy"
COURSE_ID = "classification-losses"
BIN = Path(sys.executable).parent
EXAMPLES = REPO / "examples" / "submitted"
POLICY = "[late]\ngrace_minutes = 0\nper_day = 0.10\nmax_fraction = 0.50\n"


def _cannot_make_accounts() -> str | None:
    if os.geteuid() != 0:
        return "making Unix student accounts (useradd) needs root"
    missing = [tool for tool in ("useradd", "userdel", "runuser") if shutil.which(tool) is None]
    return f"no {', '.join(missing)} on this machine" if missing else None


pytestmark = [pytestmark, pytest.mark.skipif(_cannot_make_accounts() is not None,
                                             reason=_cannot_make_accounts() or "")]


def as_user(user: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``args`` as ``user``, in their home, with their own environment only."""
    home = pwd.getpwnam(user).pw_dir
    env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}",
           "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
    done = subprocess.run(["runuser", "-u", user, "--", *env, *args], cwd=cwd or home,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{user}: {args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def instructor(course: Course, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(list(args), cwd=course.root, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def shared() -> Iterator[Path]:
    """A folder every account can read: the exchange and the students' Python live there."""
    root = Path(tempfile.mkdtemp(prefix="grader-hub-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def students(shared: Path) -> Iterator[list[str]]:
    """Two Unix accounts with home directories; removed with them afterwards."""
    names = [f"hub{os.getpid() % 100000}{letter}" for letter in "ab"]
    made = []
    try:
        for name in names:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name],
                           check=True, capture_output=True, text=True)
            made.append(name)
        yield names
    finally:
        for name in made:
            subprocess.run(["userdel", "--remove", name], capture_output=True)


def student_python(shared: Path, user: str) -> str:
    """A Python with nbgrader that ``user`` can run: this one if they can reach it; otherwise
    a virtual environment of the system's Python reading this environment's packages (what
    a hub's shared environment is). Students need nbgrader and the notebook's imports, not
    the grader."""
    mine = str(Path(sys.executable).resolve())
    probe = subprocess.run(["runuser", "-u", user, "--", mine, "-c", "import nbgrader"],
                           capture_output=True)
    if probe.returncode == 0:
        return mine
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = next((p for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}")
                   if Path(p).is_file()), None)
    if system is None:
        pytest.skip(f"no {version} that student accounts can run")
    env = shared / "students-env"
    if not env.exists():
        subprocess.run([system, "-m", "venv", "--without-pip", str(env)], check=True)
        packages = subprocess.run([str(env / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip()
        Path(packages, "course-environment.pth").write_text(
            sysconfig.get_paths()["purelib"] + "\n")
    return str(env / "bin" / "python")


def timestamp_of(folder: Path) -> datetime:
    text = (folder / "timestamp.txt").read_text().strip()
    return datetime.strptime(text[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def test_a_term_on_jupyterhub(students: list[str], shared: Path, tmp_path: Path) -> None:
    ontime, late = students
    exchange = shared / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # as nbgrader's documentation sets it up: every user writes there
    course = make_course(tmp_path / "course", (A,))
    (course.root / "course.toml").write_text(POLICY)
    with (course.root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    python = student_python(shared, ontime)
    for student in students:  # each student's own nbgrader configuration
        account = pwd.getpwnam(student)
        config = Path(account.pw_dir, ".jupyter", "nbgrader_config.py")
        as_user(student, "mkdir", "-p", str(config.parent))
        config.write_text(f"c = get_config()  # noqa: F821\nc.Exchange.root = {str(exchange)!r}\n")
        os.chown(config, account.pw_uid, account.pw_gid)

    instructor(course, "nbgrader", "release_assignment", A)
    for student in students:
        as_user(student, python, "-m", "nbgrader", "fetch_assignment", A, "--course", COURSE_ID)
        fetched = Path(pwd.getpwnam(student).pw_dir) / A
        assert sorted(p.name for p in fetched.iterdir()) == [f"{A}.ipynb", "selfcheck.py"]
    # answering: the first student's answers are ada's; the other hands in eve's first
    answers = {ontime: "ada", late: "eve"}
    for student, example in answers.items():
        notebook = Path(pwd.getpwnam(student).pw_dir) / A / f"{A}.ipynb"
        as_user(student, "cp", str(EXAMPLES / example / A / f"{A}.ipynb"), str(notebook))
    check = as_user(ontime, python, "selfcheck.py", f"{A}.ipynb",
                    cwd=Path(pwd.getpwnam(ontime).pw_dir) / A)
    assert "Passing the public tests does not mean full marks" in check.stdout
    for student in students:
        as_user(student, python, "-m", "nbgrader", "submit", A, "--course", COURSE_ID)
    instructor(course, "nbgrader", "collect", A)
    first = timestamp_of(course.submitted / late / A)

    due = datetime.now(UTC)  # the due date passes now
    instructor(course, "nbgrader", "db", "assignment", "add", A,
               f"--duedate={due:%Y-%m-%d %H:%M:%S.%f} UTC")
    time.sleep(1.5)
    notebook = Path(pwd.getpwnam(late).pw_dir) / A / f"{A}.ipynb"
    as_user(late, "cp", str(EXAMPLES / "ada" / A / f"{A}.ipynb"), str(notebook))
    as_user(late, python, "-m", "nbgrader", "submit", A, "--course", COURSE_ID)
    instructor(course, "nbgrader", "collect", A, "--update")
    assert timestamp_of(course.submitted / late / A) > due > first
    assert timestamp_of(course.submitted / ontime / A) < due
    assert (course.submitted / late / A / "submission_secret.txt").is_file()

    table = instructor(course, "grader", "grade", A).stdout
    assert re.search(rf"{late}\s*│\s*29\.4/36", table), table
    assert re.search(rf"{ontime}\s*│\s*33/36", table), table
    instructor(course, "grader", "feedback", A)
    instructor(course, "nbgrader", "release_feedback", A)

    pages = {}
    for student in students:
        as_user(student, python, "-m", "nbgrader", "fetch_feedback", A, "--course", COURSE_ID)
        found = list((Path(pwd.getpwnam(student).pw_dir) / A / "feedback").glob("*/*.html"))
        assert len(found) == 1, (student, found)  # their own page, of the submission graded
        assert pwd.getpwuid(found[0].stat().st_uid).pw_name == student
        pages[student] = found[0].read_text()
    assert "Score so far: 33.0 / 36.0" in pages[ontime] and 'id="late"' not in pages[ontime]
    assert "Score so far: 29.4 / 36.0" in pages[late]
    assert re.search(r"Submitted \d+ s after the due date \([^)]*\): late penalty −3\.6 "
                     r"points", pages[late])
