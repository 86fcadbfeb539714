"""finn: submitted the released notebook untouched.

Expected: 0 on every item; the unanswered derivation scores 0 without manual grading.
"""
