"""The HTML report in a real browser: Debian's headless Chromium.

Each page is loaded twice from disk: once with ``--dump-dom`` (the DOM after the page's script
ran) and the browser's console routed to stderr, once with ``--screenshot`` at a laptop's
screen size. Every host name resolves to nothing, so a page that tried to load anything from
the network would log an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from test_report import make_small_course

from grader.report import build_report
from grader.report.html import html_page
from grader.report.synthetic import synthetic_gradebook

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

LAPTOP = (1366, 900)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(.*)")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("headless Chromium is required: `make system-deps` installs it")
    return path


def load(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True)


def dom_and_console(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """The DOM after load, and every message the page wrote to the browser console."""
    done = load(page, tmp / "profile-dom", "--enable-logging=stderr", "--v=0",
                "--virtual-time-budget=5000", "--dump-dom")
    return done.stdout, [m.group(1) for m in CONSOLE.finditer(done.stderr)]


def screenshot(page: Path, tmp: Path, name: str = "shot.png",
               size: tuple[int, int] = LAPTOP) -> np.ndarray:
    """A screenshot of the page's first screen, as an image array."""
    path = tmp / name
    load(page, tmp / f"profile-{name}", f"--window-size={size[0]},{size[1]}",
         f"--screenshot={path}")
    return matplotlib.image.imread(path)


class Tables(HTMLParser):
    """Collect the text of every cell of every table that has an id, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: dict[str, str] = {}
        self._stack: list[str | None] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._ident: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self._ident = attributes["id"]
        if tag == "table":
            self._stack.append(attributes.get("id"))
            if attributes.get("id"):
                self.tables[attributes["id"]] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._stack and self._stack[-1]:
                self.tables[self._stack[-1]].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._ident is not None and data.strip():
            self.ids.setdefault(self._ident, data.strip())
            self._ident = None


def parse(dom: str) -> Tables:
    tables = Tables()
    tables.feed(dom)
    return tables


def rows_by_first_cell(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in table[1:]}


def assert_readable(image: np.ndarray, size: tuple[int, int] = LAPTOP) -> None:
    assert image.shape[:2] == (size[1], size[0])
    pixels = image[..., :3].reshape(-1, 3)
    dark = (pixels.mean(axis=1) < 0.35).mean()
    # Text and charts on a white page: some dark pixels, mostly light ones.
    assert 0.005 < dark < 0.5, dark
    assert len(np.unique((pixels * 255).astype(np.uint8), axis=0)) > 20


def test_console_errors_are_caught(tmp_path: Path) -> None:
    """The console check itself: a broken page must be noticed."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p>"
                    "<script>undefinedFunction();</script></body></html>")
    _, console = dom_and_console(page, tmp_path)
    assert any("undefinedFunction" in message for message in console)


@pytest.fixture(scope="module")
def small_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_small_course(tmp_path_factory.mktemp("html") / "course")
    page = course / "report.html"
    page.write_text(html_page(build_report(course)), encoding="utf-8")
    return page


def test_page_is_self_contained(small_page: Path) -> None:
    text = small_page.read_text()
    # The only URL is the SVG namespace, which browsers never fetch.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", text)


def test_small_class_in_the_browser(small_page: Path, tmp_path: Path) -> None:
    dom, console = dom_and_console(small_page, tmp_path)
    assert console == []
    assert 'data-ready="yes"' in dom  # the page's script ran to its end
    page = parse(dom)
    assert page.ids["card-students"] == "5"
    students = rows_by_first_cell(page.tables["students"])
    assert students["alice"][1:] == ["Adams, Alice", "6.0", "4.0 !", "10.0", "0.0", "88.9", "B"]
    assert students["bob"][2:] == ["0.0 (−1.2 late) *", "6.0", "6.0", "1.2", "33.3", "F *"]
    assert students["dave"][2:4] == ["missing", "missing"]
    hw1 = rows_by_first_cell(page.tables["items-table-hw1"])
    # item, max, graded, pending, mean, sd, full, partial, zero, discrimination, U-L 27 %
    assert hw1["test_a"][:11] == ["test_a", "2", "4", "0", "1.50", "1.00", "75%", "0%", "25%",
                                  "0.67", "1.00"]
    assert hw1["essay"][2:4] == ["3", "1"]
    assert "sigmoid(#) should be #, got # (1)" in hw1["test_a"][11]
    flags = page.tables["flags"]
    assert ["not graded", "erin", "hw2", "kernel died"] in flags
    assert ["late", "bob", "hw1", "1 d 1 h late, penalty 1.2 of 6 points"] in flags
    pairs = page.tables["pairs"]
    assert pairs[1] == ["hw1", "test_b", "essay", "1", "0.50", "0.50"]
    heat = rows_by_first_cell(page.tables["heat-hw1"])
    assert heat["essay"][1:] == ["0", "1", "2"]
    scores = rows_by_first_cell(page.tables["item-scores"])
    assert scores["bob"][1:4] == ["0", "1", "pending"]
    assert scores["dave"][1:] == ["—"] * 5
    for chart in ("histogram", "items-hw1", "items-hw2"):
        assert f'id="{chart}"><svg' in dom
    # bob's essay awaits grading: the chart has a pending state of its own, with its legend
    chart = dom[dom.index('id="items-hw1"'):dom.index('id="items-hw2"')]
    assert "pending (not graded yet)" in chart and "#90a4ae" in chart
    assert "policy: course.toml" in dom and str(small_page.parent) not in dom


def test_small_class_screenshot(small_page: Path, tmp_path: Path) -> None:
    assert_readable(screenshot(small_page, tmp_path))


def test_hundreds_of_students_in_the_browser(tmp_path: Path) -> None:
    synthetic_gradebook(tmp_path / "gradebook.db", n_students=300, seed=1)
    report = build_report(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(html_page(report), encoding="utf-8")
    dom, console = dom_and_console(page, tmp_path)
    assert console == []
    tables = parse(dom)
    assert len(tables.tables["students"]) == 1 + 300
    assert len(tables.tables["item-scores"]) == 1 + 300
    first = report.students.iloc[0]
    row = rows_by_first_cell(tables.tables["students"])[first["student_id"]]
    assert row[-2] == f"{first['percent']:.1f}"
    mean = report.students["percent"].mean()
    assert tables.ids["card-mean-course-grade"] == f"{mean:.1f}%"
    assert_readable(screenshot(page, tmp_path, "large.png"))


def test_empty_gradebook_in_the_browser(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    page.write_text(html_page(build_report(tmp_path)), encoding="utf-8")
    dom, console = dom_and_console(page, tmp_path)
    assert console == []
    assert "The gradebook has no assignments yet." in dom
