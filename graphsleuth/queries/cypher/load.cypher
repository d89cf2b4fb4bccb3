// Writes of the evidence graph (graphsleuth.store.load). Nodes of every kind go
// first, then relationships between nodes found by their ids, in two sessions that never
// lock the same node (graphsleuth.store._write_steps): payment method to BIN and IP to
// subnet as soon as their nodes are written, beside the node steps still to come, then the
// relationships that start at an account. Every write is a MERGE,
// written for one `row`:
//   * loading the same evidence twice creates nothing new;
//   * two loads of the same evidence running at once converge on one graph: a node's
//     MERGE is guarded by its uniqueness constraint, and a relationship's MERGE between
//     two bound nodes locks both nodes before it creates (Neo4j's LockingMerge), so the
//     second writer finds the first one's relationship instead of adding another.
// A node body returns its node's id() as `node`. The load keeps those ids by key and
// sends a relationship's two ends as ids (`row.start`, `row.end`): a lookup by id reads
// one record, where a lookup by key searches an index (the relationship steps of a
// 100k-account load took 20 s instead of 29 s). elementId() would do the same through
// a 45-character text per end; id() is deprecated in Cypher 5 but still supported, and
// the ids are used only within the load that read them.
// A body runs inside one of the wrappers below, in place of the {{body}} line.
// Times arrive as ISO-8601 text (or null) and are stored as DATETIME; counts and ids
// may arrive as text (LOAD CSV), hence toInteger().

// Rows sent as a parameter list, one batch per transaction.
// name: unwind_rows
UNWIND $rows AS row
{{body}}

// The same for a node body: each row's position and its node's id, as two lists.
// name: unwind_nodes
UNWIND range(0, size($rows) - 1) AS line
WITH line, $rows[line] AS row
CALL (row) {
{{body}}
}
RETURN collect(line) AS lines, collect(node) AS nodes

// Rows read by the server from a CSV file in its import folder (local server only),
// committed every $batch rows. A batch that fails is rolled back and the others go on:
// the statement returns the line numbers of the rolled-back rows and the first errors,
// and graphsleuth writes those rows again, alone, with csv_rows_again. A deadlock between
// the two sessions of the relationship phase (two relationships that share a third in
// their chains) otherwise failed the whole step, and running it again cost up to the
// step's own time. (`= false`, not `NOT status.committed`: Neo4j 2026.08 refuses the
// latter as a type mismatch.)
// name: csv_rows
LOAD CSV WITH HEADERS FROM $url AS row
WITH row, linenumber() AS line
CALL (row) {
{{body}}
} IN TRANSACTIONS OF $batch ROWS ON ERROR CONTINUE REPORT STATUS AS status
WITH line, status
WHERE status.committed = false
RETURN collect(line) AS failed, collect(DISTINCT status.errorMessage)[..3] AS errors

// The rolled-back rows of a csv_rows step, written again; a failure here fails the step.
// name: csv_rows_again
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
{{body}}
} IN TRANSACTIONS OF $batch ROWS

// The same for a node body: each row's line number in the file and its node's id.
// Two batches run at once: the rows of a node step name distinct nodes, so they share
// no locks (a 1M-account load wrote its nodes in 88 s instead of 104 s). Relationship
// steps run one batch at a time: two batches deadlock on a popular template, and with rows
// ordered so that they do not, they queue on its lock (SENT at 100k: 7.35 s against 6.71 s).
// name: csv_nodes
LOAD CSV WITH HEADERS FROM $url AS row
WITH row, linenumber() AS line
CALL (row) {
{{body}}
} IN 2 CONCURRENT TRANSACTIONS OF $batch ROWS
RETURN collect(line) AS lines, collect(node) AS nodes

// ---- nodes ----

// name: merge_accounts
MERGE (a:Account {accountId: row.account_id})
SET a.createdAt = datetime(row.created_at),
    a.email = row.email,
    a.country = row.country,
    a.extras = row.extras
