# Two commands for a fresh machine with Python 3.11:  make book  and  make test
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HTML := _build/html
JB_FLAGS := --builder html -n -W --keep-going
# `make test TESTS=tests/test_check.py NOTEBOOKS=chapters/safety.ipynb` runs part of the suite.
TESTS ?= tests
NOTEBOOKS ?= $(shell find chapters -name '*.ipynb' -not -path '*/_templates/*' -not -path '*/.ipynb_checkpoints/*' | sort)

.PHONY: book test check lint outputs lock clean help bench

help:
	@echo "make book    - create .venv, install pinned dependencies, build the HTML into $(HTML)"
	@echo "make test    - build, then run the whole suite (check, ruff, unit tests, nbval, browser test)"
	@echo "make outputs - re-execute every chapter notebook in place (store fresh outputs for nbval)"
	@echo "make check   - validate data/, references.bib and cross-references"
	@echo "make bench   - build and measure this book and the naive set-up side by side (bench/RESULTS.md)"
	@echo "make lock    - re-pin requirements.txt and binder/requirements.txt from requirements.in"

$(STAMP): requirements.txt pyproject.toml
	@echo "==> Creating $(VENV) with $(PYTHON) and installing pinned dependencies"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Notebook execution is cached by jupyter-cache, keyed on each notebook's code. The chapters also read
# data/, references.bib and skinregen/, so when any of those change the cache is dropped, and so is Sphinx's
# record of what it has read (.doctrees): Sphinx re-reads only files whose mtime changed, and a page whose
# notebook is unchanged would otherwise keep its old outputs.
_build/.inputs-fingerprint: $(STAMP) FORCE
	@mkdir -p _build
	@$(BIN)/python -m skinregen fingerprint > $@.new
	@if ! cmp -s $@.new $@; then echo "==> Data or package changed: notebooks will be re-executed"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees; mv $@.new $@; else rm $@.new; fi

book: $(STAMP) _build/.inputs-fingerprint
	@echo "==> Building the book (strict: warnings are errors)"
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "==> The book is in $(CURDIR)/$(HTML)/index.html"

check: $(STAMP)
	$(BIN)/python -m skinregen check

lint: $(STAMP)
	$(BIN)/ruff check skinregen tests bench

test: book
	@echo "==> Checking data, bibliography and cross-references"
	$(BIN)/python -m skinregen check
	@echo "==> Linting"
	$(BIN)/ruff check skinregen tests bench
	@echo "==> Unit tests, nbval over every chapter notebook, browser test of the built site"
	$(BIN)/python -m pytest $(TESTS) $(NOTEBOOKS) --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  -p no:cacheprovider

outputs: $(STAMP)
	@echo "==> Re-executing chapter notebooks in place"
	$(BIN)/python -m skinregen execute $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

lock: $(STAMP)
	$(BIN)/python -m pip install -r requirements.in
	$(BIN)/python -m pip freeze --exclude-editable > requirements.txt
	$(BIN)/python -m skinregen binder-requirements > binder/requirements.txt

clean:
	rm -rf _build

FORCE:
