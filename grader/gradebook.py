"""Where the gradebook is: nbgrader's SQLite file by default, or a database server.

A course uses the SQLite file ``gradebook.db`` in its directory unless ``nbgrader_config.py``
sets ``c.CourseDirectory.db_url`` (nbgrader's own setting, which formgrader and ``nbgrader
export`` read too) or a command is given ``--db``. Any SQLAlchemy URL works;
``postgresql://user:password@host/database`` is the one for courses that several graders
write at once. A plain path names a SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

DB_OPTION_HELP = ("Gradebook: a database URL (postgresql://user@host/db) or a SQLite file "
                  "(default: c.CourseDirectory.db_url in nbgrader_config.py, else gradebook.db "
                  "in the course directory).")


def database_url(value: str, root: Path) -> str:
    """The SQLAlchemy URL of the gradebook ``value`` names, relative to the course ``root``.

    ``value`` is a URL or a path of a SQLite file; a relative SQLite path (nbgrader's
    ``sqlite:///gradebook.db``) is taken from the course directory, as nbgrader does when it
    runs there. The rest of the URL (driver, options such as ``?timeout=30``) is kept.
    """
    if "://" not in value:
        return f"sqlite:///{(root / value).resolve()}"
    url = make_url(value)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        path = path if path.is_absolute() else (root / path).resolve()
        return url.set(database=str(path)).render_as_string(hide_password=False)
    return value


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite gradebook URL, or None for a database server."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def shown(url: str) -> str:
    """``url`` fit for a message: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def database_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--db URL|FILE`` option of every command that reads or writes the gradebook.

    ``GRADER_DB`` in the environment gives the same default to every command.
    """
    return click.option("--db", "database", metavar="URL|FILE", default=None,
                        envvar="GRADER_DB", show_envvar=True, help=DB_OPTION_HELP)(function)


def is_server(url: str) -> bool:
    """True for a gradebook on a database server (anything but SQLite)."""
    return make_url(url).get_backend_name() != "sqlite"

