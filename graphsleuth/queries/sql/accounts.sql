-- accounts: every account seen in the logs, with its first and last request and how many it
-- sent, joined with the side accounts table (created_at, email, country...) when one is given.
-- Also the pass over the log that the accounts, ips and links tables are rolled up from.

-- name: seen_ids
-- One pass over the log: one row per (account, IP, link values, ok) with counts and times
-- (grouped by one 64-bit hash, the strings carried with any_value), and, in the same scan,
-- one row per template key with the template as logged (few groups: a grouping set is
-- cheap here). Rows that are not ok are counted here and located only if there are any.
CREATE OR REPLACE TEMP TABLE seen_all AS
SELECT GROUPING(tkey) = 1 AS per_account, tkey,
       any_value(account_id) AS account_id, any_value(ip) AS ip, any_value(links) AS links, any_value(ok) AS ok,
       count(*) AS n, count(*) FILTER (WHERE ok) AS n_ok, min(ts) AS first_ts, max(ts) AS last_ts,
       CAST(sum(tokens_in) AS BIGINT) AS tokens_in, CAST(sum(tokens_out) AS BIGINT) AS tokens_out,
       any_value(tid) AS tid
FROM requests
GROUP BY GROUPING SETS ((hash(account_id, ip, links, ok)), (tkey));

-- name: seen_texts
-- The same pass for logs of raw prompts: the second grouping set keeps one row per distinct
-- prompt text (by its hash), which is normalised once per text, never once per request.
CREATE OR REPLACE TEMP TABLE seen_all AS
SELECT GROUPING(rh) = 1 AS per_account, rh,
       any_value(account_id) AS account_id, any_value(ip) AS ip, any_value(links) AS links, any_value(ok) AS ok,
       count(*) AS n, count(*) FILTER (WHERE ok) AS n_ok, min(ts) AS first_ts, max(ts) AS last_ts,
       CAST(sum(tokens_in) AS BIGINT) AS tokens_in, CAST(sum(tokens_out) AS BIGINT) AS tokens_out,
       any_value(prompt) AS prompt
FROM requests
GROUP BY GROUPING SETS ((hash(account_id, ip, links, ok)), (rh));

-- name: seen
-- The per-account rows of the pass, without the rows that lenient mode drops for a bad
-- account id or IP (variables drop_accounts, drop_ips: empty unless lenient found some).
CREATE OR REPLACE TEMP VIEW seen AS
SELECT account_id, ip, links, ok, n, first_ts, last_ts, tokens_in, tokens_out
FROM seen_all
WHERE per_account AND ok
  AND NOT list_contains(getvariable('drop_accounts'), account_id)
  AND NOT list_contains(getvariable('drop_ips'), ip);

-- name: totals
-- Requests in all, and those that are not ok (no time, account or IP, or bad token counts).
SELECT CAST(coalesce(sum(n), 0) AS BIGINT) AS requests, CAST(coalesce(sum(n) FILTER (WHERE NOT ok), 0) AS BIGINT) AS bad
FROM seen_all WHERE per_account;

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
