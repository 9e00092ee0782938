# Everything goes through the project's own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench validate clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[pulumi,dev]'
	touch $(STAMP)

install: $(STAMP)

validate: $(STAMP)
	$(BIN)/sage365 validate tenants/

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

# make bench BASELINE=<git revision>: that revision measured side by side, in the same run.
BASELINE ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --baseline "$(BASELINE)"

clean:
	rm -rf $(VENV) .pytest_cache build out
