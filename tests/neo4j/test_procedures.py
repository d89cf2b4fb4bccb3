"""graphsleuth's own Neo4j procedure: how it is built, and that a load through it builds the
graph the Cypher MERGE bodies build, with the same guarantees."""

from __future__ import annotations

import zipfile

import pytest

from graphsleuth import server, store
from graphsleuth.errors import StoreError
from graphsleuth.server import procedures as plugin

from helpers import EXPECTED_COUNTS

# A relationship between two nodes made for the test, through the procedure.
CALL = (
    "CALL graphsleuth.mergeRelationships('SENT', 'Account', 'PromptTemplate', $starts, $ends, $integers, $datetimes) "
    "YIELD rows, created, properties, missing RETURN rows, created, properties, missing"
)


def _run(connection, cypher: str, **params) -> list[dict]:
    with store.open_driver(connection) as (driver, conn):
        with driver.session(database=conn.database) as session:
            return [record.data() for record in session.run(cypher, **params)]


def _every_relationship(connection) -> list[tuple]:
    """Each relationship as (start key, type, end key, properties as text), sorted: what an investigator sees."""
    rows = _run(
        connection,
        """
        MATCH (a)-[r]->(b)
        RETURN coalesce(a.accountId, a.paymentId, a.ip, '') AS start, type(r) AS type,
               coalesce(b.paymentId, b.bin, b.cidr, b.ip, b.templateId, b.value, '') AS end,
               [key IN keys(r) | key + '=' + toString(r[key])] AS properties""",
    )
    return sorted((row["start"], row["type"], row["end"], tuple(sorted(row["properties"]))) for row in rows)


# --- building the jar -------------------------------------------------------------------------


def test_the_jar_is_built_for_these_sources_and_this_neo4j_version(tmp_path):
    server.fetch()
    jar = server.build_plugin()
    assert plugin.is_built(jar.parent, server.NEO4J_VERSION)
    assert not plugin.is_built(jar.parent, "1.0.0")  # another Neo4j version: built again
    with zipfile.ZipFile(jar) as archive:
        assert "graphsleuth/neo4j/Relationships.class" in archive.namelist()
    assert not plugin.is_built(tmp_path, server.NEO4J_VERSION)  # no jar there


def test_a_source_that_does_not_compile_is_one_clear_line_and_leaves_no_jar(tmp_path, monkeypatch):
    server.fetch()
    broken = tmp_path / "src" / "graphsleuth" / "neo4j"
    broken.mkdir(parents=True)
    (broken / "Broken.java").write_text("package graphsleuth.neo4j;\npublic class Broken { int x = ; }\n", encoding="utf-8")
    monkeypatch.setattr(plugin, "source_dir", lambda: tmp_path / "src")
    plugins = tmp_path / "plugins"
    with pytest.raises(StoreError) as error:
        plugin.build(
            lib=server.neo4j_home() / "lib",
            plugins=plugins,
            tools=server.neo4j_home() / "tools",
            java=server.java(),
            neo4j_version=server.NEO4J_VERSION,
        )
    assert "could not compile" in str(error.value) and "\n" not in str(error.value)
    assert not list(plugins.glob("*.jar")) and not list(plugins.glob(".*part"))


# --- the procedure on the server --------------------------------------------------------------


@pytest.mark.neo4j
def test_the_local_server_has_the_procedure(neo4j_connection):
    if not neo4j_connection.local:
        pytest.skip("another server has it only once its administrator installs the jar")
    with store.open_driver(neo4j_connection) as (driver, conn):
        with driver.session(database=conn.database) as session:
            assert store.has_procedures(session)


