# The two commands of the README:
#   make all    set up, release every assignment, grade the bundled example class, print the table
#   make test   set up and run the test suite (real notebooks, real kernels)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: all install release grade-examples test lint clean bench

all: install release grade-examples

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

release: install
	$(BIN)/grader release

grade-examples: install
	$(BIN)/grader example

test: install
	$(BIN)/ruff check grader tests bench
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf gradebook.db submitted autograded/* feedback reports .grader
