"""Benchmark: ``grader similarity``, its accuracy on the labelled corpus and its speed at scale.

Accuracy. The corpus of ``tests/corpus`` (honest solutions in eight styles per assignment,
six copies disguised the way students disguise) is scored with the default settings; the
script prints precision and recall of the flag, a sweep of thresholds, the recall on verbatim
copies of every corpus and example student, and the same numbers for the obvious
alternative: copydetect's own ``CopyDetector`` on each student's answer code (the release as
boilerplate, its default display threshold 0.33 on the larger of its two similarities).
Columns "honest" and "copied" count pairs.

Speed. A synthetic class of ``--students`` notebooks (each answer cell taken from a random
corpus author, then changed: extra statements, other constants) is written to disk and
compared in full (reading the notebooks included). copydetect's own all-pairs loop runs on
the first ``--subset`` students; its time per pair, times the class's number of pairs, is
what it would need for the class.

    .venv/bin/python bench/similarity.py [--students 1000] [--subset 120] [--seed 0]
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "examples")]

import nbformat  # noqa: E402
import similarity_corpus  # noqa: E402
from copydetect import CopyDetector  # noqa: E402
from make_examples import fill, read_answers  # noqa: E402

from grader.course import Course  # noqa: E402
from grader.similarity import Settings, similarity  # noqa: E402
from grader.similarity.answers import Submission, read_submissions, released_assignment  # noqa: E402
from grader.similarity.score import score_pairs  # noqa: E402

COURSE = Course(REPO)
ASSIGNMENTS = similarity_corpus.assignments()  # those with a labelled corpus


def precision_recall(flagged: set[frozenset], copies: set[frozenset]) -> tuple[float, float]:
    hits = len(flagged & copies)
    return (hits / len(flagged) if flagged else 1.0), hits / len(copies)


def _pairs(frame, threshold: float | None = None) -> set[frozenset]:
    chosen = frame[frame["flagged"]] if threshold is None else \
        frame[(frame["score"] >= threshold) & (frame["shared"] >= Settings().min_shared)]
    return {frozenset(p) for p in zip(chosen["a"], chosen["b"])}


def copydetect_flags(root: Path, assignment: str, students: list[str], scratch: Path,
                     display: float = 0.33) -> tuple[set[frozenset], float, int]:
    """copydetect's own detector on each student's answer cells, one .py file per student."""
    given = released_assignment(COURSE.release, assignment)
    code = scratch / "code"
    boiler = scratch / "boilerplate"
    code.mkdir(parents=True)
    boiler.mkdir()
    (boiler / "release.py").write_text("\n".join(given.given), encoding="utf-8")
    found, _ = read_submissions(root, given)
    wanted = set(students)
    for submission in found:
        if submission.student in wanted:
            (code / f"{submission.student}.py").write_text(
                "\n\n".join(submission.answers[k] for k in given.order
                            if k in submission.answers), encoding="utf-8")
    detector = CopyDetector(test_dirs=[str(code)], boilerplate_dirs=[str(boiler)],
                            extensions=["py"], display_t=display, autoopen=False, silent=True)
    start = time.perf_counter()
    detector.run()
    seconds = time.perf_counter() - start
    names = [Path(f).stem for f in detector.test_files]
    flagged = set()
    for i, j in itertools.combinations(range(len(names)), 2):
        if max(detector.similarity_matrix[i, j]) >= display:
            flagged.add(frozenset((names[i], names[j])))
    return flagged, seconds, len(names) * (len(names) - 1) // 2


def accuracy(corpus: Path, scratch: Path) -> None:
    print("Labelled corpus (tests/corpus): flag = score ≥ threshold and ≥ "
          f"{Settings().min_shared} shared fingerprints\n")
    print(f"{'assignment':<14} {'honest':>6} {'copied':>6}  {'tool':<32} {'precision':>9} "
          f"{'recall':>6}  {'max honest':>10}  {'min copy':>8}")
    sweep = {}
    for assignment in ASSIGNMENTS:
        labels = similarity_corpus.labels(assignment)
        result = similarity(COURSE, assignment, corpus)
        pairs = result.pairs
        copy = [frozenset(p) in labels.copy_pairs for p in zip(pairs["a"], pairs["b"])]
        honest_max = pairs["score"][[not c for c in copy]].max()
        copy_min = pairs["score"][copy].min() if len(labels.copy_pairs) == sum(copy) else 0.0
        honest_count = len(labels.honest_pairs)
        p, r = precision_recall(_pairs(pairs), labels.copy_pairs)
        print(f"{assignment:<14} {honest_count:>6} {len(labels.copies):>6}  "
              f"{'grader similarity (default)':<32} {p:>9.2f} {r:>6.2f}  {honest_max:>10.2f}  "
              f"{copy_min:>8.2f}")
        flagged, _, _ = copydetect_flags(corpus, assignment, labels.students,
                                         scratch / f"copydetect-{assignment}")
        p, r = precision_recall(flagged, labels.copy_pairs)
        print(f"{'':<14} {'':>6} {'':>6}  {'copydetect CopyDetector (0.33)':<32} {p:>9.2f} "
              f"{r:>6.2f}")
        for threshold in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            sweep.setdefault(threshold, []).append(
                precision_recall(_pairs(pairs, threshold), labels.copy_pairs))
    print(f"\nthreshold sweep (precision / recall, {' then '.join(ASSIGNMENTS)}):")
    for threshold, values in sweep.items():
        mark = "  <- default" if threshold == Settings().threshold else ""
        print(f"  {threshold:.2f}  " + "   ".join(f"{p:.2f} / {r:.2f}" for p, r in values) + mark)


def verbatim(corpus: Path) -> None:
    """Recall on exact copies of every corpus and example student."""
    missed, total = [], 0
    for assignment in ASSIGNMENTS:
        given = released_assignment(COURSE.release, assignment, COURSE.source)
        found = read_submissions(corpus, given)[0] + \
            read_submissions(REPO / "examples" / "submitted", given)[0]
        for original in found:
            if all(code == given.stubs.get(key) for key, code in original.answers.items()):
                continue  # an untouched release has nothing of its own to copy
            twin = Submission(original.student + "-copy", dict(original.answers))
            result = score_pairs(given, [original, twin])
            total += 1
            if result.flagged.empty:
                missed.append(f"{assignment}/{original.student}")
    print(f"\nverbatim copies flagged: {total - len(missed)}/{total}"
          + (f" (missed: {', '.join(missed)})" if missed else ""))


def synthetic_class(out: Path, assignment: str, students: int, seed: int) -> Path:
    """``students`` notebooks, each answer a corpus author's, changed at random."""
    rng = random.Random(seed)
    labels = similarity_corpus.labels(assignment)
    authors = [read_answers(similarity_corpus.CORPUS / assignment / f"{name}.py")
               for name in labels.students if name not in labels.copies]
    release = nbformat.read(COURSE.release / assignment / f"{assignment}.ipynb", as_version=4)

    def changed(text: str) -> str:
        lines = text.splitlines()
        out = lines[:1]
        for line in lines[1:]:
            indent = line[:len(line) - len(line.lstrip())]
            if line.strip() and rng.random() < 0.2 and not line.lstrip().startswith(
                    ("return", "for", "if", "else", "elif", "while", "def", "@")):
                out.append(f"{indent}t{rng.randrange(99)} = np.float64({rng.randrange(1000)})"
                           f" * {rng.randrange(2, 9)}")
            if rng.random() < 0.1:
                line = re.sub(r"\b\d+\.\d*\b", lambda _: f"{rng.randrange(2, 9)}.0", line)
            out.append(line)
        return "\n".join(out)

    for number in range(students):
        nb = nbformat.from_dict(release)
        fill(nb, {key: changed(rng.choice(authors)[key]) for key in authors[0]}, str(number))
        target = out / f"s{number:04d}" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    return out


