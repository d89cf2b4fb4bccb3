-- The ingest engine's own bookkeeping.

-- name: temporary_bytes
-- Bytes of the temporary files the engine holds now: what it has spilled to disk.
SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()
