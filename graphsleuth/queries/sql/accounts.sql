-- accounts: every account seen in the logs, with its first and last request and how many it
-- sent, joined with the side accounts table (created_at, email, country...) when one is given.
-- Also the pass over the log that the accounts, ips and links tables are rolled up from.

-- name: seen_all
-- One pass over the log: one row per (account, IP, ok, link values) with counts and times,
-- grouped by one 64-bit hash of them all (the strings carried with any_value). Accounts keep
-- one user agent, key and device for long, so there are about as many groups as (account,
-- IP) pairs. Rows that are not ok are counted here and located only if there are any.
-- (Measured: a grouping set for the templates in this pass made it 10x slower than a pass
-- of its own; min/max of each link column 4x slower than hashing them with the key.)
CREATE OR REPLACE TEMP TABLE seen_all AS
SELECT any_value(account_id) AS account_id, any_value(ip) AS ip, any_value(ok) AS ok,
       count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts,
       CAST(sum(tokens_in) AS BIGINT) AS tokens_in, CAST(sum(tokens_out) AS BIGINT) AS tokens_out,
       any_value(COLUMNS(lambda c: list_contains(getvariable('link_columns'), c)))
FROM requests
GROUP BY hash(account_id, ip, ok, lk);

-- name: seen
-- The per-account rows of the pass, without the rows that lenient mode drops for a bad
-- account id or IP (variables drop_accounts, drop_ips: empty unless lenient found some).
CREATE OR REPLACE TEMP VIEW seen AS
SELECT * EXCLUDE (ok)
FROM seen_all
WHERE ok
  AND NOT list_contains(getvariable('drop_accounts'), account_id)
  AND NOT list_contains(getvariable('drop_ips'), ip);

-- name: totals
-- Requests in all, and those that are not ok (no time, account or IP, or bad token counts).
SELECT CAST(coalesce(sum(n), 0) AS BIGINT) AS requests, CAST(coalesce(sum(n) FILTER (WHERE NOT ok), 0) AS BIGINT) AS bad
FROM seen_all;

-- name: account_dict
-- Account hash -> account id, to name the accounts of the tables grouped by hash. The
-- driver checks that no two accounts share a hash.
CREATE OR REPLACE TEMP TABLE account_dict AS
SELECT hash(account_id) AS ah, account_id FROM (SELECT DISTINCT account_id FROM seen);

-- name: account_hash_collisions
SELECT count(*) - count(DISTINCT ah) FROM account_dict;

-- name: accounts
-- Accounts only in the side table are kept (payments may name them), with 0 requests.
WITH logged AS (
    SELECT account_id, min(first_ts) AS first_seen, max(last_ts) AS last_seen, CAST(sum(n) AS BIGINT) AS requests,
           CAST(sum(tokens_in) AS BIGINT) AS tokens_in, CAST(sum(tokens_out) AS BIGINT) AS tokens_out
    FROM seen
    GROUP BY account_id
)
SELECT coalesce(l.account_id, a.account_id) AS account_id, a.created_at, a.email, a.country,
       l.first_seen, l.last_seen, coalesce(l.requests, 0) AS requests, l.tokens_in, l.tokens_out
FROM logged l FULL OUTER JOIN side_accounts a ON a.account_id = l.account_id;
