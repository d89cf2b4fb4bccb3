-- Bad requests, located only when the counts found some: file, 1-based row in that file,
-- the first bad column, why, and the value. A second read of the original files.

-- name: located_parquet
CREATE OR REPLACE TEMP VIEW logs_located AS
SELECT * EXCLUDE (filename, file_row_number), filename AS _file, file_row_number + 1 AS _row
FROM read_parquet(getvariable('log_files'), union_by_name = true, hive_partitioning = false,
                  filename = true, file_row_number = true);

-- name: located_csv
-- CSV has no file_row_number: rows are numbered in file order by a streaming window (the
-- driver sets preserve_insertion_order for this read).
CREATE OR REPLACE TEMP VIEW logs_located AS
SELECT * EXCLUDE (filename, _rn), filename AS _file, _rn - min(_rn) OVER (PARTITION BY filename) + 1 AS _row
FROM (SELECT *, row_number() OVER () AS _rn
      FROM read_csv(getvariable('log_files'), header = true, all_varchar = true, delim = ',', quote = '"',
                    escape = '"', skip = 0, strict_mode = true,
                    union_by_name = true, hive_partitioning = false, filename = true));

-- name: located_json
CREATE OR REPLACE TEMP VIEW logs_located AS
SELECT * EXCLUDE (filename, _rn), filename AS _file, _rn - min(_rn) OVER (PARTITION BY filename) + 1 AS _row
FROM (SELECT *, row_number() OVER () AS _rn
      FROM read_json(getvariable('log_files'), format = 'newline_delimited',
                     columns = getvariable('json_columns'), hive_partitioning = false, filename = true));

-- name: locate
-- Variables bad_ips and bad_accounts hold the distinct values found malformed.
WITH src AS (
    SELECT * FROM (SELECT NULL AS tokens_in, NULL AS tokens_out LIMIT 0)
    UNION ALL BY NAME
    SELECT * FROM logs_located
), judged AS (
    SELECT _file, _row,
        CASE WHEN ts IS NULL OR CAST(ts AS VARCHAR) = '' THEN ['ts', 'missing time']
             WHEN TRY_CAST(ts AS TIMESTAMPTZ) IS NULL THEN ['ts', 'expected an ISO-8601 time such as 2026-02-01T12:00:00Z']
             WHEN account_id IS NULL OR trim(CAST(account_id AS VARCHAR)) = '' THEN ['account_id', 'empty value where an identifier is required']
             WHEN list_contains(getvariable('bad_accounts'), CAST(account_id AS VARCHAR)) THEN ['account_id', 'value longer than 2048 characters']
             WHEN ip IS NULL OR CAST(ip AS VARCHAR) = '' THEN ['ip', 'missing IP address']
             WHEN list_contains(getvariable('bad_ips'), CAST(ip AS VARCHAR)) THEN ['ip', 'expected an IPv4 or IPv6 address']
             WHEN tokens_in IS NOT NULL AND coalesce(TRY_CAST(tokens_in AS BIGINT) < 0, true) THEN ['tokens_in', 'expected a whole number >= 0']
             WHEN tokens_out IS NOT NULL AND coalesce(TRY_CAST(tokens_out AS BIGINT) < 0, true) THEN ['tokens_out', 'expected a whole number >= 0']
        END AS problem,
        ts, account_id, ip, tokens_in, tokens_out
    FROM src
)
SELECT _file AS file, _row AS "row", problem[1] AS "column", problem[2] AS reason,
       left(CAST(CASE problem[1] WHEN 'ts' THEN CAST(ts AS VARCHAR) WHEN 'account_id' THEN CAST(account_id AS VARCHAR)
                       WHEN 'ip' THEN CAST(ip AS VARCHAR) WHEN 'tokens_in' THEN CAST(tokens_in AS VARCHAR)
                       ELSE CAST(tokens_out AS VARCHAR) END AS VARCHAR), 60) AS value
FROM judged
WHERE problem IS NOT NULL
ORDER BY list_position(getvariable('log_files'), _file), _row
LIMIT $max_rows;
