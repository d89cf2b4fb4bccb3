# Every target installs into .venv first; nothing is installed outside the project but Debian's
# Chromium for the browser tests (as root), and the Neo4j jars in the user's data folder.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := out/demo
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider
# On every core, a module (and all of Spark) to a worker (tests/conftest.py); the Neo4j and browser tests, timed against a
# server that shares the machine, run after them in one process.
PARALLEL := -n auto --dist loadscope

.PHONY: install demo test test-fast test-spark lint format bench robustness seeds clean neo4j browser audit

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/graphsleuth generate --scenario demo --seed 7 --out $(DEMO)/evidence --force
	$(BIN)/graphsleuth detect $(DEMO)/evidence --out $(DEMO)/rings --force
	$(BIN)/graphsleuth evaluate $(DEMO)/rings $(DEMO)/evidence/truth.csv

# Fetch the local Neo4j server's jars with Maven (once; kept in GRAPHSLEUTH_HOME or the user's data folder).
neo4j: $(STAMP)
	$(BIN)/graphsleuth neo4j fetch

# Headless Chromium and ChromeDriver from Debian's packages, for the Browser guide and case-file tests.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	else \
	  echo "make test needs Chromium: install Debian's chromium and chromium-driver packages (or run make browser as root)"; exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check graphsleuth tests benchmarks
	$(BIN)/ruff format --check graphsleuth tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix graphsleuth tests benchmarks
	$(BIN)/ruff format graphsleuth tests benchmarks

# The whole suite: 10 to 13 minutes on 2 shared cores (5 to 7 for the first part, 4.5 to 6 for the Neo4j and
# browser tests); the twelve slowest of each part are listed at the end.
test: $(STAMP) neo4j browser lint
	$(PYTEST) $(PARALLEL) --durations=12 -m "not neo4j and not browser"
	$(PYTEST) --durations=12 -m "neo4j or browser"

# Everything that needs no Neo4j server, no browser and no Spark: about three and a half minutes on 2 cores.
test-fast: $(STAMP) lint
	$(PYTEST) $(PARALLEL) -m "not neo4j and not browser and not spark"

# The Spark engine's tests (PySpark comes with .[test]; Java 17 or 21 must be on the machine): about two minutes.
test-spark: $(STAMP)
	$(PYTEST) -m spark tests/spark

# Known vulnerabilities in the installed dependencies, from PyPI's project JSON (pip-audit's
# per-release API and OSV are not reachable here); fails when PyPI cannot be asked. Run by CI.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Detection on 30 sampled populations of up to 200k accounts, from the evaluation seeds (never tuned
# on); ends with one JSON line. Tune with ROBUSTNESS="--mode tuning"; see graphsleuth/quality/robustness.py.
ROBUSTNESS ?=
robustness: $(STAMP)
	$(BIN)/python -m graphsleuth.quality.robustness $(ROBUSTNESS)

seeds: $(STAMP)
	$(BIN)/graphsleuth generate --scenario demo --seed 2026 --accounts 600 --out seeds/demo --force

clean:
	rm -rf $(VENV) out
