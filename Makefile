# Two commands for a newcomer: `make sandbox` (try the bot locally) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
LANGS = ar bn pl pt ro so ur

.PHONY: sandbox test lint i18n

$(BIN)/champbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

sandbox: $(BIN)/champbot
	$(BIN)/champbot sandbox

test: $(BIN)/champbot
	$(BIN)/python -m pytest

# What CI checks before the tests: ruff, and mypy in strict mode on bot/, handlers/ and storage/.
lint: $(BIN)/champbot
	$(BIN)/ruff check .
	$(BIN)/mypy

# Extract messages, merge them into every language, compile: the one place for pybabel.
i18n: $(BIN)/champbot
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
