// Queries for investigators. Each is named (graphsleuth.store.investigate(name, ...)
// runs it) and takes parameters, never pasted values. In the Neo4j Browser set them
// first, for example:
//   :param limit => 25
//   :param ringId => COLLECT { MATCH (r:Ring) RETURN r.ringId ORDER BY r.score DESC LIMIT 1 }[0]
// A ring id names the ring of the most recent run that has one by that id.

// Rings, best first, with a few of their accounts.
// name: rings_by_score
MATCH (r:Ring)
WITH r ORDER BY r.score DESC, r.ringId LIMIT $limit
OPTIONAL MATCH (a:Account)-[:MEMBER_OF]->(r)
WITH r, a ORDER BY a.accountId
RETURN r.ringId AS ring, r.score AS score, r.size AS size, r.runId AS run,
       r.explanation AS explanation, collect(a.accountId)[..10] AS accounts
ORDER BY score DESC, ring;

// One ring with all its evidence: its members and every card, BIN, IP, subnet,
// template or link that at least two of them share. Returns paths (a graph in the Browser).
// name: ring_evidence
MATCH (r:Ring {ringId: $ringId})
WITH r ORDER BY r.writtenAt DESC LIMIT 1
MATCH membership = (a:Account)-[:MEMBER_OF]->(r)
OPTIONAL MATCH direct = (a)-[:PAID_WITH|CONNECTED_FROM|SENT|LINKED_TO]->(e)
WHERE COUNT { (e)<-[:PAID_WITH|CONNECTED_FROM|SENT|LINKED_TO]-(:Account)-[:MEMBER_OF]->(r) } > 1
OPTIONAL MATCH indirect = (a)-[:PAID_WITH|CONNECTED_FROM]->()-[:ISSUED_UNDER|IN_SUBNET]->(g)
WHERE COUNT { (g)<-[:ISSUED_UNDER|IN_SUBNET]-()<-[:PAID_WITH|CONNECTED_FROM]-(:Account)-[:MEMBER_OF]->(r) } > 1
RETURN membership, direct, indirect;

// Accounts outside every ring that share a card, a BIN, a subnet or a prompt template
// with a suspect: the next ones to look at.
// name: accounts_sharing_with_suspects
CALL () {
  MATCH (s:Suspect)-[:PAID_WITH]->(card:PaymentMethod)<-[:PAID_WITH]-(o:Account)
  WHERE NOT o:Suspect
  RETURN o, s, 'card ' + card.paymentId AS shared
  UNION
  MATCH (s:Suspect)-[:PAID_WITH]->(:PaymentMethod)-[:ISSUED_UNDER]->(b:Bin)<-[:ISSUED_UNDER]-(:PaymentMethod)<-[:PAID_WITH]-(o:Account)
  WHERE NOT o:Suspect
  RETURN o, s, 'BIN ' + b.bin AS shared
  UNION
  MATCH (s:Suspect)-[:CONNECTED_FROM]->(:IpAddress)-[:IN_SUBNET]->(n:Subnet)<-[:IN_SUBNET]-(:IpAddress)<-[:CONNECTED_FROM]-(o:Account)
  WHERE NOT o:Suspect
  RETURN o, s, 'subnet ' + n.cidr AS shared
  UNION
  MATCH (s:Suspect)-[:SENT]->(t:PromptTemplate)<-[:SENT]-(o:Account)
  WHERE NOT o:Suspect
  RETURN o, s, 'template ' + t.templateId AS shared
}
WITH o, count(DISTINCT s) AS suspects, collect(DISTINCT shared) AS shared
RETURN o.accountId AS account, suspects, shared[..10] AS shared
ORDER BY suspects DESC, account
LIMIT $limit;

