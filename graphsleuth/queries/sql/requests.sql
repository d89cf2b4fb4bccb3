-- The request log as one relation, `requests`, that every pass of ingest reads.
-- Values reach these statements as DuckDB variables (a view cannot take a prepared
-- parameter): log_files, json_columns, stage_columns, staged_files, link_columns.
-- No table or column name ever comes from the input.

-- name: source_parquet
-- Parquet logs. Hive partitioning off: a path like day=2026-02-05/ must not invent a column.
CREATE OR REPLACE TEMP VIEW logs_src AS
SELECT * FROM read_parquet(getvariable('log_files'), union_by_name = true, hive_partitioning = false);

-- name: source_csv
-- CSV logs (plain or gzipped), every column read as text so that one bad value cannot stop
-- the reader. Dialect fixed (the sniffer can take a broken row for a new dialect or header).
CREATE OR REPLACE TEMP VIEW logs_src AS
SELECT * FROM read_csv(getvariable('log_files'), header = true, all_varchar = true, delim = ',', quote = '"',
                       escape = '"', skip = 0, strict_mode = true, union_by_name = true, hive_partitioning = false);

-- name: source_json
-- JSON Lines logs (plain or gzipped); the keys (all read as text) come in json_columns,
-- because type detection would stop at the first odd value.
CREATE OR REPLACE TEMP VIEW logs_src AS
SELECT * FROM read_json(getvariable('log_files'), format = 'newline_delimited',
                        columns = getvariable('json_columns'), hive_partitioning = false);

-- name: stage
-- CSV and JSON logs are parsed once into Parquet in the temporary directory (the columns
-- ingest reads, still as text), so that no pass parses or gunzips the text again.
COPY (SELECT COLUMNS(lambda c: list_contains(getvariable('stage_columns'), c)) FROM logs_src)
TO $path (FORMAT parquet, COMPRESSION snappy, PER_THREAD_OUTPUT true);

-- name: source_staged
-- The staged Parquet copy of CSV or JSON logs in place of the text.
CREATE OR REPLACE TEMP VIEW logs_src AS
SELECT * FROM read_parquet(getvariable('staged_files'), union_by_name = true, hive_partitioning = false);

-- name: requests
-- Every request in one shape; optional columns no file has come out NULL (the empty row
-- joined BY NAME). Columns a pass does not use are pruned by the planner.
--   ok    : a time, an account and an IP, and token counts that are whole numbers >= 0
--   ah    : 64-bit hash of account_id: big aggregations group by fixed-width keys (2-15x
--           cheaper than strings), the id is carried with any_value or joined at the end
--   hour  : whole hours since the epoch, an INTEGER (date_trunc on TIMESTAMPTZ goes through ICU)
--   tid   : template_id, else prompt_hash, as logged (logs that name their templates)
--   tkey  : hash of tid: the template key of the big aggregation
--   rh    : hash of the raw prompt text (raw prompts: templates are derived on distinct texts)
--   lk    : hash of the link columns (variable link_columns; they come as text too)
CREATE OR REPLACE TEMP VIEW requests AS
WITH src AS (
    SELECT * FROM (SELECT NULL AS user_agent, NULL AS api_key_id, NULL AS device, NULL AS prompt, NULL AS prompt_hash,
                          NULL AS template_id, NULL AS tokens_in, NULL AS tokens_out LIMIT 0)
    UNION ALL BY NAME
    SELECT * FROM logs_src
), text_links AS (
    SELECT COLUMNS(lambda c: NOT list_contains(getvariable('link_columns'), c)),
           COLUMNS(lambda c: list_contains(getvariable('link_columns'), c))::VARCHAR
    FROM src
), typed AS (
    SELECT TRY_CAST(ts AS TIMESTAMPTZ) AS ts,
           CAST(account_id AS VARCHAR) AS account_id,
           CAST(ip AS VARCHAR) AS ip,
           TRY_CAST(tokens_in AS BIGINT) AS tokens_in,
           TRY_CAST(tokens_out AS BIGINT) AS tokens_out,
           (tokens_in IS NULL OR TRY_CAST(tokens_in AS BIGINT) >= 0)
               AND (tokens_out IS NULL OR TRY_CAST(tokens_out AS BIGINT) >= 0) AS tokens_ok,
           NULLIF(CAST(coalesce(template_id, prompt_hash) AS VARCHAR), '') AS tid,
           CAST(prompt AS VARCHAR) AS prompt,
           COLUMNS(lambda c: list_contains(getvariable('link_columns'), c)),
           hash(*COLUMNS(lambda c: list_contains(getvariable('link_columns'), c))) AS lk
    FROM text_links
)
SELECT * EXCLUDE (tokens_ok),
       coalesce(ts IS NOT NULL AND account_id <> '' AND ip <> '' AND tokens_ok, false) AS ok,
       hash(account_id) AS ah,
       CAST(epoch_us(ts) // 3600000000 AS INTEGER) AS hour,
       hash(tid) AS tkey,
       hash(prompt) AS rh
FROM typed;
