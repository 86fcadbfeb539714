"""Grade reports: the gradebook as tables, exports and an HTML page.

``build_report`` reads a course directory into a :class:`Report`; the exporters in
:mod:`grader.report.exports` and :mod:`grader.report.html` turn it into files, and
``grader report`` (:mod:`grader.report.command`) drives both from the command line.
"""

from __future__ import annotations

from typing import Any

from grader.report.policy import CoursePolicy, load_policy

__all__ = ["CoursePolicy", "Report", "build_report", "load_policy"]


def __getattr__(name: str) -> Any:
    # The report's tables (pandas) are imported when first used: grading reads the course's
    # late policy from this package and must not pay for them.
    if name in ("Report", "build_report"):
        from grader.report import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
