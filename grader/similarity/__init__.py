"""Shared code between submissions: which students' answers look copied from each other.

The pipeline, one module a step:

``answers``      the answer cells of each submitted notebook, and what the release gave everyone
``fingerprint``  copydetect's normalised tokens, winnowed into fingerprints, boilerplate removed
``score``        every pair at once through a sparse matrix product; flags
``collect``      where the submissions are (``submitted/``, ``autograded/``, a zip, past terms)
``export``       the pairs as a table, CSV or JSON; the HTML is a section of the report
``command``      ``grader similarity``

A flag is evidence for a person to weigh, never a verdict: nothing here touches a score.
"""

from grader.similarity.collect import similarity
from grader.similarity.score import Settings, Similarity, score_pairs

__all__ = ["Settings", "Similarity", "score_pairs", "similarity"]
