-- prompts: one row per (account, template): how many requests (count), the first (ts) and
-- last request, and in how many distinct hours (hours: the template-hours that lockstep
-- shares are counted against). Rolled up from the (account, template, hour) triples, the
-- one pass over the log that every timing table comes from.

-- name: template_names_ids
-- Logs that name their templates: template key -> the template as logged (a cheap pass:
-- one narrow column, few groups).
CREATE OR REPLACE TEMP TABLE template_names AS
SELECT tkey, any_value(tid) AS template_id FROM requests WHERE tid IS NOT NULL GROUP BY tkey;

-- name: template_names_none
-- Logs with no prompt column: no templates (an empty table, so later statements still run).
CREATE OR REPLACE TEMP TABLE template_names AS SELECT NULL::UBIGINT AS tkey, NULL::VARCHAR AS template_id LIMIT 0;

-- name: triples_none
-- ... and no (account, template, hour) triples.
CREATE OR REPLACE TEMP TABLE triples AS
SELECT NULL::UBIGINT AS ah, NULL::UBIGINT AS tkey, NULL::INTEGER AS hour,
       NULL::BIGINT AS n, NULL::TIMESTAMPTZ AS first_ts, NULL::TIMESTAMPTZ AS last_ts
LIMIT 0;

-- name: triples_ids
-- (account hash, template key, hour) with its requests and first/last time: fixed-width keys.
CREATE OR REPLACE TEMP TABLE triples AS
SELECT ah, tkey, hour, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts
FROM requests
WHERE ok AND tid IS NOT NULL
GROUP BY ah, tkey, hour;

-- name: triples_ids_dropping
-- The same without the rows lenient mode drops for a bad account id or IP.
CREATE OR REPLACE TEMP TABLE triples AS
SELECT ah, tkey, hour, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts
FROM requests
WHERE ok AND tid IS NOT NULL
  AND NOT list_contains(getvariable('drop_accounts'), account_id) AND NOT list_contains(getvariable('drop_ips'), ip)
GROUP BY ah, tkey, hour;

-- name: triples_texts
-- Raw prompts: each request's text is mapped to its derived template (text_templates, one
-- row per distinct text) by a hash join on the text's hash.
CREATE OR REPLACE TEMP TABLE triples AS
SELECT r.ah, m.tkey, r.hour, count(*) AS n, min(r.ts) AS first_ts, max(r.ts) AS last_ts
FROM requests r JOIN text_templates m ON m.rh = r.rh
WHERE r.ok AND r.prompt IS NOT NULL
GROUP BY r.ah, m.tkey, r.hour;

-- name: triples_texts_dropping
CREATE OR REPLACE TEMP TABLE triples AS
SELECT r.ah, m.tkey, r.hour, count(*) AS n, min(r.ts) AS first_ts, max(r.ts) AS last_ts
FROM requests r JOIN text_templates m ON m.rh = r.rh
WHERE r.ok AND r.prompt IS NOT NULL
  AND NOT list_contains(getvariable('drop_accounts'), r.account_id) AND NOT list_contains(getvariable('drop_ips'), r.ip)
GROUP BY r.ah, m.tkey, r.hour;

-- name: prompts
WITH p AS (
    SELECT ah, tkey, CAST(sum(n) AS BIGINT) AS count, count(*) AS hours, min(first_ts) AS ts, max(last_ts) AS last_ts
    FROM triples
    GROUP BY ah, tkey
)
SELECT d.account_id, t.template_id, p.ts, p.last_ts, p.count, p.hours
FROM p JOIN account_dict d ON d.ah = p.ah JOIN template_names t ON t.tkey = p.tkey;
