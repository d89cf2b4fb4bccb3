"""The evidence graph in a real Neo4j: load, idempotency, write-back, read-back, queries."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from graphsleuth import server, store
from graphsleuth.errors import InputError, StoreError
from graphsleuth.evidence import read_evidence
from graphsleuth.progress import Progress
from graphsleuth.queries import cypher_statements
from graphsleuth.store.bulk import _NodeNumbers
from graphsleuth.store.load import BATCH_SIZE, _relationship_phases
from graphsleuth.store.steps import NodeIds, Step, key_text, load_steps
from graphsleuth.store.summary import LoadSummary

from helpers import EXPECTED_COUNTS, make_findings

pytestmark = pytest.mark.neo4j


def _graph_only(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if k not in {"Ring", "Cluster", "Suspect", "MEMBER_OF", "IN_CLUSTER"}}


def test_load_builds_the_evidence_graph(empty_graph, evidence_dir, capsys):
    summary = store.load(evidence_dir, connection=empty_graph, progress=Progress(show=True))
    counts = store.graph_counts(connection=empty_graph)
    assert _graph_only(counts) == EXPECTED_COUNTS
    # The closing summary comes from the driver's counters and matches the graph.
    assert summary.nodes_created == sum(
        counts[k] for k in ("Account", "PaymentMethod", "Bin", "IpAddress", "Subnet", "PromptTemplate", "Link")
    )
    assert summary.relationships_created == sum(v for k, v in counts.items() if k.isupper())
    err = capsys.readouterr().err
    assert re.search(r"^graphsleuth: accounts: 6/6 \(\d+\.\d s\)$", err, re.MULTILINE), err
    assert f"{summary.nodes_created} nodes and {summary.relationships_created} relationships created" in summary.describe()


def test_second_load_changes_no_counts(empty_graph, evidence_dir):
    store.load(evidence_dir, connection=empty_graph)
    before = store.graph_counts(connection=empty_graph)
    again = store.load(evidence_dir, connection=empty_graph, batch_size=2)
    assert again.nodes_created == 0 and again.relationships_created == 0 and again.labels_added == 0
    assert store.graph_counts(connection=empty_graph) == before


def test_the_library_load_prints_nothing_unless_asked(empty_graph, evidence_dir, capsys):
    store.load(evidence_dir, connection=empty_graph)
    assert capsys.readouterr() == ("", "")


def _normal(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows sorted by ``keys`` with plain Python values, missing as None (for comparing)."""
    out = frame.sort_values(keys).reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


