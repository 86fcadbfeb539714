"""The course directory: where things are, and nbgrader configured for it.

Every command works on one course directory (the repository root by default). This module is
the single place that knows its layout and loads ``nbgrader_config.py`` from it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.gradebook import database_url, sqlite_path
from grader.hidden import FOLDER as HIDDEN

CONFIG_FILE = "nbgrader_config.py"
#: nbgrader's own default of ``CourseDirectory.ignore``.
DEFAULT_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]


class CourseError(Exception):
    """A problem with the course directory or an argument that names something in it."""


def find_course_root(start: str | os.PathLike | None = None) -> Path:
    """Return the nearest directory at or above ``start`` that holds ``nbgrader_config.py``.

    Raises
    ------
    CourseError
        If no such directory exists.
    """
    here = Path(start or os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise CourseError(
        f"no {CONFIG_FILE} found in {here} or any parent directory; "
        "run this from the course directory or pass --course DIR"
    )


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory.

    Parameters
    ----------
    root : Path
        The directory holding ``nbgrader_config.py``, ``source/`` and ``release/``.
    database : str, optional
        The gradebook (a URL or a SQLite file) when not the course's own (see
        :mod:`grader.gradebook`).
    """

    root: Path
    database: str | None = None

    def __post_init__(self) -> None:
        # nbgrader creates a new gradebook by running the `alembic` script, which lives beside
        # this interpreter; a virtualenv used without activating it lacks it on PATH.
        bindir = os.path.dirname(sys.executable)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])

    @classmethod
    def find(cls, start: str | os.PathLike | None = None,
             database: str | None = None) -> Course:
        """The course containing ``start`` (default: the working directory).

        ``database`` replaces the course's gradebook (``--db``).
        """
        return cls(find_course_root(start), database)

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def db_path(self) -> Path | None:
        """The SQLite file of the gradebook; None when it is on a database server."""
        return sqlite_path(self.db_url)

    @cached_property
    def db_url(self) -> str:
        """The gradebook: ``--db``, else nbgrader's ``CourseDirectory.db_url``, else
        ``gradebook.db`` in the course directory."""
        given = self.database
        if given is None and (self.root / CONFIG_FILE).is_file():
            config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
            given = config.CourseDirectory.get("db_url")
        return database_url(given or "gradebook.db", self.root)

    @cached_property
    def groupshared(self) -> bool:
        """nbgrader's ``CourseDirectory.groupshared``: the staff share the course directory
        as a Unix group (see :mod:`grader.shared`)."""
        if not (self.root / CONFIG_FILE).is_file():
            return False
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        return bool(config.CourseDirectory.get("groupshared", False))

    def assignments(self) -> list[str]:
        """Names of the assignments authored in ``source/``, sorted."""
        if not self.source.is_dir():
            return []
        return sorted(
            p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
        )

    def check_assignment(self, name: str) -> str:
        """Return ``name`` if it is an assignment of this course, else raise a helpful error."""
        known = self.assignments()
        if name not in known:
            raise CourseError(
                f"unknown assignment {name!r}: {self.source} has "
                + (", ".join(repr(a) for a in known) if known else "no assignments")
            )
        return name

    def source_notebooks(self, assignment: str) -> list[Path]:
        """The instructor notebooks of ``assignment``, sorted by name."""
        return sorted((self.source / self.check_assignment(assignment)).glob("*.ipynb"))

    def config(self) -> Config:
        """nbgrader's configuration for this course, rooted at :attr:`root`.

        nbgrader never copies an assignment's hidden folder anywhere (release, exchange,
        autograded/), whatever the course's own configuration says.
        """
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        ignore = list(config.CourseDirectory.get("ignore", DEFAULT_IGNORE))
        if HIDDEN not in ignore:
            config.CourseDirectory.ignore = [*ignore, HIDDEN]
        return config