def speed(students: int, subset: int, seed: int, scratch: Path) -> None:
    print(f"\nA class of {students} (synthetic notebooks on disk), all pairs:")
    print(f"{'assignment':<14} {'pairs':>8} {'grader s':>9} {'pairs/s':>10}  "
          f"{'copydetect':>22} {'est. class s':>12} {'ratio':>7}  flagged")
    for assignment in ASSIGNMENTS:
        root = synthetic_class(scratch / f"class-{assignment}", assignment, students, seed)
        pairs = students * (students - 1) // 2
        start = time.perf_counter()
        result = similarity(COURSE, assignment, root)
        ours = time.perf_counter() - start
        chosen = [f"s{n:04d}" for n in range(subset)]
        _, theirs, their_pairs = copydetect_flags(root, assignment, chosen,
                                                  scratch / f"copydetect-class-{assignment}")
        estimate = theirs / their_pairs * pairs
        print(f"{assignment:<14} {pairs:>8} {ours:>9.1f} {pairs / ours:>10.0f}  "
              f"{theirs:>6.1f} s / {their_pairs:>5} pairs {estimate:>12.0f} "
              f"{estimate / ours:>6.0f}x  {len(result.flagged)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--subset", type=int, default=120,
                        help="students compared by copydetect's own loop (default 120)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as scratch:
        scratch = Path(scratch)
        corpus = similarity_corpus.build(COURSE.release, scratch / "corpus")
        accuracy(corpus, scratch)
        verbatim(corpus)
        speed(args.students, args.subset, args.seed, scratch)


if __name__ == "__main__":
    main()
