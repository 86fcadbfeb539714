"""Hidden tests: one function per graded test item, called from the source notebooks.

Instructor-only, like :mod:`grader.reference`; never copied into anything a student receives.
"""
