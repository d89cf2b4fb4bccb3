-- Request logs on Spark (graphsleuth.spark.ingest): the statements whose DuckDB form the shared
-- files cannot lend to Spark (column lists by lambda, UNPIVOT ON COLUMNS, hash of a row). The
-- tables themselves (accounts, ips, links, prompts, lockstep, payments) come from the shared
-- statements of accounts.sql, ips.sql, links.sql, prompts.sql, lockstep.sql and payments.sql,
-- run on Spark as they are run on DuckDB. {links} is the list of link columns the logs have, as
-- graphsleuth's code names them (never a name from the input).

-- name: requests
-- Every request in one shape (the columns of requests.sql's `requests`): ok, the account hash
-- ah, whole hours since the epoch, the template as logged and its key. {extra}: columns the
-- locating of a bad row carries through (its partition and place in the read).
CREATE OR REPLACE TEMP VIEW requests AS
WITH typed AS (
    SELECT try_cast(ts AS TIMESTAMP) AS ts,
           CAST(account_id AS STRING) AS account_id,
           CAST(ip AS STRING) AS ip,
           try_cast(tokens_in AS BIGINT) AS tokens_in,
           try_cast(tokens_out AS BIGINT) AS tokens_out,
           (tokens_in IS NULL OR try_cast(tokens_in AS BIGINT) >= 0)
               AND (tokens_out IS NULL OR try_cast(tokens_out AS BIGINT) >= 0) AS tokens_ok,
           nullif(CAST(coalesce(template_id, prompt_hash) AS STRING), '') AS tid
           {links} {extra}
    FROM logs_src
)
SELECT *, coalesce(ts IS NOT NULL AND account_id <> '' AND ip <> '' AND tokens_ok, false) AS ok,
       xxhash64(account_id) AS ah,
       CAST(floor(unix_seconds(ts) / 3600) AS INT) AS hour,
       xxhash64(tid) AS tkey
FROM typed;

-- name: seen_all
-- One pass over the log: per (account, IP, ok, link values) the requests and first/last times (accounts.sql's
-- seen_all, grouped by the values themselves rather than a hash of them); the requests that are not ok are
-- counted here too.
CREATE OR REPLACE TEMP VIEW seen_all AS
SELECT account_id, ip, ok, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts,
       CAST(sum(tokens_in) AS BIGINT) AS tokens_in, CAST(sum(tokens_out) AS BIGINT) AS tokens_out {links}
FROM requests
GROUP BY account_id, ip, ok {links};

-- name: totals
SELECT CAST(coalesce(sum(n), 0) AS BIGINT) AS requests, CAST(coalesce(sum(CASE WHEN ok THEN 0 ELSE n END), 0) AS BIGINT) AS bad
FROM seen_all;

-- name: seen
CREATE OR REPLACE TEMP VIEW seen AS
SELECT account_id, ip, n, first_ts, last_ts, tokens_in, tokens_out {links} FROM seen_all WHERE ok;

-- name: values_check
-- Distinct account ids that are blank or too long, and distinct IPs that are not dotted-quad IPv4 (checked as IPv6 on the driver).
SELECT 'account_id' AS kind, account_id AS value FROM seen WHERE trim(account_id) = '' OR length(account_id) > :max_id
UNION ALL
SELECT DISTINCT 'ip' AS kind, ip AS value FROM seen
WHERE NOT ip RLIKE '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$';

-- name: account_dict
CREATE OR REPLACE TEMP VIEW account_dict AS
SELECT DISTINCT xxhash64(account_id) AS ah, account_id FROM seen;

-- name: account_hash_collisions
SELECT count(*) - count(DISTINCT ah) FROM account_dict;

-- name: link_rows
-- (account, kind, value, requests) for each link column the logs have (links.sql's link_rows).
CREATE OR REPLACE TEMP VIEW link_rows AS
SELECT account_id, n, kind, value
FROM (SELECT account_id, n {links} FROM seen)
UNPIVOT (value FOR kind IN ({link_list}));
