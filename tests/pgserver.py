"""A real PostgreSQL server for the tests and benchmarks, started in a scratch directory.

Debian's ``postgresql`` package (``make test`` installs it) provides the binaries; the server
runs as the ``postgres`` user when this process is root (PostgreSQL refuses to run as root),
listens on a free loopback port and a socket in its own directory, and is stopped at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    raise PostgresUnavailable(
        "PostgreSQL's server is not installed (no pg_ctl on PATH or in /usr/lib/postgresql/); "
        "`make test` installs Debian's postgresql package when run as root"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One PostgreSQL server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, durable: bool = False) -> None:
        # Tests need no durability (fsync off, faster); benchmarks measure what a real
        # server does (``durable``: every commit flushed to disk).
        self.durable = durable
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="grader-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "grader"
        # PostgreSQL refuses to run as root: run it as Debian's `postgres` user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def initdb(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                  "--auth=trust", "--encoding=UTF8", "--no-sync")

    def start(self) -> PostgresServer:
        """Initialise (once) and start the server; returns once it accepts connections."""
        if not self.data.exists():
            self.initdb()
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   f"-c fsync={'on' if self.durable else 'off'} -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "log"), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode``: smart, fast or immediate)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down: float = 0.0) -> None:
        """Stop the server, stay down for ``down`` seconds, start it again."""
        self.stop()
        time.sleep(down)
        self.start()

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (its default driver, psycopg 3)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its URL."""
        name = name or f"gradebook_{uuid.uuid4().hex[:12]}"
        engine = sqlalchemy.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def close(self) -> None:
        """Stop the server if it runs and remove its files."""
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
