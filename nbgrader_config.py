"""nbgrader configuration of the classification-losses course.

The repository root is the course directory: ``source/`` (instructor notebooks), ``release/``
(student versions, committed), ``submitted/``, ``autograded/``, ``feedback/`` and the gradebook.
"""

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "classification-losses"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.CourseDirectory.assignment_id = ""
# Each assignment's hidden tests live beside its notebook, in source/<assignment>/hidden/:
# nbgrader must never copy that folder (release, exchange, autograded/). The grader adds it
# to this list itself too; plain nbgrader commands read it from here.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "hidden"]

# Student stubs keep the `def NAME(...):` line and docstring; only the body between the
# BEGIN/END SOLUTION markers is replaced.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# One slow or endless cell must not take the whole notebook down with it: each cell has its
# own budget, and a timed-out cell is interrupted so the following test cells still run.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 60

# nbgrader scores any stderr output in a test cell as a failure. A correct answer that triggers
# a harmless NumPy warning must not lose points, so warnings are silenced in graded kernels
# (the hidden tests additionally route the student's stderr to stdout while calling them).
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--IPKernelApp.exec_lines=import warnings as _w; _w.simplefilter('ignore'); del _w",
]

# A test cell the student deleted is put back from the gradebook and run like the others.
c.OverwriteCells.add_missing_cells = True

# Output that floods a notebook (a print in a loop) is cut rather than stored whole: by lines
# (nbgrader's LimitOutput) and by bytes, per cell and per notebook (grader's kernels).
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
c.Grading.cell_output_kb = 1024
c.Grading.notebook_output_kb = 4096

# Late submissions: course.toml's [late] policy, written into the gradebook as nbgrader's late
# penalty (grader/late.py) by `grader grade`, and by stock `nbgrader autograde` through this
# plugin; the due date is the gradebook's (`nbgrader db assignment add NAME --duedate ...`).
c.AssignLatePenalties.plugin_class = "grader.late.CourseLatePenalty"

# Stock `nbgrader autograde` (and formgrader's autograde button) runs the hidden tests in the
# student's kernel, as nbgrader does; their `grade("item")` needs the assignment's spec there
# (grader/stock.py). `grader grade` never runs them there, and reads none of this.
from grader.stock import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()

c.Exchange.assignment_dir = "."

# Grading (grader grade / grader ci): every kernel is a fresh process forked from a template
# that has imported what the assignment's released notebook imports (NumPy; scikit-learn's
# data sets for svm_hinge), so a submission does not pay for it again. List here any other
# module the students' notebooks commonly import. Never the grader's own hidden tests or
# reference: the template is the kernels'.
c.Grading.preload = []

# A function that never returns costs one cell timeout, not one per call; a notebook as a whole
# gets `notebook_timeout` seconds (unset: the cell timeout times the number of answer cells
# plus two, enough for every function to hang once). A kernel that dies is replaced, at most
# `restarts` times per notebook, and the notebook goes on without the cell that killed it.
# c.Grading.notebook_timeout = 900
c.Grading.restarts = 3

# A large course (see the README, "Large courses"): the gradebook on a PostgreSQL server, read
# by formgrader and `nbgrader export` too, and grading on the workers of a Dask cluster.
# c.CourseDirectory.db_url = "postgresql://grader:PASSWORD@db.example.edu/classification_losses"
# c.Grading.cluster = "tcp://scheduler.example.edu:8786"
