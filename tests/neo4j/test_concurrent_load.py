"""Two loads of the same evidence at once build the graph one clean load builds: no duplicates.

Every test loads a generated population into the session's real Neo4j in two
loads that overlap, then compares the graph with a clean single load: node and
relationship counts per label and type, and a checksum over every id and link
(``snapshot`` from test_faults). Both loads must succeed: a refusal would make
an investigator run the load again, a duplicate relationship would double the
evidence two accounts share.

How the loads are made to overlap, without sleeping and hoping:

* two ``graphsleuth load`` commands are each paused (SIGSTOP) at their first
  progress line and then resumed together, so the rest of both loads, every
  relationship included, runs at the same time;
* a second load runs from start to end while the first is paused in its
  relationship phase, the interleaving in which loads that chose CREATE for a
  relationship type the database did not hold yet wrote every such
  relationship twice;
* two library loads in threads, started by a barrier, with small batches so
  that each is many transactions (the path used for a remote NEO4J_URI).

A load is only ever paused right after it printed a progress line. A statement
it has sent (LOAD CSV, or a call of graphsleuth's procedure in an auto-commit
transaction) runs on by itself on the server and commits, so a paused load never
holds locks the other one waits for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from graphsleuth import store

from test_faults import Paused, clean_load, demo_population, snapshot

pytestmark = pytest.mark.neo4j

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = 4_000
#: A progress line of a load's relationship phase: SENT written for half of the accounts while
#: the other half's other relationships are being written.
RELATIONSHIP_STEP = "accounts sent: "


@pytest.fixture(scope="module")
def evidence(tmp_path_factory) -> Path:
    return demo_population(tmp_path_factory, seed=3, accounts=ACCOUNTS)


@pytest.fixture(scope="module")
def clean(neo4j_connection, evidence) -> dict:
    """The snapshot of one load into the empty database."""
    shot = clean_load(neo4j_connection, evidence)
    assert shot["counts"]["Account"] == ACCOUNTS and shot["counts"]["SENT"] > ACCOUNTS
    return shot


@pytest.fixture
def local_server(neo4j_connection):
    if not neo4j_connection.local:
        pytest.skip("pauses `graphsleuth load` processes that use the local server's default connection")
    return neo4j_connection


def _load_command(evidence: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "graphsleuth", "load", str(evidence)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=dict(os.environ),
    )


@contextmanager
def _load_commands(evidence: Path, count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` `graphsleuth load` processes of ``evidence``; any still running at the end is killed."""
    procs = [_load_command(evidence) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _finish(paused: Paused) -> None:
    """Resume a paused load, wait for it, and check that it loaded."""
    _, err = paused.resume().wait()
    assert paused.proc.returncode == 0 and "Traceback" not in err, err[-800:]
    assert err.strip().splitlines()[-1].startswith("loaded "), err[-800:]


def _assert_clean(connection, clean: dict, evidence: Path) -> None:
    assert snapshot(connection) == clean
    # Loading once more finds everything in place.
    again = store.load(evidence, connection=connection)
    assert again.nodes_created == 0 and again.relationships_created == 0


def test_two_load_commands_at_once_build_one_clean_graph(local_server, evidence, clean):
    store.clear(connection=local_server)
    with _load_commands(evidence, 2) as procs:
        paused = [Paused(proc, "accounts: ") for proc in procs]
        # Both have written their accounts and are paused; from here every other node and
        # every relationship is written by both loads at the same time.
        for each in paused:
            each.resume()
        for each in paused:
            _finish(each)
    _assert_clean(local_server, clean, evidence)


def test_load_started_while_another_is_in_its_relationship_phase(local_server, evidence, clean):
    store.clear(connection=local_server)
    with _load_commands(evidence, 1) as (first,):
        paused = Paused(first, RELATIONSHIP_STEP)
        # The first load has written every node and some of its relationships. A second load
        # of the same data runs from start to end, then the first one resumes.
        second = store.load(evidence, connection=local_server)
        assert second.nodes_created == 0
        _finish(paused)
    _assert_clean(local_server, clean, evidence)


@pytest.mark.parametrize("via", ["params", "procedure"])
def test_two_library_loads_in_threads_build_one_clean_graph(neo4j_connection, evidence, clean, via):
    store.clear(connection=neo4j_connection)
    outcome: dict[int, object] = {}
    barrier = threading.Barrier(2)

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcome[index] = store.load(evidence, connection=neo4j_connection, via=via, batch_size=500)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = {i: repr(o) for i, o in outcome.items() if isinstance(o, BaseException)}
    assert len(outcome) == 2 and not failures, failures
    # A batch retried after a deadlock was rolled back first, so the two loads' counters add up exactly:
    # every node and relationship was created once, by one of them.
    nodes = sum(
        v for k, v in clean["counts"].items() if k in ("Account", "PaymentMethod", "Bin", "IpAddress", "Subnet", "PromptTemplate", "Link")
    )
    assert sum(o.nodes_created for o in outcome.values()) == nodes
    assert sum(o.relationships_created for o in outcome.values()) == sum(v for k, v in clean["counts"].items() if k.isupper())
    _assert_clean(neo4j_connection, clean, evidence)
