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

import pandas as pd
import pytest

from graphsleuth import server, store
from graphsleuth.errors import StoreError
from graphsleuth.findings import Findings

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def neo4j_connection():
    """A connection to a running Neo4j: NEO4J_URI's, or the local server started for the session."""
    if os.environ.get("NEO4J_URI"):
        yield server.connection()
        return
    started_here = not server.is_running()
    try:
        server.start(quiet=True)
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


# --- a small evidence directory with one obvious ring ----------------------------------------
#
# a1 and a2 share card c1 (BIN 411111), device dev-1, template t1 and subnet 10.0.0.0/24:
# the ring. a3 shares only the BIN, a4 only the subnet, a5 only the template; a6 shares
# nothing. a4 and a5 form a cluster that detection looked at but did not flag.

ACCOUNTS = """account_id,created_at,email,country,plan
a1,2026-01-01T10:00:00Z,a1@mail.test,US,free
a2,2026-01-01T10:05:00Z,a2@mail.test,US,free
a3,2026-01-02T09:00:00Z,a3@mail.test,DE,pro
a4,,a4@mail.test,FR,
a5,2026-01-03T00:00:00Z,a5@mail.test,US,free
a6,2026-01-04T00:00:00Z,a6@mail.test,BR,team
"""
PAYMENTS = """account_id,payment_id,kind,bin
a1,c1,card,411111
a2,c1,card,411111
a3,c2,card,411111
a4,c3,card,522222
a5,p4,paypal,
a6,c6,card,633333
"""
IPS = """account_id,ip,first_seen,last_seen,requests
a1,10.0.0.1,2026-01-01T10:00:00Z,2026-01-02T10:00:00Z,5
a1,10.0.0.1,2026-01-03T10:00:00Z,2026-01-04T10:00:00Z,7
a2,10.0.0.2,2026-01-01T11:00:00Z,2026-01-02T10:00:00Z,3
a3,2001:db8::1,2026-01-02T12:00:00Z,,
a4,10.0.0.9,,,1
a6,192.0.2.7,2026-01-04T01:00:00Z,2026-01-04T02:00:00Z,2
"""
PROMPTS = """account_id,template_id,ts,count
a1,t1,2026-01-01T10:01:00Z,3
a1,t1,2026-01-01T11:01:00Z,2
a2,t1,2026-01-01T10:06:00Z,4
a3,t2,2026-01-02T10:08:00Z,1
a5,t1,2026-01-04T00:00:00Z,1
a6,t3,2026-01-04T01:30:00Z,9
"""
LINKS = """account_id,kind,value
a1,device,dev-1
a2,device,dev-1
a3,phone_number,+15550001
a6,device,dev-6
"""

#: What loading the evidence above must create.
EXPECTED_COUNTS = {
    "Account": 6, "PaymentMethod": 5, "Bin": 3, "IpAddress": 5, "Subnet": 3,
    "PromptTemplate": 3, "Link": 3, "Device": 2, "PhoneNumber": 1,
    "PAID_WITH": 6, "ISSUED_UNDER": 4, "CONNECTED_FROM": 5, "IN_SUBNET": 5,
    "SENT": 5, "LINKED_TO": 4,
}


def write_evidence(folder: Path) -> Path:
    """Write the small evidence directory into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("accounts", ACCOUNTS), ("payments", PAYMENTS), ("ips", IPS), ("prompts", PROMPTS), ("links", LINKS)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def evidence_dir(tmp_path) -> Path:
    return write_evidence(tmp_path / "evidence")


def make_findings(run_id: str = "run-1", rings=None, clusters=None) -> Findings:
    """Findings with ring R1 = {a1, a2} and the unflagged cluster K1 = {a4, a5}, unless told otherwise."""
    if rings is None:
        rings = [{"ring_id": "R1", "accounts": ["a1", "a2"], "score": 0.93}]
    if clusters is None:
        clusters = [{"cluster_id": "K1", "account_ids": ["a4", "a5"], "score": 0.21, "reason": "shares only common evidence"}]
    members = pd.DataFrame(
        [{"account_id": a, "ring_id": r["ring_id"], "score": r["score"]} for r in rings for a in r["accounts"]],
        columns=["account_id", "ring_id", "score"],
    )
    ring_records = [
        {
            "ring_id": r["ring_id"],
            "size": len(r["accounts"]),
            "score": r["score"],
            "evidence": {"payment_id": 1, "device": 1, "template_id": 1},
            "created_from": "2026-01-01T10:00:00Z",
            "created_to": "2026-01-01T10:05:00Z",
            "explanation": f"{len(r['accounts'])} accounts share one card, one device and one prompt template",
        }
        for r in rings
    ]
    cluster_records = [
        {
            "cluster_id": r["ring_id"], "size": len(r["accounts"]), "score": r["score"], "flagged": True,
            "ring_id": r["ring_id"], "reason": "flagged", "account_ids": r["accounts"],
        }
        for r in rings
    ] + [{**c, "size": len(c["account_ids"]), "flagged": False, "ring_id": None} for c in clusters]
    return Findings(members=members, rings=ring_records, clusters=cluster_records, run_id=run_id, algorithm="leiden", seed=7)
