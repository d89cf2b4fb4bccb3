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
