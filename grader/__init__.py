"""An autograder engine for nbgrader courses: author, release, grade, feedback, report.

The package reads like the pipeline it runs: ``author`` (write and check an assignment: its
spec, items, self-test and mutation analysis), ``release`` (student versions), ``grade``
(autograde submissions), ``feedback`` (per-student HTML) and ``report`` (tables, exports,
pictures). It names no assignment: each course keeps its hidden tests beside its notebooks
(``source/<assignment>/hidden/``, loaded by :mod:`grader.hidden`).
"""

__version__ = "0.1.0"
