"""Grade reports: the gradebook as tables, exports and an HTML page.

``build_report`` reads a course directory into a :class:`Report`; the exporters in
:mod:`grader.report.exports` and :mod:`grader.report.html` turn it into files, and
``grader report`` (:mod:`grader.report.command`) drives both from the command line.
"""

from grader.report.build import Report, build_report
from grader.report.policy import CoursePolicy, load_policy

__all__ = ["CoursePolicy", "Report", "build_report", "load_policy"]