@pytest.mark.neo4j
def test_a_load_through_the_procedure_builds_what_the_merge_bodies_build(empty_graph, evidence_dir):
    via_cypher = "csv" if empty_graph.local else "params"
    first = store.load(evidence_dir, connection=empty_graph, via=via_cypher)
    expected = _every_relationship(empty_graph)
    store.clear(connection=empty_graph)
    summary = store.load(evidence_dir, connection=empty_graph, via="procedure", batch_size=2)
    assert summary.method.endswith("procedure)")
    assert _every_relationship(empty_graph) == expected
    counts = store.graph_counts(connection=empty_graph)
    assert {k: v for k, v in counts.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    # The summary counts what the procedure created (the driver's counters do not see it).
    assert summary.relationships_created == first.relationships_created == sum(v for k, v in EXPECTED_COUNTS.items() if k.isupper())
    # Times are DATETIMEs in UTC, as datetime() makes them from the same text.
    [row] = _run(
        empty_graph,
        "MATCH (:Account {accountId: 'a1'})-[s:SENT]->() "
        "RETURN s.firstTs = datetime('2026-01-01T10:01:00Z') AS same, valueType(s.firstTs) AS type",
    )
    assert row == {"same": True, "type": "ZONED DATETIME NOT NULL"}
    again = store.load(evidence_dir, connection=empty_graph, via="procedure")
    assert again.relationships_created == 0 and _every_relationship(empty_graph) == expected


@pytest.mark.neo4j
def test_the_procedure_merges_sets_and_removes_like_merge_and_set(empty_graph):
    [ids] = _run(
        empty_graph,
        "CREATE (a:Account {accountId: 'x1'}), (t:PromptTemplate {templateId: 'tx'}), (o:Subnet {cidr: 'o'}) "
        "RETURN id(a) AS a, id(t) AS t, id(o) AS other",
    )
    a, t = ids["a"], ids["t"]
    first = _run(
        empty_graph,
        CALL,
        starts=[a, a],
        ends=[t, t],
        integers={"count": [3, 4]},
        datetimes={"firstTs": ["2026-01-01T10:01:00.000000Z", "2026-03-01T00:00:00+02:00"]},
    )
    # The second row finds the relationship the first created, and sets its properties again.
    assert first == [{"rows": 2, "created": 1, "properties": 4, "missing": 0}]
    [row] = _run(empty_graph, "MATCH ()-[s:SENT]->() RETURN s.count AS count, s.firstTs = datetime('2026-03-01T00:00:00+02:00') AS same")
    assert row == {"count": 4, "same": True}
    # A null removes the property, as SET s.count = null does.
    _run(empty_graph, CALL, starts=[a], ends=[t], integers={"count": [None]}, datetimes={})
    [row] = _run(empty_graph, "MATCH ()-[s:SENT]->() RETURN s.count AS count, count(*) AS n")
    assert row == {"count": None, "n": 1}
    # A node that is gone, or has another label, is skipped, as a MATCH would find nothing.
    gone = _run(empty_graph, CALL, starts=[a, a], ends=[ids["other"], 10**12], integers={}, datetimes={})
    assert gone == [{"rows": 2, "created": 0, "properties": 0, "missing": 2}]


@pytest.mark.neo4j
@pytest.mark.parametrize(
    "integers, datetimes, message",
    [
        ({}, {"firstTs": ["yesterday"]}, "not an ISO-8601 date and time with an offset: yesterday"),
        ({}, {"firstTs": ["2026-13-01T00:00:00.000000Z"]}, "not a date and time: 2026-13-01T00:00:00.000000Z"),
        ({"count": [1, 2]}, {}, "property count needs a list of 1 values"),
        ({"count": ["three"]}, {}, "property count is an integer, got three"),
    ],
)
def test_bad_columns_fail_the_call_with_what_is_wrong(empty_graph, integers, datetimes, message):
    [ids] = _run(empty_graph, "CREATE (a:Account {accountId: 'x1'}), (t:PromptTemplate {templateId: 'tx'}) RETURN id(a) AS a, id(t) AS t")
    with pytest.raises(Exception) as error:
        _run(empty_graph, CALL, starts=[ids["a"]], ends=[ids["t"]], integers=integers, datetimes=datetimes)
    assert message in str(error.value)
    assert _run(empty_graph, "MATCH ()-[s:SENT]->() RETURN count(s) AS n") == [{"n": 0}]
