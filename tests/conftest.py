"""Fixtures for the tests that need Neo4j: the real server the project runs, never a mock.

The session starts the project's local server (``graphsleuth.server.start``,
which fetches the jars with Maven when they are missing) unless NEO4J_URI is
set, and stops it at the end if it started it. When the server cannot start
the tests fail (they are never skipped, in CI or elsewhere).

Tests that load evidence clear the database first: point NEO4J_URI only at a
throwaway database.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphsleuth import server, store
from graphsleuth.errors import StoreError

from helpers import write_evidence


@pytest.fixture(scope="session")
def neo4j_connection():
    """A connection to a running Neo4j: NEO4J_URI's, or the local server started for the session."""
    if os.environ.get("NEO4J_URI"):
        yield server.connection()
        return
    started_here = not server.is_running()
    try:
        server.start()
    except StoreError as exc:
        pytest.fail(f"the local Neo4j server could not start: {exc}", pytrace=False)
    yield server.connection()
    if started_here:
        server.stop()


@pytest.fixture
def empty_graph(neo4j_connection):
    """The session's Neo4j with every node deleted, for a test that loads its own evidence."""
    store.clear(connection=neo4j_connection)
    return neo4j_connection


@pytest.fixture
def evidence_dir(tmp_path) -> Path:
    return write_evidence(tmp_path / "evidence")


def pytest_collection_modifyitems(items):
    """Every test that asks for the Neo4j server is marked ``neo4j`` (``make test-fast`` leaves them out)."""
    for item in items:
        if {"neo4j_connection", "empty_graph"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.neo4j)


def pytest_xdist_make_scheduler(config, log):
    """How ``make test`` spreads tests over the cores: a module's tests in one worker, so that its fixtures
    are made once, and every Spark test in one worker (one Spark session; the 20,000-account runs made
    once). xdist's ``--dist loadgroup`` marks would say the same, but with pytest 9.2 xdist can no longer
    rename node ids, and every group was spread over both workers."""
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndSpark(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tests/spark" if module.startswith("tests/spark/") else module

    return ModulesAndSpark(config, log)