@pytest.mark.parametrize("via, batch_size", [("auto", BATCH_SIZE), ("csv", BATCH_SIZE), ("params", 2), ("procedure", 2)])
def test_reading_back_gives_what_was_loaded(empty_graph, evidence_dir, via, batch_size):
    """Every relationship joins the right two nodes, whichever way the rows travel and however
    they are batched (the load finds a relationship's nodes by the ids their own writes returned)."""
    if via == "csv" and not empty_graph.local:
        pytest.skip("LOAD CSV from the import folder needs the local server")
    loaded = read_evidence(evidence_dir)
    store.load(loaded, connection=empty_graph, via=via, batch_size=batch_size)
    back = store.read_evidence_from_neo4j(connection=empty_graph)

    assert _normal(back.accounts, ["account_id"]).equals(_normal(loaded.accounts, ["account_id"]))
    assert str(back.accounts["created_at"].dtype) == "datetime64[ns, UTC]"
    assert _normal(back.payments, ["account_id", "payment_id"]).equals(_normal(loaded.payments, ["account_id", "payment_id"]))
    assert _normal(back.links, ["account_id", "kind", "value"]).equals(_normal(loaded.links, ["account_id", "kind", "value"]))

    # ips and prompts come back one row per account x IP / template, aggregated.
    ips = (
        loaded.ips.groupby(["account_id", "ip"])
        .agg(first_seen=("first_seen", "min"), last_seen=("last_seen", "max"), requests=("requests", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    assert _normal(back.ips, ["account_id", "ip"]).equals(_normal(ips[back.ips.columns], ["account_id", "ip"]))
    prompts = loaded.prompts.groupby(["account_id", "template_id"]).agg(ts=("ts", "min"), count=("count", "sum")).reset_index()
    assert _normal(back.prompts, ["account_id", "template_id"]).equals(
        _normal(prompts[back.prompts.columns], ["account_id", "template_id"])
    )
    assert back.prompts["count"].dtype == "int64"
    assert not back.raw_prompts


def test_write_findings_and_rerun_replaces(empty_graph, evidence_dir):
    store.load(evidence_dir, connection=empty_graph)
    first = store.write_findings(make_findings("run-1"), connection=empty_graph)
    assert (first.rings, first.members, first.clusters) == (1, 2, 1)
    counts = store.graph_counts(connection=empty_graph)
    assert (counts["Ring"], counts["MEMBER_OF"], counts["Suspect"], counts["Cluster"], counts["IN_CLUSTER"]) == (1, 2, 2, 1, 2)

    # The same run again: replaced, not duplicated.
    again = store.write_findings(make_findings("run-1"), connection=empty_graph)
    assert again.nodes_deleted == 2
    assert store.graph_counts(connection=empty_graph) == counts
    ring = store.investigate("rings_by_score", connection=empty_graph, limit=10)
    assert ring == [
        {
            "ring": "R1",
            "score": 0.93,
            "size": 2,
            "run": "run-1",
            "explanation": "2 accounts share one card, one device and one prompt template",
            "accounts": ["a1", "a2"],
        }
    ]

    # Another run keeps run-1's results; when run-1 then finds nothing, :Suspect stays only where run-2 justifies it.
    store.write_findings(
        make_findings("run-2", rings=[{"ring_id": "R1", "accounts": ["a2", "a3"], "score": 0.5}], clusters=[]), connection=empty_graph
    )
    assert store.graph_counts(connection=empty_graph)["Ring"] == 2
    store.write_findings(make_findings("run-1", rings=[], clusters=[]), connection=empty_graph)
    counts = store.graph_counts(connection=empty_graph)
    assert counts["Ring"] == 1 and counts["Suspect"] == 2 and "Cluster" not in counts
    suspects = store.investigate("accounts_sharing_with_suspects", connection=empty_graph, limit=50)
    assert "a1" in {row["account"] for row in suspects}  # a1 is no longer a suspect, so it now shows up here


def test_investigator_queries_return_what_they_promise(empty_graph, evidence_dir):
    store.load(evidence_dir, connection=empty_graph)
    store.write_findings(make_findings("run-1"), connection=empty_graph)
    conn = empty_graph

    rings = store.investigate("rings_by_score", connection=conn, limit=5)
    assert [r["ring"] for r in rings] == ["R1"]

    paths = store.investigate("ring_evidence", connection=conn, ringId="R1")
    members = {p["membership"][0]["accountId"] for p in paths}
    assert members == {"a1", "a2"}
    shared = {tuple(sorted(p["direct"][2].items())) for p in paths if p["direct"]}
    shared_values = {dict(s).get("paymentId") or dict(s).get("templateId") or dict(s).get("value") or dict(s).get("ip") for s in shared}
    assert shared_values == {"c1", "t1", "dev-1"}
    grouped = {(p["indirect"][4].get("bin") or p["indirect"][4].get("cidr")) for p in paths if p["indirect"]}
    assert grouped == {"411111", "10.0.0.0/24"}

    sharing = store.investigate("accounts_sharing_with_suspects", connection=conn, limit=10)
    by_account = {r["account"]: r for r in sharing}
    assert set(by_account) == {"a3", "a4", "a5"}
    assert by_account["a3"]["shared"] == ["BIN 411111"]
    assert by_account["a4"]["shared"] == ["subnet 10.0.0.0/24"]
    assert by_account["a5"]["shared"] == ["template t1"]
    assert by_account["a3"]["suspects"] == 2

    timeline = store.investigate("ring_timeline", connection=conn, ringId="R1")
    events = [(r["account"], r["event"], r["detail"]) for r in timeline]
    assert events == [
        ("a1", "account created", "a1@mail.test"),
        ("a1", "first seen from IP", "10.0.0.1"),
        ("a1", "first prompt from template", "t1"),
        ("a2", "account created", "a2@mail.test"),
        ("a2", "first prompt from template", "t1"),
        ("a2", "first seen from IP", "10.0.0.2"),
    ]
    times = [r["at"].to_native() for r in timeline]
    assert times == sorted(times)

    unflagged = store.investigate("clusters_not_flagged", connection=conn, limit=10)
    assert unflagged == [
        {"cluster": "K1", "run": "run-1", "size": 2, "score": 0.21, "reason": "shares only common evidence", "accounts": ["a4", "a5"]}
    ]


def test_every_cypher_statement_is_named_and_parameterised():
    for file in ("schema", "load", "findings", "investigate"):
        found = cypher_statements(file)
        assert found, file
        for name, cypher in found.items():
            assert cypher and not cypher.endswith(";"), (file, name)
    assert set(cypher_statements("investigate")) == {
        "rings_by_score",
        "ring_evidence",
        "accounts_sharing_with_suspects",
        "ring_timeline",
        "clusters_not_flagged",
        "changes_since_last_run",
        "set_verdict",
    }
    # No Cypher pasted into the Python modules: statements come from graphsleuth/queries/cypher/*.cypher.
    package = Path(store.__file__).parents[1]
    for module in sorted(package.rglob("*.py")):
        text = module.read_text()
        assert not re.search(r"[\"'](MATCH|MERGE|CREATE|UNWIND) ", text), module


def test_relationship_rows_name_their_nodes_by_the_ids_the_server_returned():
    accounts = Step("accounts", "accounts", pd.DataFrame({"account_id": ["a", "b", "c"]}), "Account", key=("account_id",))
    links = Step(
        "links (Device)", "links", pd.DataFrame({"kind": ["device", "device"], "value": ["d1", "d2"]}), "Link", key=("kind", "value")
    )
    linked = Step(
        "accounts linked to (Device)",
        "linked_to",
        pd.DataFrame({"account_id": ["c", "a", "zz", "b"], "kind": ["device"] * 4, "value": ["d2", "d1", "d1", "d9"]}),
        "LINKED_TO",
        ends=(("accounts", ("account_id",)), ("links (Device)", ("kind", "value"))),
    )
    ids = NodeIds()
    # The server may hand the ids back in any order; each comes with its row's rank.
    ids.keep(accounts, order=[3, 1, 2], nodes=[12, 10, 11])
    ids.keep(links, order=[7, 5], nodes=[21, 20])
    rows = ids.rows(linked)
    # Rows whose account or link the load did not write are left out, as a MATCH would find nothing.
    assert rows.to_dict("records") == [{"start": 12, "end": 21}, {"start": 10, "end": 20}]
    with pytest.raises(StoreError, match="returned 2 node ids for 3 rows"):
        ids.keep(accounts, order=[1, 2], nodes=[10, 11])


def test_rows_prepared_in_the_background_are_the_rows_prepared_at_once(tmp_path):
    """A load prepares its IP and prompt rows in a background thread while it writes the first
    nodes; the rows it then writes are exactly those prepared in one go."""
    from concurrent.futures import ThreadPoolExecutor

    from graphsleuth.synth import generate

    out = tmp_path / "evidence"
    generate("demo", seed=3, out=out, accounts=1_500)
    evidence = read_evidence(out)
    at_once = load_steps(evidence, LoadSummary())
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = load_steps(evidence, LoadSummary(), pool)
        assert any(callable(step._frame) for step in later)
        assert [step.what for step in later] == [step.what for step in at_once]
        for mine, theirs in zip(later, at_once):
            pd.testing.assert_frame_equal(mine.frame, theirs.frame)


def test_relationship_phases_never_let_two_sessions_lock_one_node(tmp_path):
    """The relationships that start at an account are written in two sessions at once: within a
    phase, the two sessions' rows share no node (no lock waits, no deadlocks), and over all
    phases every row of every such step is written exactly once. The others (payment method to
    BIN, IP address to subnet) run beside the node steps, and join no node a later node step writes."""
    from graphsleuth.synth import generate

    out = tmp_path / "evidence"
    generate("demo", seed=5, out=out, accounts=2_000)
    steps = load_steps(read_evidence(out), LoadSummary())
    numbers = _NodeNumbers()
    for step in steps:
        if step.key:
            numbers.number(step.what, key_text(step.frame, step.key))
    ids = numbers.numbered
    relationships = [step for step in steps if step.ends and step.ends[0][0] == "accounts"]
    frames = {step.what: ids.rows(step) for step in relationships}
    phases = _relationship_phases(relationships, frames, ids)
    assert [len(phase) for phase in phases] == [2, 2]
    nodes = [step.what for step in steps if step.key]
    beside = [step for step in steps if step.ends and step.ends[0][0] != "accounts"]
    assert {step.kind for step in beside} == {"ISSUED_UNDER", "IN_SUBNET"}
    for step in beside:  # it starts once both its ends are written; no node step after that touches them
        ready = max(nodes.index(end) for end, _key in step.ends)
        later = set(nodes[ready + 1 :])
        assert not later & {end for end, _key in step.ends}, step.what
    written = {step.what: [] for step in relationships}
    for phase in phases:
        touched = []
        for lane in phase:
            nodes = set()
            for step, rows, _name in lane:
                part = frames[step.what] if rows is None else frames[step.what][rows]
                nodes |= set(part["start"]) | set(part["end"])
                written[step.what] += list(part.index)
            touched.append(nodes)
        if len(touched) == 2:
            assert touched[0] and touched[1] and not touched[0] & touched[1]
    for step in relationships:
        assert sorted(written[step.what]) == list(range(len(frames[step.what]))), step.what


def test_link_kinds_become_checked_labels():
    assert store.link_label("device") == "Device"
    assert store.link_label("phone_number") == "PhoneNumber"
    assert store.link_label("account") == "AccountLink"
    for bad in ("Device`) DETACH DELETE n //", "1abc", "", "a-b", "x" * 41):
        with pytest.raises(InputError):
            store.link_label(bad)


def test_browser_link_opens_the_ring_query():
    link = store.browser_link('R"1')
    assert link.startswith(server.browser_url() + "&cmd=edit&arg=")
    cypher = urllib.parse.unquote(link.split("&arg=", 1)[1])
    assert cypher.startswith('WITH "R\\"1" AS ringId\n')
    assert "$ringId" not in cypher


def test_unreachable_server_is_one_clear_line(evidence_dir):
    dead = server.Connection(uri="neo4j://127.0.0.1:9", username="neo4j", password="x", database="neo4j", local=True)
    with pytest.raises(StoreError) as info:
        store.load(evidence_dir, connection=dead)
    message = str(info.value)
    assert "127.0.0.1:9" in message and "\n" not in message


def test_cli_load_wraps_the_library(empty_graph, evidence_dir):
    done = subprocess.run([sys.executable, "-m", "graphsleuth", "load", str(evidence_dir), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _graph_only(store.graph_counts(connection=empty_graph)) == EXPECTED_COUNTS
    bad = subprocess.run([sys.executable, "-m", "graphsleuth", "load", str(evidence_dir / "missing")], capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    # --via reaches the library: parameters only, then the procedure for the relationships.
    for via, method in (("params", "via bolt in"), ("procedure", "procedure) in")):
        store.clear(connection=empty_graph)
        done = subprocess.run(
            [sys.executable, "-m", "graphsleuth", "load", str(evidence_dir), "--via", via], capture_output=True, text=True
        )
        assert done.returncode == 0 and method in done.stderr.splitlines()[-1], done.stderr
        assert _graph_only(store.graph_counts(connection=empty_graph)) == EXPECTED_COUNTS


def test_bulk_import_needs_the_local_server_stopped(neo4j_connection, evidence_dir):
    if neo4j_connection.local:
        with pytest.raises(StoreError, match="needs the server stopped.*graphsleuth neo4j stop"):
            store.load(evidence_dir, bulk=True)
    else:
        with pytest.raises(StoreError, match="cannot load into NEO4J_URI"):
            store.load(evidence_dir, bulk=True)


@pytest.mark.slow
def test_bulk_import_builds_the_same_graph(tmp_path, monkeypatch, evidence_dir, empty_graph):
    """neo4j-admin import into a new local server home (own ports) builds what the Bolt load builds."""
    store.load(evidence_dir, connection=empty_graph)
    expected = store.graph_counts(connection=empty_graph)
    expected_tables = store.read_evidence_from_neo4j(connection=empty_graph)
    spare = tmp_path / "home"
    (spare / "neo4j").mkdir(parents=True)
    (spare / "neo4j" / "lib").symlink_to(server.neo4j_home() / "lib")
    monkeypatch.setenv("GRAPHSLEUTH_HOME", str(spare))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.setenv("GRAPHSLEUTH_NEO4J_BOLT_PORT", "17787")
    monkeypatch.setenv("GRAPHSLEUTH_NEO4J_HTTP_PORT", "17574")
    monkeypatch.setenv("GRAPHSLEUTH_GUIDE_PORT", "17580")
    try:
        summary = store.load(evidence_dir, bulk=True)  # imports, then starts the server
        assert server.is_running()
        assert summary.nodes_created == sum(
            expected[k] for k in ("Account", "PaymentMethod", "Bin", "IpAddress", "Subnet", "PromptTemplate", "Link")
        )
        assert store.graph_counts() == expected
        # The schema is in place, so a Bolt load on top changes nothing.
        again = store.load(evidence_dir)
        assert again.nodes_created == 0 and again.relationships_created == 0
        # Node ids are numbers in the import files: every property and relationship must still match.
        imported = store.read_evidence_from_neo4j()
        for name, key in [
            ("accounts", ["account_id"]),
            ("payments", ["account_id", "payment_id"]),
            ("ips", ["account_id", "ip"]),
            ("prompts", ["account_id", "template_id"]),
            ("links", ["account_id", "kind", "value"]),
        ]:
            assert _normal(imported.table(name), key).equals(_normal(expected_tables.table(name), key)), name
    finally:
        server.stop()
