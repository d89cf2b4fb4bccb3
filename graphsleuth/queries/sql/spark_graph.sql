-- The evidence graph on Spark (graphsleuth.spark.graph): pairs, degrees, the links to project and the
-- summed edges. The rules (weights, hubs, cliques and circulants) are detection's Python functions,
-- run by the engine on the executors; these statements do the counting that grows with the data.
-- Values come as Spark SQL named parameters (:seed, :buckets); table names are the engine's views.

-- name: pairs
-- Distinct (kind, value, account) pairs with the first table row that gives each (the embedded
-- build numbers values in the order they first appear), keyed by a 64-bit hash of (kind, value).
SELECT xxhash64(kind, value) AS key, kind, value, account, min(row) AS first_row
FROM gs_raw_pairs
GROUP BY kind, value, account;

-- name: nodes
-- One row per piece of evidence: how many accounts share it and where it first appears. Grouped
-- by the value as well as its key, so that two values with one hash show as a duplicate key.
SELECT key, kind, value, count(*) AS degree, min(first_row) AS first_row
FROM gs_pairs
GROUP BY key, kind, value;

-- name: shared_pairs
-- Every (account, evidence) pair of evidence that two or more accounts share, hubs included. Joined on
-- the key alone: the driver has checked that no two values share one (only the key is shuffled).
SELECT p.account, p.key, p.first_row
FROM gs_pairs p JOIN (SELECT key FROM gs_nodes WHERE degree >= 2) n ON n.key = p.key;

-- name: projected_links
-- The links the projection uses, each with its evidence's weight and circulant cap, a seeded order within its piece of
-- evidence (40 bits of a hash of seed, evidence and account, as a share in [0, 1)), and its bucket.
SELECT p.key, p.account, n.weight, n.cap,
       CAST(xxhash64(:seed, p.key, p.account) & 1099511627775 AS DOUBLE) / 1099511627776.0 AS shuffle,
       pmod(p.key, :buckets) AS bucket
FROM gs_pairs p JOIN (SELECT key, weight, cap FROM gs_nodes WHERE useful) n ON n.key = p.key;

-- name: edges
-- One edge per pair of linked accounts, its weight the sum of what each shared piece of evidence gives.
SELECT src, dst, sum(weight) AS weight
FROM gs_projected
GROUP BY src, dst;