// A ring's timeline: accounts created, first connections from each IP, first
// prompts from each template, in time order.
// name: ring_timeline
MATCH (r:Ring {ringId: $ringId})
WITH r ORDER BY r.writtenAt DESC LIMIT 1
MATCH (a:Account)-[:MEMBER_OF]->(r)
CALL (a) {
  RETURN a.createdAt AS at, 'account created' AS event, a.email AS detail
  UNION
  MATCH (a)-[c:CONNECTED_FROM]->(i:IpAddress)
  RETURN c.firstSeen AS at, 'first seen from IP' AS event, i.ip AS detail
  UNION
  MATCH (a)-[s:SENT]->(t:PromptTemplate)
  RETURN s.firstTs AS at, 'first prompt from template' AS event, t.templateId AS detail
}
WITH a, at, event, detail WHERE at IS NOT NULL
RETURN at, a.accountId AS account, event, detail
ORDER BY at, account, event, detail;

// Clusters that detection looked at but did not flag, with the reason why.
// name: clusters_not_flagged
MATCH (c:Cluster {flagged: false})
WITH c ORDER BY c.score DESC, c.clusterId LIMIT $limit
OPTIONAL MATCH (a:Account)-[:IN_CLUSTER]->(c)
WITH c, a ORDER BY a.accountId
RETURN c.clusterId AS cluster, c.runId AS run, c.size AS size, c.score AS score,
       c.reason AS reason, collect(a.accountId)[..10] AS accounts
ORDER BY score DESC, cluster;

// What changed since the run before the latest: new rings, rings gone or merged, rings
// split, grown or shrunk (with the accounts that joined and left), dismissed rings held back.
// name: changes_since_last_run
CALL () {
  MATCH (run:Run)
  WITH run ORDER BY run.asOf DESC, run.writtenAt DESC LIMIT 1
  MATCH (r:Ring)-[:FOUND_IN]->(run)
  RETURN r.ringId AS ring, r.lineage AS change, r.lineageRings AS rings, r.added AS joined,
         r.removed AS left, r.size AS size, r.verdict AS verdict
  UNION
  MATCH (run:Run)
  WITH run ORDER BY run.asOf DESC, run.writtenAt DESC LIMIT 1
  MATCH (run)-[:FOLLOWS]->(:Run)<-[:FOUND_IN]-(old:Ring)
  WHERE NOT EXISTS { (old)<-[:CONTINUES]-(:Ring)-[:FOUND_IN]->(run) }
    AND NOT old.ringId IN coalesce(run.dismissedHeld, [])
  OPTIONAL MATCH (old)-[:MERGED_INTO]->(into:Ring)
  WITH old, collect(into.ringId) AS into
  RETURN old.ringId AS ring, CASE WHEN size(into) = 0 THEN 'gone' ELSE 'merged_into' END AS change,
         into AS rings, 0 AS joined, old.size AS left, old.size AS size, old.verdict AS verdict
  UNION
  MATCH (run:Run)
  WITH run ORDER BY run.asOf DESC, run.writtenAt DESC LIMIT 1
  UNWIND coalesce(run.dismissedHeld, []) AS held
  RETURN held AS ring, 'dismissed_not_flagged' AS change, [] AS rings, 0 AS joined, 0 AS left,
         null AS size, 'dismissed' AS verdict
}
RETURN ring, change, rings, joined, left, size, verdict
ORDER BY CASE change WHEN 'new' THEN 0 WHEN 'gone' THEN 1 WHEN 'merged_into' THEN 2 WHEN 'split_from' THEN 3
         WHEN 'merged_from' THEN 4 WHEN 'grown' THEN 5 WHEN 'shrunk' THEN 6 ELSE 7 END, size DESC, ring;

// An investigator's verdict on the ring $ringId (its latest run's node): $verdict is
// 'confirmed', 'dismissed' or 'banned'; $by and $note say who and why. The next
// `graphsleuth detect --neo4j --previous OUT` reads it and carries it.
// name: set_verdict
MATCH (r:Ring {ringId: $ringId})
WHERE $verdict IN ['confirmed', 'dismissed', 'banned']
WITH r ORDER BY r.writtenAt DESC LIMIT 1
SET r.verdict = $verdict, r.verdictAt = datetime(), r.verdictBy = $by, r.verdictNote = $note
RETURN r.ringId AS ring, r.verdict AS verdict, toString(r.verdictAt) AS at, r.verdictBy AS by, r.verdictNote AS note;
