"""Permissions of what the grader writes in the course directory, as nbgrader's own.

nbgrader's ``CourseDirectory.groupshared`` is for a course directory shared by its staff, each
a Unix user of the course's group: every folder nbgrader makes gets the group's read, write and
set-group-id bits (``2770`` added), every file the group's read and write. The grader writes
``autograded/``, ``feedback/``, ``reports/``, ``release/<assignment>/selfcheck.py`` and the
gradebook; :func:`share` gives them the same. Without ``groupshared``, folders and files get
the modes the process's umask gives (never the ``0700`` of a temporary folder).
"""

from __future__ import annotations

import os
import stat
from functools import cache
from pathlib import Path

DIRECTORY_BITS = stat.S_ISGID | stat.S_IRWXU | stat.S_IRWXG  # nbgrader's 2770
FILE_BITS = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP  # 660


@cache
def umask() -> int:
    """The process's umask, read without changing it (Linux), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def folder_mode() -> int:
    """The mode ``mkdir`` gives a folder (what a temporary folder is given back)."""
    return 0o777 & ~umask()


def share(root: Path, shared: bool, *paths: Path) -> None:
    """Give each of ``paths`` (a file, or a folder and everything in it), and the folders
    between it and the course directory ``root``, nbgrader's groupshared permissions.

    Nothing changes unless ``shared``; paths outside ``root`` get no more than their own.
    """
    if not shared:
        return
    for path in paths:
        if not path.exists():
            continue
        for folder, _, files in os.walk(path) if path.is_dir() else ():
            _add(Path(folder), DIRECTORY_BITS)
            for name in files:
                _add(Path(folder, name), FILE_BITS)
        if path.is_file():
            _add(path, FILE_BITS)
        try:
            between = path.resolve().parent.relative_to(root.resolve())
        except ValueError:
            continue
        folder = root.resolve()
        for part in between.parts:
            folder = folder / part
            _add(folder, DIRECTORY_BITS)


def _add(path: Path, bits: int) -> None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or mode & bits == bits:
            return
        path.chmod(stat.S_IMODE(mode) | bits)
    except PermissionError:  # another member's file: theirs to share (nbgrader warns too)
        pass
