"""Where the gradebook is: URLs and paths resolved against the course directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from grader.gradebook import database_url, sqlite_path


@pytest.mark.parametrize(("given", "expected"), [
    ("gradebook.db", "sqlite:///{root}/gradebook.db"),
    ("sqlite:///gradebook.db", "sqlite:///{root}/gradebook.db"),
    ("sqlite:///gradebook.db?timeout=30", "sqlite:///{root}/gradebook.db?timeout=30"),
    ("sqlite+pysqlite:///sub/x.db", "sqlite+pysqlite:///{root}/sub/x.db"),
    ("sqlite+pysqlite:////srv/x.db?timeout=5", "sqlite+pysqlite:////srv/x.db?timeout=5"),
    ("sqlite://", "sqlite://"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("postgresql://grader:s3cret@db.example/course?sslmode=require",
     "postgresql://grader:s3cret@db.example/course?sslmode=require"),
])
def test_a_relative_sqlite_file_is_the_course_directorys_and_nothing_else_changes(
        tmp_path: Path, given: str, expected: str) -> None:
    root = tmp_path / "course"
    assert database_url(given, root) == expected.format(root=root.resolve())


def test_the_resolved_url_opens_the_course_file_with_its_options(tmp_path: Path) -> None:
    root = tmp_path / "course"
    root.mkdir()
    url = database_url("sqlite+pysqlite:///gradebook.db?timeout=7", root)
    assert sqlite_path(url) == root.resolve() / "gradebook.db"
    engine = create_engine(url)
    try:
        assert engine.dialect.driver == "pysqlite"
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert engine.dialect.create_connect_args(engine.url)[1]["timeout"] == 7.0
    finally:
        engine.dispose()
    assert (root / "gradebook.db").is_file()
