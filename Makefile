# The two commands of the README:
#   make all    set up, release every assignment, grade the bundled example class in its own
#               course (examples/course/), print the grade table, write its feedback and report
#   make test   set up, install the system programs the tests need (Chromium, PostgreSQL; see
#               tools/system-deps) and run the test suite (real notebooks, real kernels)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: all install system-deps release example test lint clean bench bench-scale mutants

all: example

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Programs the tests use that pip cannot install (a real browser), from Debian's packages.
system-deps:
	tools/system-deps

release: install
	$(BIN)/grader release

example: install
	$(BIN)/grader example

test: install system-deps
	$(BIN)/ruff check grader tests bench examples source/*/hidden
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check grader tests bench examples source/*/hidden

bench: install
	$(BIN)/python bench/grading.py
	$(BIN)/python bench/bench_report.py

# Grading past one machine: the Dask path against the local one, the single writer on SQLite
# and PostgreSQL, and 2,000 submissions through the Dask path (README, "Large courses").
bench-scale: install system-deps
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/writer.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/scale.py --local --submissions 1000

# Mutation analysis of the hidden tests: every mutant of every graded function killed or
# reviewed as equivalent (bench/equivalent_mutants.txt); prints the score per function.
mutants: install
	$(BIN)/grader mutants

# What `make all` made: the example class's own course. The course's grades are never removed
# here: `grader new-term` archives them and starts a term, keeping submitted/.
clean:
	rm -rf examples/course .grader
