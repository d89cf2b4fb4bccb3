# Every target installs into .venv first; nothing is installed outside the project.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := out/demo

.PHONY: install demo test bench seeds clean neo4j audit

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/graphsleuth generate --scenario synthetic/demo.toml --seed 7 --out $(DEMO)/evidence --force
	$(BIN)/graphsleuth detect $(DEMO)/evidence --out $(DEMO)/rings --force
	$(BIN)/graphsleuth evaluate $(DEMO)/rings $(DEMO)/evidence/truth.csv

# Fetch the local Neo4j server's jars with Maven (once; cached in .graphsleuth/).
neo4j: $(STAMP)
	$(BIN)/graphsleuth neo4j fetch

test: $(STAMP) neo4j
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Known vulnerabilities in the installed dependencies, from PyPI's project JSON (pip-audit's
# per-release API and OSV are not reachable here); fails when PyPI cannot be asked. Run by CI.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

seeds: $(STAMP)
	$(BIN)/graphsleuth generate --scenario synthetic/demo.toml --seed 2026 --accounts 600 --out seeds/demo --force

clean:
	rm -rf $(VENV) out
