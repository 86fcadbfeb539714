"""Every pair of submissions scored at once: an inverted index as a sparse matrix product.

Each answer cell of each student is a set of fingerprints. Stacking one assignment cell's sets
gives a sparse students x fingerprints matrix ``A``; ``A @ A.T`` counts, for every pair of
students at once, the fingerprints they share in that cell. Only pairs that share something
are ever produced, so a class of 1,000 (half a million pairs) is scored in seconds rather
than by half a million comparisons.

The score of a pair is the share of their answer code they have in common: per cell, shared
fingerprints over the mean number of fingerprints of the two (Dice); over the notebook,
shared fingerprints over the larger of the two answers (a short answer copied into a long
one is not a high share of the notebook). A passage that many notebooks of the class contain
(more than ``max_share`` of them) is common knowledge of the class, not evidence about two
people: it counts in the size of an answer but never as shared (MOSS's ``-m``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from grader.similarity.answers import Assignment, Submission
from grader.similarity.fingerprint import (
    WINDOW,
    K,
    Normalised,
    boilerplate_hashes,
    copied_spans,
    fingerprints,
    normalise,
)


@dataclass(frozen=True)
class Settings:
    """How pairs are scored and flagged (defaults calibrated on ``tests/corpus``).

    Parameters
    ----------
    threshold : float
        A pair is flagged when its notebook score is at least this.
    min_shared : int
        ... and it shares at least this many fingerprints (two tiny answers that happen to
        match are not evidence).
    max_share : float
        A fingerprint found in more than this share of the class's notebooks (and in more
        than ``min_common`` of them) is common and never counts as shared.
    min_common : int
        See ``max_share``: in a small class nothing is common.
    k, window : int
        Fingerprint k-gram length and winnowing window.
    """

    threshold: float = 0.25
    min_shared: int = 20
    max_share: float = 0.05
    min_common: int = 10
    k: int = K
    window: int = WINDOW


@dataclass
class Similarity:
    """The similarity of every pair of submissions of one assignment.

    Attributes
    ----------
    assignment : Assignment
        What students were given (cell keys, labels, boilerplate).
    submissions : dict of str to Submission
        By student id, earlier terms included.
    pairs : DataFrame
        One row per pair sharing any fingerprint, most similar first: ``a, b`` (student
        ids; ``b`` may be from an earlier term), ``score`` (0-1), ``shared`` (fingerprints),
        ``flagged``, ``past`` (the earlier term of ``b`` or ``None``) and one column per
        answer cell key with that cell's score.
    settings : Settings
    problems : list of str
        Notebooks that could not be read.
    """

    assignment: Assignment
    submissions: dict[str, Submission]
    pairs: pd.DataFrame
    settings: Settings
    problems: list[str] = field(default_factory=list)
    _given: np.ndarray | None = None
    _expected: np.ndarray | None = None
    _common: set[tuple[str, int]] = field(default_factory=set)

    @property
    def students(self) -> list[str]:
        """Current students (earlier terms left out)."""
        return [s for s, sub in self.submissions.items() if sub.past is None]

    @property
    def flagged(self) -> pd.DataFrame:
        """The flagged pairs."""
        return self.pairs[self.pairs["flagged"]]

    def functions(self, row: pd.Series) -> dict[str, float]:
        """Per-cell scores of one pair, by the label the report uses (function name)."""
        return {self.assignment.labels[key]: float(row[key]) for key in self.assignment.order}

    def passages(self, a: str, b: str, key: str) -> tuple[str, str, list[tuple[int, int]],
                                                           list[tuple[int, int]]]:
        """The code of one answer cell of two students and the spans they share.

        Returns
        -------
        code_a, code_b : str
            The cell as each student wrote it.
        spans_a, spans_b : list of (start, end)
            Character ranges of each code that the other contains (after normalisation):
            the evidence, so passages that match the reference solution or are common in the
            class are left out.
        """
        left = normalise(self.submissions[a].answers.get(key, ""))
        right = normalise(self.submissions[b].answers.get(key, ""))
        hashes_a, at_a = self._prints(left)
        hashes_b, at_b = self._prints(right)
        shared = np.setdiff1d(np.intersect1d(hashes_a, hashes_b), self._expected)
        shared = np.array([h for h in shared if (key, int(h)) not in self._common],
                          dtype=np.uint64)
        k, stub = self.settings.k, self.assignment.stubs.get(key, "")
        return (left.code, right.code,
                _outside_given(left.code, copied_spans(left, at_a[np.isin(hashes_a, shared)], k),
                               stub),
                _outside_given(right.code,
                               copied_spans(right, at_b[np.isin(hashes_b, shared)], k), stub))

    def _prints(self, piece: Normalised) -> tuple[np.ndarray, np.ndarray]:
        return fingerprints(piece.text, self._given, self.settings.k, self.settings.window)


def _outside_given(code: str, spans: list[tuple[int, int]],
                   stub: str) -> list[tuple[int, int]]:
    """``spans`` without the lines the student was given (the def line, the docstring).

    A shared k-gram can start in the def line and end in the body; mapped back to the code as
    written, its passage would cover the docstring in between.
    """
    given = {line.strip() for line in stub.splitlines() if line.strip()}
    out, start = [], 0
    for line in code.splitlines(keepends=True):
        end = start + len(line)
        if line.strip() and line.strip() not in given:
            left = start + len(line) - len(line.lstrip())
            right = start + len(line.rstrip())
            for a, b in spans:
                a, b = max(a, left), min(b, right)
                if a < b:
                    out.append((a, b))
        start = end
    return out


def _normalised_texts(codes: list[str]) -> dict[str, str]:
    """The normalised text of each distinct piece of code.

    Tokenizing is most of the work (Pygments, in Python): identical cells (untouched stubs,
    verbatim copies) are tokenized once.
    """
    return {code: normalise(code).text for code in set(codes)}


def _cell_prints(submissions: list[Submission], keys: list[str], given: np.ndarray,
                 expected: np.ndarray, settings: Settings
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (student, cell, fingerprint) that can be evidence, and each answer's size.

    The size of an answer is its number of distinct fingerprints once what was given is
    removed; fingerprints of the expected code count in the size but are not returned.
    """
    texts = _normalised_texts([code for s in submissions for key in keys
                               if (code := s.answers.get(key))])
    rows, cells, hashes = [], [], []
    sizes = np.zeros((len(submissions), len(keys)), dtype=np.int64)
    for r, submission in enumerate(submissions):
        for c, key in enumerate(keys):
            code = submission.answers.get(key)
            if not code:
                continue
            found = np.unique(fingerprints(texts[code], given, settings.k, settings.window)[0])
            sizes[r, c] = found.size
            found = found[~np.isin(found, expected)]
            rows.append(np.full(found.size, r, dtype=np.int64))
            cells.append(np.full(found.size, c, dtype=np.int64))
            hashes.append(found)
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64), sizes
    return np.concatenate(rows), np.concatenate(cells), np.concatenate(hashes), sizes


