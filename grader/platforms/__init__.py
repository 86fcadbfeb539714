"""Where a course grades besides the instructor's machine: GitHub Classroom and Gradescope."""
