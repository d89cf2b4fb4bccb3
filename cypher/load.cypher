// Writes of the evidence graph (graphsleuth.store.load). Nodes of every kind go
// first, then relationships between nodes found through the uniqueness
// constraints. Each kind has two bodies, written for one `row`:
//   merge_<kind>   MERGE, so loading the same evidence twice creates nothing new;
//   create_<kind>  CREATE, used only when the database holds nothing of that label
//                  or type yet (graphsleuth deduplicates the rows; constraints guard keys).
// A body runs inside one of the two wrappers below, in place of the {{body}} line.
// Times arrive as ISO-8601 text (or null) and are stored as DATETIME; counts may
// arrive as text (LOAD CSV), hence toInteger().

// Rows sent as a parameter list, one batch per transaction.
// name: unwind_rows
UNWIND $rows AS row
{{body}}

// Rows read by the server from a CSV file in its import folder (local server only),
// committed every $batch rows.
// name: csv_rows
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
{{body}}
} IN TRANSACTIONS OF $batch ROWS

// Which kinds the database holds nothing of yet (counts come from the count store).
// name: kind_counts
RETURN COUNT { (:Account) } AS Account,
       COUNT { (:PaymentMethod) } AS PaymentMethod,
       COUNT { (:Bin) } AS Bin,
       COUNT { (:IpAddress) } AS IpAddress,
       COUNT { (:Subnet) } AS Subnet,
       COUNT { (:PromptTemplate) } AS PromptTemplate,
       COUNT { (:Link) } AS Link,
       COUNT { ()-[:ISSUED_UNDER]->() } AS ISSUED_UNDER,
       COUNT { ()-[:PAID_WITH]->() } AS PAID_WITH,
       COUNT { ()-[:IN_SUBNET]->() } AS IN_SUBNET,
       COUNT { ()-[:CONNECTED_FROM]->() } AS CONNECTED_FROM,
       COUNT { ()-[:SENT]->() } AS SENT,
       COUNT { ()-[:LINKED_TO]->() } AS LINKED_TO;

// ---- nodes ----

// name: merge_accounts
MERGE (a:Account {accountId: row.account_id})
SET a.createdAt = datetime(row.created_at),
    a.email = row.email,
    a.country = row.country,
    a.extras = row.extras;

// name: create_accounts
CREATE (:Account {accountId: row.account_id, createdAt: datetime(row.created_at),
                  email: row.email, country: row.country, extras: row.extras});

// name: merge_payment_methods
MERGE (p:PaymentMethod {paymentId: row.payment_id})
SET p.kind = coalesce(row.kind, p.kind);

// name: create_payment_methods
CREATE (:PaymentMethod {paymentId: row.payment_id, kind: row.kind});

// name: merge_bins
MERGE (:Bin {bin: row.bin});

// name: create_bins
CREATE (:Bin {bin: row.bin});

// name: merge_ip_addresses
MERGE (:IpAddress {ip: row.ip});

// name: create_ip_addresses
CREATE (:IpAddress {ip: row.ip});

// name: merge_subnets
MERGE (:Subnet {cidr: row.cidr});

// name: create_subnets
CREATE (:Subnet {cidr: row.cidr});

// name: merge_prompt_templates
MERGE (t:PromptTemplate {templateId: row.template_id})
SET t.text = coalesce(row.text, t.text);

// name: create_prompt_templates
CREATE (:PromptTemplate {templateId: row.template_id, text: row.text});

// $label is the link kind's label, chosen and checked by graphsleuth (never raw input).
// name: merge_links
MERGE (l:Link {kind: row.kind, value: row.value})
SET l:$($label);

// name: create_links
CREATE (l:Link {kind: row.kind, value: row.value})
SET l:$($label);

// ---- relationships ----

// name: merge_issued_under
MATCH (p:PaymentMethod {paymentId: row.payment_id})
MATCH (b:Bin {bin: row.bin})
MERGE (p)-[:ISSUED_UNDER]->(b);

// name: create_issued_under
MATCH (p:PaymentMethod {paymentId: row.payment_id})
MATCH (b:Bin {bin: row.bin})
CREATE (p)-[:ISSUED_UNDER]->(b);

// name: merge_paid_with
MATCH (a:Account {accountId: row.account_id})
MATCH (p:PaymentMethod {paymentId: row.payment_id})
MERGE (a)-[:PAID_WITH]->(p);

// name: create_paid_with
MATCH (a:Account {accountId: row.account_id})
MATCH (p:PaymentMethod {paymentId: row.payment_id})
CREATE (a)-[:PAID_WITH]->(p);

// name: merge_in_subnet
MATCH (i:IpAddress {ip: row.ip})
MATCH (s:Subnet {cidr: row.cidr})
MERGE (i)-[:IN_SUBNET]->(s);

// name: create_in_subnet
MATCH (i:IpAddress {ip: row.ip})
MATCH (s:Subnet {cidr: row.cidr})
CREATE (i)-[:IN_SUBNET]->(s);

// name: merge_connected_from
MATCH (a:Account {accountId: row.account_id})
MATCH (i:IpAddress {ip: row.ip})
MERGE (a)-[c:CONNECTED_FROM]->(i)
SET c.requests = toInteger(row.requests),
    c.firstSeen = datetime(row.first_seen),
    c.lastSeen = datetime(row.last_seen);

// name: create_connected_from
MATCH (a:Account {accountId: row.account_id})
MATCH (i:IpAddress {ip: row.ip})
CREATE (a)-[:CONNECTED_FROM {requests: toInteger(row.requests), firstSeen: datetime(row.first_seen),
                             lastSeen: datetime(row.last_seen)}]->(i);

// name: merge_sent
MATCH (a:Account {accountId: row.account_id})
MATCH (t:PromptTemplate {templateId: row.template_id})
MERGE (a)-[s:SENT]->(t)
SET s.count = toInteger(row.count),
    s.firstTs = datetime(row.first_ts),
    s.lastTs = datetime(row.last_ts);

// name: create_sent
MATCH (a:Account {accountId: row.account_id})
MATCH (t:PromptTemplate {templateId: row.template_id})
CREATE (a)-[:SENT {count: toInteger(row.count), firstTs: datetime(row.first_ts),
                   lastTs: datetime(row.last_ts)}]->(t);

// name: merge_linked_to
MATCH (a:Account {accountId: row.account_id})
MATCH (l:Link {kind: row.kind, value: row.value})
MERGE (a)-[:LINKED_TO]->(l);

// name: create_linked_to
MATCH (a:Account {accountId: row.account_id})
MATCH (l:Link {kind: row.kind, value: row.value})
CREATE (a)-[:LINKED_TO]->(l);

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

// Deletes every node and relationship (tests and `load --replace` style fresh starts),
// 10,000 nodes per transaction so that a big graph does not need one huge transaction.
// name: clear_graph
MATCH (n)
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF 10000 ROWS;
