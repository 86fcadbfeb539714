"""Course grading policy: assignment weights, letter cut-offs and the late penalty.

The policy lives in ``course.toml`` at the root of the course directory, next to
``nbgrader_config.py``. Its late penalty is written into nbgrader's gradebook when a submission
is graded (:mod:`grader.late`, nbgrader's late-submission plugin), so that nbgrader's own views
show the same grade as the report. Every table is optional; a missing file gives equal
weights, the usual 90/80/70/60 cut-offs and no late penalty.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser under its backport name
    import tomli as tomllib  # type: ignore[no-redef]

CONFIG_NAME = "course.toml"
DEFAULT_LETTERS: dict[str, float] = {"A": 90.0, "B": 80.0, "C": 70.0, "D": 60.0, "F": 0.0}


def format_duration(seconds: float) -> str:
    """A lateness such as ``2 d 3 h`` or ``45 min`` (rounded down to whole minutes)."""
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


@dataclass(frozen=True)
class LatePolicy:
    """A per-day late penalty, as a fraction of the assignment's maximum score.

    The one implementation of the course's rule: grading writes it into nbgrader's gradebook
    (:mod:`grader.late`), and every view (feedback, reports, exports, ``grader ci``) reads it
    from there. Methods take one lateness or an array of them.

    Attributes
    ----------
    grace_minutes : float
        Lateness up to this many minutes is forgiven (clock skew, slow uploads).
    per_day : float
        Fraction of the maximum score lost per started day late.
    max_fraction : float
        Upper bound of the total fraction lost.
    """

    grace_minutes: float = 0.0
    per_day: float = 0.0
    max_fraction: float = 1.0

    def days_late(self, seconds_late: ArrayLike) -> Any:
        """Started days late after the grace period (0 when on time)."""
        excess = np.asarray(seconds_late, dtype=float) - 60.0 * self.grace_minutes
        days = np.ceil(np.clip(excess, 0.0, None) / 86400.0).astype(int)
        return int(days) if days.ndim == 0 else days

    def penalty(self, seconds_late: ArrayLike, max_score: ArrayLike) -> Any:
        """Points lost by a submission ``seconds_late`` after its deadline."""
        fraction = np.minimum(self.per_day * np.asarray(self.days_late(seconds_late)),
                              self.max_fraction)
        # Rounded so that 10 % of 6 points is written as 1.2, not 1.2000000000000002.
        points = np.round(fraction * np.asarray(max_score, dtype=float), 6)
        return float(points) if points.ndim == 0 else points

    def describe(self) -> str:
        """The rule in words, for pages and reports."""
        cap = f", at most {self.max_fraction:.0%}" if self.max_fraction < 1 else ""
        grace = (f" after a {self.grace_minutes:g}-minute grace period"
                 if self.grace_minutes else "")
        return (f"{self.per_day:.0%} of the assignment's points per started day late{grace}"
                f"{cap}")


@dataclass(frozen=True)
class CoursePolicy:
    """Weights, letter cut-offs, late penalty and Canvas export settings.

    Attributes
    ----------
    weights : dict of str to float
        Relative weight per assignment; unlisted assignments weigh 1.
    letters : dict of str to float
        Minimum course percentage per letter.
    late : LatePolicy or None
        The course's late penalty (None: none). Grading writes it into the gradebook; the
        report shows the gradebook's and flags one the policy does not give.
    canvas_section : str
        Section written in the Canvas CSV.
    canvas_columns : dict of str to str
        Canvas column title per assignment.
    source : str or None
        The file the policy was read from, for the report's header.
    """

    weights: dict[str, float] = field(default_factory=dict)
    letters: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LETTERS))
    late: LatePolicy | None = None
    canvas_section: str = ""
    canvas_columns: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def weight(self, assignment: str) -> float:
        """Relative weight of ``assignment`` (1 when not configured)."""
        return float(self.weights.get(assignment, 1.0))

    def normalised_weights(self, assignments: Iterable[str]) -> dict[str, float]:
        """Weights of ``assignments`` scaled to sum to 1 (equal when all are zero)."""
        names = list(assignments)
        raw = {name: self.weight(name) for name in names}
        total = sum(raw.values())
        if total <= 0:
            return {name: 1.0 / len(names) for name in names} if names else {}
        return {name: value / total for name, value in raw.items()}

    def letter(self, percent: float) -> str:
        """Letter grade for a course percentage; ``""`` when the percentage is undefined."""
        if percent is None or math.isnan(percent):
            return ""
        cutoffs = sorted(self.letters.items(), key=lambda kv: kv[1], reverse=True)
        for letter, minimum in cutoffs:
            if percent >= minimum - 1e-9:  # 89.99999 from float sums still earns the A
                return letter
        return cutoffs[-1][0] if cutoffs else ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy, written into the JSON export."""
        late = None
        if self.late is not None:
            late = {
                "grace_minutes": self.late.grace_minutes,
                "per_day": self.late.per_day,
                "max_fraction": self.late.max_fraction,
            }
        return {"weights": dict(self.weights), "letters": dict(self.letters), "late": late,
                "source": self.source}


def _floats(table: Mapping[str, Any], what: str) -> dict[str, float]:
    try:
        return {str(key): float(value) for key, value in table.items()}
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} in {CONFIG_NAME} must map names to numbers") from error


def policy_from_mapping(data: Mapping[str, Any], source: str | None = None) -> CoursePolicy:
    """Build a policy from the parsed contents of ``course.toml``.

    Parameters
    ----------
    data : mapping
        Parsed TOML document.
    source : str, optional
        Where the document came from.

    Returns
    -------
    CoursePolicy
    """
    grades = data.get("grades", {})
    weights = _floats(grades.get("weights", {}), "grades.weights")
    if any(value < 0 for value in weights.values()):
        raise ValueError(f"grades.weights in {CONFIG_NAME} must not be negative")
    letters = _floats(grades.get("letters", DEFAULT_LETTERS), "grades.letters") or dict(
        DEFAULT_LETTERS
    )
    late = None
    if "late" in data:
        table = data["late"]
        late = LatePolicy(
            grace_minutes=float(table.get("grace_minutes", 0.0)),
            per_day=float(table.get("per_day", 0.0)),
            max_fraction=float(table.get("max_fraction", 1.0)),
        )
    canvas = data.get("canvas", {})
    return CoursePolicy(
        weights=weights,
        letters=letters,
        late=late,
        canvas_section=str(canvas.get("section", "")),
        canvas_columns={str(k): str(v) for k, v in canvas.get("columns", {}).items()},
        source=source,
    )


def load_policy(path: str | Path | None = None, course_dir: str | Path = ".") -> CoursePolicy:
    """Read the course policy.

    Parameters
    ----------
    path : str or Path, optional
        Explicit policy file; it must exist.
    course_dir : str or Path
        Course directory searched for ``course.toml`` when ``path`` is not given.

    Returns
    -------
    CoursePolicy
        The configured policy, or the defaults when no file exists.
    """
    if path is None:
        candidate = Path(course_dir) / CONFIG_NAME
        if not candidate.is_file():
            return CoursePolicy()
        path = candidate
    path = Path(path)
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return policy_from_mapping(data, source=_shown(path, Path(course_dir)))


def _shown(path: Path, course_dir: Path) -> str:
    # The report names the file as the course knows it (course.toml), not where the course
    # happens to sit on this machine; a file outside the course keeps the path it was given.
    try:
        return str(path.resolve().relative_to(course_dir.resolve()))
    except ValueError:
        return str(path)
