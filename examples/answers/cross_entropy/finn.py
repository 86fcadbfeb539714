"""finn: submitted the released notebook untouched.

Expected: 0 on every item; the unanswered derivation scores 0 without manual grading.
"""

LOSES = "everything"  # the items it loses (for the example class's test)
