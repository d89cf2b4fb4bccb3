-- links: (account, kind, value) for every value of each link column (user_agent, api_key_id,
-- device and the declared ones), with its requests; the kind is the column's name. Columns
-- of the side accounts table named as links (phone...) add theirs, without requests.

-- name: links
WITH per_account AS (
    SELECT account_id, n, unnest(links) FROM seen
), long AS (
    UNPIVOT per_account ON COLUMNS(* EXCLUDE (account_id, n)) INTO NAME kind VALUE value
)
SELECT account_id, kind, value, CAST(sum(n) AS BIGINT) AS requests
FROM long
WHERE trim(value) <> ''
GROUP BY ALL;

-- name: links_with_side
WITH per_account AS (
    SELECT account_id, n, unnest(links) FROM seen
), long AS (
    UNPIVOT per_account ON COLUMNS(* EXCLUDE (account_id, n)) INTO NAME kind VALUE value
), side AS (
    SELECT account_id, COLUMNS(lambda c: list_contains(getvariable('side_link_columns'), c))::VARCHAR FROM side_accounts
), side_long AS (
    UNPIVOT side ON COLUMNS(* EXCLUDE (account_id)) INTO NAME kind VALUE value
)
SELECT account_id, kind, value, CAST(sum(n) AS BIGINT) AS requests FROM long WHERE trim(value) <> '' GROUP BY ALL
UNION ALL
SELECT DISTINCT account_id, kind, value, NULL AS requests FROM side_long WHERE trim(value) <> '';
