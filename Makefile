# The two commands of the README:
#   make all    set up, release every assignment, grade the bundled example class, print the
#               grade table, write feedback and the HTML report
#   make test   set up and run the test suite (real notebooks, real kernels)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: all install release example test lint clean bench

all: example

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

release: install
	$(BIN)/grader release

example: install
	$(BIN)/grader example

test: install
	$(BIN)/ruff check grader tests bench examples
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check grader tests bench examples

bench: install
	$(BIN)/python bench/grading.py
	$(BIN)/python bench/bench_report.py

# PostgreSQL server binaries for the tests of the PostgreSQL gradebook (the tests start and
# stop their own server); Debian's package, installed when missing and this is root with apt.
.PHONY: postgresql
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
	  || echo "warning: could not install postgresql; its tests will fail" >&2
test: postgresql

clean:
	rm -rf gradebook.db submitted autograded/* feedback reports .grader
