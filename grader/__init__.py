"""Grading pipeline and instructor tools for the classification-losses course.

The package reads like the pipeline it runs: ``author`` (validate source notebooks),
``release`` (student versions), ``grade`` (autograde submissions), ``feedback`` (per-student
HTML) and ``report`` (tables, exports, pictures). ``reference``, ``gradcheck``, ``checks`` and
``hidden`` hold the instructor-only reference solutions and the hidden tests built on them.
"""

__version__ = "0.1.0"
