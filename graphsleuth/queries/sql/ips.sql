-- ips: one row per (account, IP) with the first and last request from it and how many.
-- IPv6 addresses are written in canonical form (ip_map, from the driver: only the distinct
-- values that are not dotted-quad IPv4), so two spellings of one address are summed.

-- name: ipv4
-- A dotted-quad IPv4 address (the same rule as the evidence reader's).
CREATE OR REPLACE TEMP MACRO gs_is_ipv4(s) AS
    regexp_full_match(s, '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}');

-- name: values_check
-- Distinct values whose form is wrong, from the per-account rows of the pass (small): account
-- ids that are blank or too long, and IPs that are not IPv4 (the driver checks those for IPv6).
SELECT (SELECT list(DISTINCT account_id) FROM seen_all
         WHERE ok AND (trim(account_id) = '' OR length(account_id) > $max_id)) AS bad_accounts,
       (SELECT list(DISTINCT ip) FROM seen_all WHERE ok AND NOT gs_is_ipv4(ip)) AS other_ips;

-- name: ips
SELECT s.account_id, coalesce(m.canonical, s.ip) AS ip,
       min(s.first_ts) AS first_seen, max(s.last_ts) AS last_seen, CAST(sum(s.n) AS BIGINT) AS requests
FROM seen s LEFT JOIN ip_map m ON m.ip = s.ip
GROUP BY ALL;
