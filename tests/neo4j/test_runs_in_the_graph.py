"""Runs over time in Neo4j: (:Run) nodes, rings linked across runs, verdicts given in the Browser carried to the next run."""

from __future__ import annotations

import json

import pytest

from graphsleuth import api, store


def rings(out) -> dict[str, dict]:
    return {r["ring_id"]: r for r in map(json.loads, (out / "rings.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def timeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("neo4j-runs")
    api.generate("demo", seed=5, accounts=1500, out=folder / "snaps", snapshots=2)
    return folder


def test_a_verdict_set_in_the_browser_shapes_the_next_run_and_the_graph_shows_what_changed(empty_graph, timeline):
    conn = empty_graph
    folder = timeline
    store.load(folder / "snaps" / "snapshot-2", connection=conn)  # every account of both runs
    api.detect(folder / "snaps" / "snapshot-1", folder / "run-1", neo4j=True)
    first = rings(folder / "run-1")
    largest = max(first.values(), key=lambda r: r["size"])["ring_id"]
    smallest = min(first.values(), key=lambda r: r["size"])["ring_id"]
    # The guide's query, as an investigator runs it in the Browser.
    given = store.set_verdict_in_neo4j(largest, "banned", by="gil", note="three BINs, one proxy pool", connection=conn)
    assert given["verdict"] == "banned" and given["by"] == "gil"
    store.set_verdict_in_neo4j(smallest, "dismissed", by="hal", connection=conn)
    assert store.set_verdict_in_neo4j(largest, "maybe", connection=conn) is None  # not a verdict: nothing is set

    api.detect(folder / "snaps" / "snapshot-2", folder / "run-2", neo4j=True, previous=folder / "run-1")
    second = rings(folder / "run-2")
    assert largest in second and smallest not in second
    assert second[largest]["verdict"]["by"] == "gil" and second[largest]["verdict"]["source"] == "neo4j"
    assert second[largest]["successors"]["accounts"] > 0
    carried = [json.loads(line) for line in (folder / "run-2" / "verdicts.jsonl").read_text().splitlines()]
    assert {(v["ring_id"], v["verdict"]) for v in carried} == {(largest, "banned"), (smallest, "dismissed")}
    assert all(len(v["members"]) == first[v["ring_id"]]["size"] for v in carried)

    runs = store.investigate("changes_since_last_run", connection=conn)
    changes = {row["ring"]: row["change"] for row in runs}
    assert changes[smallest] == "dismissed_not_flagged"
    new = [ring_id for ring_id, r in second.items() if r["lineage"]["change"] == "new"]
    assert new and all(changes[ring_id] == "new" for ring_id in new)
    assert changes[largest] == second[largest]["lineage"]["change"]
    kept = [ring_id for ring_id in second if ring_id in first]
    with store.open_driver(conn) as (driver, _):
        with driver.session(database=conn.database) as session:
            follows = session.run("MATCH (:Run)-[f:FOLLOWS]->(:Run) RETURN count(f) AS n").single()["n"]
            continues = session.run(
                "MATCH (now:Ring)-[:CONTINUES]->(before:Ring) WHERE now.ringId = before.ringId RETURN collect(now.ringId) AS ids"
            ).single()["ids"]
            verdicts_kept = session.run("MATCH (r:Ring {ringId: $id}) RETURN collect(r.verdict) AS v", id=largest).single()["v"]
    assert follows == 1
    assert sorted(continues) == sorted(kept)
    assert verdicts_kept == ["banned", "banned"]  # set in the Browser on run 1's node, carried onto run 2's
