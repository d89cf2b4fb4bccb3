-- links: (account, kind, value) for every value of each link column (user_agent, api_key_id,
-- device and the declared ones), with its requests; the kind is the column's name. Columns
-- of the side accounts table named as links (phone...) add theirs, without requests.

-- name: link_rows
CREATE OR REPLACE TEMP VIEW link_rows AS
WITH per_account AS (
    SELECT account_id, n, COLUMNS(lambda c: list_contains(getvariable('link_columns'), c)) FROM seen
)
UNPIVOT per_account ON COLUMNS(* EXCLUDE (account_id, n)) INTO NAME kind VALUE value;

-- name: links
SELECT account_id, kind, value, CAST(sum(n) AS BIGINT) AS requests
FROM link_rows
WHERE trim(value) <> ''
GROUP BY ALL;

-- name: links_with_side
WITH side AS (
    SELECT account_id, COLUMNS(lambda c: list_contains(getvariable('side_link_columns'), c))::VARCHAR FROM side_accounts
), side_long AS (
    UNPIVOT side ON COLUMNS(* EXCLUDE (account_id)) INTO NAME kind VALUE value
)
SELECT account_id, kind, value, CAST(sum(n) AS BIGINT) AS requests FROM link_rows WHERE trim(value) <> '' GROUP BY ALL
UNION ALL
SELECT DISTINCT account_id, kind, value, NULL AS requests FROM side_long WHERE trim(value) <> '';