RETURN id(a) AS node;

// name: merge_payment_methods
MERGE (p:PaymentMethod {paymentId: row.payment_id})
SET p.kind = coalesce(row.kind, p.kind)
RETURN id(p) AS node;

// name: merge_bins
MERGE (b:Bin {bin: row.bin})
RETURN id(b) AS node;

// name: merge_ip_addresses
MERGE (i:IpAddress {ip: row.ip})
RETURN id(i) AS node;

// name: merge_subnets
MERGE (s:Subnet {cidr: row.cidr})
RETURN id(s) AS node;

// name: merge_prompt_templates
MERGE (t:PromptTemplate {templateId: row.template_id})
SET t.text = coalesce(row.text, t.text)
RETURN id(t) AS node;

// $label is the link kind's label, chosen and checked by graphsleuth (never raw input).
// name: merge_links
MERGE (l:Link {kind: row.kind, value: row.value})
SET l:$($label)
RETURN id(l) AS node;

// ---- relationships ----

// name: merge_issued_under
MATCH (p:PaymentMethod) WHERE id(p) = toInteger(row.start)
MATCH (b:Bin) WHERE id(b) = toInteger(row.end)
MERGE (p)-[:ISSUED_UNDER]->(b);

// name: merge_paid_with
MATCH (a:Account) WHERE id(a) = toInteger(row.start)
MATCH (p:PaymentMethod) WHERE id(p) = toInteger(row.end)
MERGE (a)-[:PAID_WITH]->(p);

// name: merge_in_subnet
MATCH (i:IpAddress) WHERE id(i) = toInteger(row.start)
MATCH (s:Subnet) WHERE id(s) = toInteger(row.end)
MERGE (i)-[:IN_SUBNET]->(s);

// name: merge_connected_from
MATCH (a:Account) WHERE id(a) = toInteger(row.start)
MATCH (i:IpAddress) WHERE id(i) = toInteger(row.end)
MERGE (a)-[c:CONNECTED_FROM]->(i)
SET c.requests = toInteger(row.requests),
    c.firstSeen = datetime(row.first_seen),
    c.lastSeen = datetime(row.last_seen);

// name: merge_sent
MATCH (a:Account) WHERE id(a) = toInteger(row.start)
MATCH (t:PromptTemplate) WHERE id(t) = toInteger(row.end)
MERGE (a)-[s:SENT]->(t)
SET s.count = toInteger(row.count),
    s.firstTs = datetime(row.first_ts),
    s.lastTs = datetime(row.last_ts);

// name: merge_linked_to
MATCH (a:Account) WHERE id(a) = toInteger(row.start)
MATCH (l:Link) WHERE id(l) = toInteger(row.end)
MERGE (a)-[:LINKED_TO]->(l);

// ---- relationships through graphsleuth's procedure ----

// Where the server has graphsleuth.mergeRelationships (the local server builds it from
// neo4j/plugin/, see graphsleuth.plugin), a relationship step is one call per batch in
// place of the MERGE bodies above, with the same result: the procedure locks both
// nodes, finds or creates the relationship and sets its properties, per row, in Java
// (a 300k-account load used 23% less server CPU). Each column of the step's rows
// arrives as one list parameter named after the column: $start and $end hold the node
// ids, the others one value per row, times as ISO-8601 text. The maps name the
// properties set, as the SET clauses above do. The driver's counters do not see what a
// procedure writes, so the call returns its own.

// name: has_procedures
SHOW PROCEDURES YIELD name
WHERE name IN $names
RETURN count(*) AS found;

// name: call_issued_under
CALL graphsleuth.mergeRelationships('ISSUED_UNDER', 'PaymentMethod', 'Bin', $start, $end, {}, {})
YIELD rows, created, properties, missing
RETURN rows, created, properties, missing;

