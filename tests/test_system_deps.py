"""``make test`` brings what its tests need: ``tools/system-deps`` on a machine without it.

The script runs with a PATH that lacks this machine's Chromium (a directory holding only the
few programs it calls) and with ``APT_GET`` pointing at a stand-in for apt-get that records
its arguments and, on ``install``, puts an executable ``chromium`` on that PATH, as Debian's
package would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "system-deps"
BASH = shutil.which("bash")
ROOT = os.geteuid() == 0


def fresh_path(tmp_path: Path, postgres: bool = True) -> Path:
    """A PATH directory with what the script uses (bash, id) and no browser (and, unless
    ``postgres``, no PostgreSQL server either)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    if postgres:
        (bin_dir / "pg_ctlcluster").symlink_to(shutil.which("true"))
    return bin_dir


def fake_apt(tmp_path: Path, bin_dir: Path, installs: bool = True) -> tuple[Path, Path]:
    log = tmp_path / "apt.log"
    apt = tmp_path / "apt-get"
    make = "; ".join(f"printf '#!/bin/sh\\n' > {bin_dir / name}; "
                     f"{shutil.which('chmod')} +x {bin_dir / name}"
                     for name in ("chromium", "pg_ctlcluster"))
    apt.write_text("#!" + BASH + "\n"
                   f'echo "$*" >> {log}\n'
                   f'if [ "$1" = install ] && {"true" if installs else "false"}; then '
                   f"{make}; fi\n")
    apt.chmod(0o755)
    return apt, log


def run(bin_dir: Path, apt: Path | str) -> subprocess.CompletedProcess:
    env = {"PATH": str(bin_dir), "APT_GET": str(apt), "HOME": os.environ.get("HOME", "/")}
    return subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=60)


def test_nothing_is_installed_when_the_browser_is_there(tmp_path: Path) -> None:
    bin_dir = fresh_path(tmp_path)
    (bin_dir / "chromium").symlink_to(shutil.which("true"))
    apt, log = fake_apt(tmp_path, bin_dir)
    done = run(bin_dir, apt)
    assert done.returncode == 0, done.stderr
    assert not log.exists() and done.stderr == ""


def test_a_missing_browser_is_installed_with_apt(tmp_path: Path) -> None:
    bin_dir = fresh_path(tmp_path)
    apt, log = fake_apt(tmp_path, bin_dir)
    done = run(bin_dir, apt)
    if ROOT:
        assert done.returncode == 0, done.stderr
        assert log.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]
        assert (bin_dir / "chromium").exists()
        assert "installing chromium" in done.stderr
    else:  # only root may install: the script says what to run instead
        assert done.returncode == 1 and not log.exists()
        assert "sudo apt-get install chromium" in done.stderr


def test_an_install_that_brings_no_browser_fails(tmp_path: Path) -> None:
    bin_dir = fresh_path(tmp_path)
    apt, _ = fake_apt(tmp_path, bin_dir, installs=False)
    done = run(bin_dir, apt)
    assert done.returncode == 1
    assert ("still missing after installing: chromium" if ROOT
            else "sudo apt-get install chromium") in done.stderr


def test_without_apt_it_says_what_to_install(tmp_path: Path) -> None:
    bin_dir = fresh_path(tmp_path)
    done = run(bin_dir, tmp_path / "no-apt-get-here")
    assert done.returncode == 1
    assert "chromium (chromium): the browser tests" in done.stderr
    assert "sudo apt-get install chromium" in done.stderr


def test_a_missing_postgresql_server_is_installed_with_apt(tmp_path: Path) -> None:
    bin_dir = fresh_path(tmp_path, postgres=False)
    (bin_dir / "chromium").symlink_to(shutil.which("true"))
    apt, log = fake_apt(tmp_path, bin_dir)
    done = run(bin_dir, apt)
    if ROOT:
        assert done.returncode == 0, done.stderr
        assert log.read_text().splitlines() == ["update -qq", "install -y -qq postgresql"]
        assert (bin_dir / "pg_ctlcluster").exists()
    else:
        assert done.returncode == 1 and "sudo apt-get install postgresql" in done.stderr


def test_make_test_installs_system_programs_before_the_tests() -> None:
    done = subprocess.run(["make", "-n", "-W", "pyproject.toml", "test"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert "tools/system-deps" in lines
    assert lines.index("tools/system-deps") < next(
        i for i, line in enumerate(lines) if line.endswith("pytest"))
    assert "make test" in (REPO / ".ci" / "run").read_text()
