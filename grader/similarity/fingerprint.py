"""Fingerprints of answer code: copydetect's tokens, winnowing and copied slices.

copydetect (Lingenfelter's implementation of MOSS's winnowing, Schleimer et al. 2003) reads
code with Pygments and rewrites it so that what a student can change without changing the
program does not count: every identifier becomes ``V`` (``F`` where a function is defined),
strings become ``S``, comments and white space disappear. Its k-grams of that text are hashed
and winnowed: from every ``window`` consecutive hashes the smallest is kept, so any passage of
``k + window - 1`` normalised characters shared by two answers shares a fingerprint.

Two things differ from copydetect's own ``CodeFingerprint``: k-grams are hashed with a fixed
polynomial hash instead of Python's ``hash()``, which is salted per process (the same class
would get slightly different scores on every run, and a pair near the threshold could flip),
and the hashing runs in NumPy over all k-grams of a text at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from copydetect.utils import filter_code, get_copied_slices, winnow

K = 15
"""Noise threshold: k-grams of this many normalised characters. copydetect's default is 25;
notebook answers are short, and ``bench/similarity.py`` finds 15 separates copies from
honest pairs best on ``tests/corpus``."""
WINDOW = 4
"""Winnowing window: any shared passage of ``K + WINDOW - 1`` characters is always caught."""

_BASE = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Normalised:
    """One piece of code in copydetect's normalised form.

    Attributes
    ----------
    code : str
        The code as written.
    text : str
        The normalised text (identifiers ``V``/``F``, strings ``S``, no comments or spaces).
    offsets : ndarray
        copydetect's map from positions in ``text`` back to ``code``.
    """

    code: str
    text: str
    offsets: np.ndarray


def normalise(code: str) -> Normalised:
    """Tokenize and normalise Python code the way copydetect does."""
    text, offsets = filter_code(code, "answer.py", language="python")
    return Normalised(code, text, np.asarray(offsets))


def kgram_hashes(text: str, k: int = K) -> np.ndarray:
    """A 64-bit hash of every k-gram of ``text`` (empty when ``text`` is shorter than ``k``).

    Deterministic: the same text gets the same hashes in every process.
    """
    if len(text) < k:
        return np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    powers = _BASE ** np.arange(k - 1, -1, -1, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(codes, k)
    with np.errstate(over="ignore"):
        hashes = windows @ powers  # wraps modulo 2**64, as intended
        # Spread the bits so that winnowing's "smallest hash" is a fair choice of position.
        hashes = (hashes ^ (hashes >> np.uint64(29))) * _MIX
        return hashes ^ (hashes >> np.uint64(32))


def fingerprints(text: str, boilerplate: np.ndarray | None = None, k: int = K,
                 window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The winnowed fingerprints of a normalised text, boilerplate removed.

    Parameters
    ----------
    text : str
        Normalised code (see :func:`normalise`).
    boilerplate : ndarray of uint64, optional
        Sorted k-gram hashes of what every student was given; fingerprints among them are
        dropped (copydetect's and MOSS's ``-b``).
    k, window : int
        k-gram length and winnowing window.

    Returns
    -------
    hashes, positions : ndarray
        Each selected fingerprint and where its k-gram starts in ``text``; a hash selected at
        several positions appears once per position.
    """
    all_hashes = kgram_hashes(text, k)
    if all_hashes.size == 0:
        return all_hashes, np.zeros(0, dtype=np.int64)
    hashes, positions = winnow(all_hashes, window, remove_duplicates=False)
    if boilerplate is not None and boilerplate.size:
        keep = ~np.isin(hashes, boilerplate, assume_unique=False)
        hashes, positions = hashes[keep], positions[keep]
    return hashes, np.asarray(positions, dtype=np.int64)


def boilerplate_hashes(codes: list[str], k: int = K) -> np.ndarray:
    """Every k-gram hash of the given code (no winnowing, as copydetect does for boilerplate)."""
    parts = [kgram_hashes(normalise(code).text, k) for code in codes]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def copied_spans(piece: Normalised, positions: np.ndarray, k: int = K) -> list[tuple[int, int]]:
    """Character ranges of ``piece.code`` covered by the k-grams starting at ``positions``.

    copydetect's ``get_copied_slices`` merges the k-grams into passages; its offsets then map
    each passage from the normalised text back to the code as written.
    """
    if positions.size == 0:
        return []
    slices = get_copied_slices(np.unique(positions), k).astype(np.int64)
    if len(piece.offsets):
        starts, shifts = piece.offsets[:, 0], piece.offsets[:, 1]
        slices = slices + shifts[np.clip(np.searchsorted(starts, slices), 0, len(starts) - 1)]
    spans = []
    for start, end in zip(slices[0], slices[1]):
        start, end = int(max(start, 0)), int(min(end, len(piece.code)))
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        elif end > start:
            spans.append((start, end))
    return spans
