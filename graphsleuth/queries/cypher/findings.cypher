// Writing a detection run's results back (graphsleuth.store.write_findings).
// All statements run in one transaction: the run's old rings and clusters go,
// the new ones come, and :Suspect stays only where some ring still justifies it.

// name: delete_run_rings
MATCH (r:Ring {runId: $runId})
DETACH DELETE r;

// name: delete_run_clusters
MATCH (c:Cluster {runId: $runId})
DETACH DELETE c;

// name: create_rings
UNWIND $rings AS ring
CREATE (r:Ring {ringId: ring.ring_id, runId: $runId})
SET r.algorithm = $algorithm,
    r.seed = $seed,
    r.score = ring.score,
    r.size = ring.size,
    r.explanation = ring.explanation,
    r.evidence = ring.evidence,
    r.createdFrom = datetime(ring.created_from),
    r.createdTo = datetime(ring.created_to),
    r.writtenAt = datetime();

// name: link_ring_members
UNWIND $members AS member
MATCH (a:Account {accountId: member.account_id})
MATCH (r:Ring {runId: $runId, ringId: member.ring_id})
MERGE (a)-[m:MEMBER_OF]->(r)
SET m.score = member.score, a:Suspect;

// name: create_clusters
UNWIND $clusters AS cluster
CREATE (c:Cluster {clusterId: cluster.cluster_id, runId: $runId})
SET c.flagged = false,
    c.reason = cluster.reason,
    c.score = cluster.score,
    c.size = cluster.size,
    c.algorithm = $algorithm,
    c.writtenAt = datetime()
WITH c, cluster
UNWIND cluster.account_ids AS accountId
MATCH (a:Account {accountId: accountId})
MERGE (a)-[:IN_CLUSTER]->(c);

// name: clear_unjustified_suspects
MATCH (a:Suspect)
WHERE NOT (a)-[:MEMBER_OF]->(:Ring)
REMOVE a:Suspect;

// The run itself, and the rings over time (graphsleuth.investigation): each run is a (:Run)
// that FOLLOWS the run before it; its rings are FOUND_IN it, carry their first and last
// times, lineage and verdict, and point back at the previous run's rings they come from.

// name: merge_run
MERGE (run:Run {runId: $runId})
SET run.asOf = CASE WHEN $asOf IS NULL THEN null ELSE datetime($asOf) END,
    run.algorithm = $algorithm,
    run.seed = $seed,
    run.evidence = $evidence,
    run.previousRunId = $previousRunId,
    run.dismissedHeld = $dismissedHeld,
    run.successors = $successors,
    run.writtenAt = datetime()
WITH run
OPTIONAL MATCH (before:Run {runId: $previousRunId})
WHERE before <> run
FOREACH (_ IN CASE WHEN before IS NULL THEN [] ELSE [1] END | MERGE (run)-[:FOLLOWS]->(before));

// name: link_rings_to_run
UNWIND $rings AS ring
MATCH (r:Ring {runId: $runId, ringId: ring.ring_id})
MATCH (run:Run {runId: $runId})
MERGE (r)-[:FOUND_IN]->(run)
SET r.firstSeen = CASE WHEN ring.first_seen IS NULL THEN null ELSE datetime(ring.first_seen) END,
    r.lastSeen = CASE WHEN ring.last_seen IS NULL THEN null ELSE datetime(ring.last_seen) END,
    r.lineage = ring.change,
    r.lineageRings = ring.rings,
    r.added = ring.added,
    r.removed = ring.removed,
    r.successors = ring.successors,
    r.verdict = ring.verdict,
    r.verdictAt = CASE WHEN ring.verdict_at IS NULL THEN null ELSE datetime(ring.verdict_at) END,
    r.verdictBy = ring.verdict_by,
    r.verdictNote = ring.verdict_note
WITH r, ring
OPTIONAL MATCH (before:Ring {runId: $previousRunId, ringId: ring.ring_id})
WHERE $previousRunId <> $runId
FOREACH (_ IN CASE WHEN before IS NULL THEN [] ELSE [1] END | MERGE (r)-[:CONTINUES]->(before))
WITH r, ring
UNWIND CASE WHEN ring.change = 'split_from' THEN ring.rings ELSE [] END AS parent
MATCH (p:Ring {runId: $previousRunId, ringId: parent})
WHERE $previousRunId <> $runId
MERGE (r)-[:SPLIT_FROM]->(p);

// name: link_merged_rings
UNWIND $merges AS merge
MATCH (p:Ring {runId: $previousRunId, ringId: merge.from})
MATCH (r:Ring {runId: $runId, ringId: merge.into})
WHERE $previousRunId <> $runId
MERGE (p)-[:MERGED_INTO]->(r);

// Verdicts given in the Browser (investigate.cypher's set_verdict), for the next run to carry.
// name: read_verdicts
MATCH (r:Ring)
WHERE r.verdict IS NOT NULL AND r.verdictAt IS NOT NULL
OPTIONAL MATCH (a:Account)-[:MEMBER_OF]->(r)
WITH r, collect(a.accountId) AS members
OPTIONAL MATCH (r)-[:FOUND_IN]->(run:Run)
RETURN r.ringId AS ring_id, r.verdict AS verdict, toString(r.verdictAt) AS at, r.verdictBy AS by,
       r.verdictNote AS note, r.runId AS run_id, toString(run.asOf) AS as_of, r.size AS size,
       r.score AS score, members
ORDER BY at, ring_id;
