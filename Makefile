# Two commands for a newcomer: `make sandbox` (try the bot locally) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
LANGS = ar bn pl pt ro so ur
# The sandbox's page (and its emulator) listen here: `make sandbox PORT=8081`.
PORT ?= 8080
# Who may join the sandbox's bot: `make sandbox SIGNUP=approval` (or invite, or open, the default).
SIGNUP ?=

.PHONY: sandbox test lint i18n

# Two installs into one venv, each with a stamp: running the bot needs only the package itself;
# the test extras (pytest, Playwright, mypy, ruff, …) come in only for `make test` and `make lint`.
RUN_STAMP = $(VENV)/.installed-run
TEST_STAMP = $(VENV)/.installed-test

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

sandbox: $(RUN_STAMP)
	$(BIN)/champbot sandbox --port $(PORT)$(if $(SIGNUP), --signup $(SIGNUP))

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

# What CI checks before the tests: ruff, and mypy in strict mode on bot/, handlers/ and storage/.
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Extract messages, merge them into every language, compile: the one place for pybabel.
i18n: $(RUN_STAMP)
	$(BIN)/pybabel extract --project=champbot --no-wrap --add-location=file \
		-k _ -k N_ -k gettext -k ngettext:1,2 -o locales/messages.pot bot handlers storage
	for lang in $(LANGS); do \
		if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --no-wrap --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot -d locales -l $$lang; \
		else \
			$(BIN)/pybabel init --no-wrap -i locales/messages.pot -d locales -l $$lang; \
		fi; \
	done
	$(BIN)/champbot i18n compile