// name: call_paid_with
CALL graphsleuth.mergeRelationships('PAID_WITH', 'Account', 'PaymentMethod', $start, $end, {}, {})
YIELD rows, created, properties, missing
RETURN rows, created, properties, missing;

// name: call_in_subnet
CALL graphsleuth.mergeRelationships('IN_SUBNET', 'IpAddress', 'Subnet', $start, $end, {}, {})
YIELD rows, created, properties, missing
RETURN rows, created, properties, missing;

// name: call_connected_from
CALL graphsleuth.mergeRelationships('CONNECTED_FROM', 'Account', 'IpAddress', $start, $end,
    {requests: $requests}, {firstSeen: $first_seen, lastSeen: $last_seen})
YIELD rows, created, properties, missing
RETURN rows, created, properties, missing;

// name: call_sent
CALL graphsleuth.mergeRelationships('SENT', 'Account', 'PromptTemplate', $start, $end,
    {count: $count}, {firstTs: $first_ts, lastTs: $last_ts})
YIELD rows, created, properties, missing
RETURN rows, created, properties, missing;

// name: call_linked_to
CALL graphsleuth.mergeRelationships('LINKED_TO', 'Account', 'Link', $start, $end, {}, {})
YIELD rows, created, properties, missing
RETURN rows, created, properties, missing;

// ---- stopping a load ----

// Ends the statements of one load still running on the server (one of its sessions failed,
// or Ctrl-C), found by the transaction metadata every statement of the load carries.
// name: terminate_load
SHOW TRANSACTIONS YIELD transactionId AS running, metaData
WHERE metaData.graphsleuth_load = $load
TERMINATE TRANSACTIONS running
YIELD transactionId, message
RETURN transactionId, message;

// ---- reading the evidence back (graphsleuth.store.read_evidence_from_neo4j) ----

// name: read_accounts
MATCH (a:Account)
RETURN a.accountId AS account_id, toString(a.createdAt) AS created_at,
       a.email AS email, a.country AS country, a.extras AS extras
ORDER BY account_id;

// name: read_payments
MATCH (a:Account)-[:PAID_WITH]->(p:PaymentMethod)
OPTIONAL MATCH (p)-[:ISSUED_UNDER]->(b:Bin)
RETURN a.accountId AS account_id, p.paymentId AS payment_id, p.kind AS kind, b.bin AS bin
ORDER BY account_id, payment_id;

// name: read_ips
MATCH (a:Account)-[c:CONNECTED_FROM]->(i:IpAddress)
RETURN a.accountId AS account_id, i.ip AS ip, toString(c.firstSeen) AS first_seen,
       toString(c.lastSeen) AS last_seen, c.requests AS requests
ORDER BY account_id, ip;

// name: read_prompts
MATCH (a:Account)-[s:SENT]->(t:PromptTemplate)
RETURN a.accountId AS account_id, t.templateId AS template_id,
       toString(s.firstTs) AS ts, toString(s.lastTs) AS last_ts, s.count AS count
ORDER BY account_id, template_id;

// name: read_links
MATCH (a:Account)-[:LINKED_TO]->(l:Link)
RETURN a.accountId AS account_id, l.kind AS kind, l.value AS value
ORDER BY account_id, kind, value;

// name: count_nodes
MATCH (n)
UNWIND labels(n) AS label
RETURN label AS name, count(*) AS n;

// name: count_relationships
MATCH ()-[r]->()
RETURN type(r) AS name, count(*) AS n;

// Deletes every relationship, 10,000 per transaction, before clear_graph deletes the
// nodes: a batch of nodes that includes a popular template or BIN would otherwise
// detach hundreds of thousands of relationships in one transaction and exceed the
// server's transaction memory pool.
// name: clear_relationships
MATCH ()-[r]->()
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF 10000 ROWS;

// Deletes every node (tests and fresh starts), 10,000 per transaction.
// name: clear_graph
MATCH (n)
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF 10000 ROWS;
