// Constraints and indexes of the evidence graph; `graphsleuth load` runs every
// statement here, in order, before writing anything. All are IF NOT EXISTS, so
// running them again changes nothing.

// name: account_id
CREATE CONSTRAINT account_id IF NOT EXISTS FOR (a:Account) REQUIRE a.accountId IS UNIQUE;

// name: payment_method_id
CREATE CONSTRAINT payment_method_id IF NOT EXISTS FOR (p:PaymentMethod) REQUIRE p.paymentId IS UNIQUE;

// name: bin_value
CREATE CONSTRAINT bin_value IF NOT EXISTS FOR (b:Bin) REQUIRE b.bin IS UNIQUE;

// name: ip_address
CREATE CONSTRAINT ip_address IF NOT EXISTS FOR (i:IpAddress) REQUIRE i.ip IS UNIQUE;

// name: subnet_cidr
CREATE CONSTRAINT subnet_cidr IF NOT EXISTS FOR (s:Subnet) REQUIRE s.cidr IS UNIQUE;

// name: prompt_template_id
CREATE CONSTRAINT prompt_template_id IF NOT EXISTS FOR (t:PromptTemplate) REQUIRE t.templateId IS UNIQUE;

// Every link node (a device, a phone, ...) also carries the label Link with its kind.
// name: link_kind_value
CREATE CONSTRAINT link_kind_value IF NOT EXISTS FOR (l:Link) REQUIRE (l.kind, l.value) IS UNIQUE;

// name: ring_run_id
CREATE CONSTRAINT ring_run_id IF NOT EXISTS FOR (r:Ring) REQUIRE (r.runId, r.ringId) IS UNIQUE;

// name: cluster_run_id
CREATE CONSTRAINT cluster_run_id IF NOT EXISTS FOR (c:Cluster) REQUIRE (c.runId, c.clusterId) IS UNIQUE;

// name: ring_by_id
CREATE INDEX ring_by_id IF NOT EXISTS FOR (r:Ring) ON (r.ringId);

// name: ring_by_run
CREATE INDEX ring_by_run IF NOT EXISTS FOR (r:Ring) ON (r.runId);

// name: ring_by_score
CREATE INDEX ring_by_score IF NOT EXISTS FOR (r:Ring) ON (r.score);

// name: cluster_by_run
CREATE INDEX cluster_by_run IF NOT EXISTS FOR (c:Cluster) ON (c.runId);

// name: account_by_created
CREATE INDEX account_by_created IF NOT EXISTS FOR (a:Account) ON (a.createdAt);

// Wait until the indexes above are online, so loads that follow use them.
// name: await_indexes
CALL db.awaitIndexes(300);