def score_pairs(assignment: Assignment, submissions: list[Submission],
                settings: Settings | None = None, problems: list[str] | None = None) -> Similarity:
    """Score every pair of current submissions, and every current-past pair.

    Parameters
    ----------
    assignment : Assignment
        The released assignment (boilerplate and cell keys).
    submissions : list of Submission
        Current students, and earlier terms' (``past`` set) as reference.
    settings : Settings, optional
    problems : list of str, optional
        Unreadable notebooks, carried into the result.

    Returns
    -------
    Similarity
    """
    settings = settings or Settings()
    keys = assignment.order
    given = boilerplate_hashes(assignment.given, settings.k)
    expected = boilerplate_hashes(assignment.expected, settings.k)
    rows, cells, hashes, sizes = _cell_prints(submissions, keys, given, expected, settings)
    n = len(submissions)
    past = np.array([s.past is not None for s in submissions], dtype=bool)

    # Common passages: in more notebooks than the class can share by chance.
    limit = max(settings.min_common, settings.max_share * int((~past).sum()))
    columns, column = np.unique(np.stack([cells.astype(np.uint64), hashes]), axis=1,
                                return_inverse=True) if hashes.size else (np.zeros((2, 0)),
                                                                         np.zeros(0, int))
    column = np.ravel(column)
    frequency = np.bincount(column, minlength=columns.shape[1])
    common_columns = frequency > limit
    common = {(keys[int(c)], int(h)) for c, h in columns[:, common_columns].T}

    keep = ~common_columns[column]
    pair_keys, pair_cells, pair_counts = [], [], []
    for c in range(len(keys)):
        chosen = keep & (cells == c)
        if not chosen.any():
            continue
        matrix = sparse.csr_matrix((np.ones(chosen.sum(), dtype=np.int32),
                                    (rows[chosen], column[chosen])),
                                   shape=(n, columns.shape[1]))
        product = sparse.triu(matrix @ matrix.T, k=1).tocoo()
        pair_keys.append(product.row.astype(np.int64) * n + product.col)
        pair_cells.append(np.full(product.nnz, c, dtype=np.int64))
        pair_counts.append(product.data.astype(np.int64))

    frame = _pair_frame(submissions, keys, sizes, past, pair_keys, pair_cells, pair_counts, n)
    frame["flagged"] = (frame["score"] >= settings.threshold) & \
        (frame["shared"] >= settings.min_shared)
    frame = frame.sort_values(["score", "shared", "a", "b"], ascending=[False, False, True, True],
                              kind="stable").reset_index(drop=True)
    return Similarity(assignment, {s.student: s for s in submissions}, frame, settings,
                      list(problems or []), given, expected, common)


def _pair_frame(submissions: list[Submission], keys: list[str], sizes: np.ndarray,
                past: np.ndarray, pair_keys: list[np.ndarray], pair_cells: list[np.ndarray],
                pair_counts: list[np.ndarray], n: int) -> pd.DataFrame:
    columns = ["a", "b", "score", "shared", "flagged", "past", *keys]
    if not pair_keys:
        return pd.DataFrame(columns=columns)
    flat = np.concatenate(pair_keys)
    unique, which = np.unique(flat, return_inverse=True)
    shared = np.zeros((unique.size, len(keys)))
    np.add.at(shared, (which, np.concatenate(pair_cells)), np.concatenate(pair_counts))
    first, second = unique // n, unique % n
    # Pairs within earlier terms are not this term's business.
    wanted = ~(past[first] & past[second])
    first, second, shared = first[wanted], second[wanted], shared[wanted]
    # The current student first.
    swap = past[first]
    first, second = np.where(swap, second, first), np.where(swap, first, second)
    mean_size = (sizes[first] + sizes[second]) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        per_cell = np.where(mean_size > 0, shared / np.maximum(mean_size, 1e-12), 0.0)
        total = np.maximum(sizes[first].sum(axis=1), sizes[second].sum(axis=1))
        score = np.where(total > 0, shared.sum(axis=1) / np.maximum(total, 1e-12), 0.0)
    ids = np.array([s.student for s in submissions], dtype=object)
    terms = np.array([s.past for s in submissions], dtype=object)
    frame = pd.DataFrame({"a": ids[first], "b": ids[second], "score": np.minimum(score, 1.0),
                          "shared": shared.sum(axis=1).astype(np.int64), "flagged": False,
                          "past": terms[second]})
    for c, key in enumerate(keys):
        frame[key] = np.minimum(per_cell[:, c], 1.0)
    return frame[columns]
