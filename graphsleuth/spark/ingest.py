"""Request logs to evidence tables on Spark: the aggregation that grows with the requests, on the cluster.

The tables are those of ``graphsleuth ingest`` (DuckDB, :mod:`graphsleuth.ingest`), made by the
same SQL where the dialects allow: the statements that roll the evidence tables up
(``accounts``, ``ips``, ``links``, ``prompts``, ``lockstep``, ``payments``) and the pass that
finds the (account, template, hour) triples are read from the shared files of
``graphsleuth/queries/sql`` and run on Spark, with two mechanical changes of dialect
(:func:`spark_dialect`): DuckDB's ``$name`` parameters become Spark's ``:name``, and
``CREATE OR REPLACE TEMP TABLE name AS`` becomes a temporary view. What DuckDB says in its own
idiom (column lists by lambda, UNPIVOT over them, a hash of a whole row) is in
``spark_ingest.sql``. Side tables (accounts, payments) are read and checked by the evidence
reader, as ingest does.

Logs with template ids (``template_id`` or ``prompt_hash``) are aggregated here; raw prompt
text needs templates derived from the distinct texts, which ingest does on DuckDB
(``graphsleuth ingest``) and this engine does not yet. A bad request stops the run with the
file, row and column named (the row found by reading that file alone); ``--lenient`` logs go
through ``graphsleuth ingest``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd

from ..atomic import check_output_dir, output_directory
from ..detection.graph import LOCKSTEP_LIFT
from ..errors import GraphsleuthError, InputError
from ..evidence import MAX_ID_CHARS, canonical_ipv6, read_table
from ..ingest.pipeline import LOCKSTEP_MIN_ACCOUNTS, IngestSummary
from ..ingest.sources import ACCOUNT_LINKS, KNOWN_COLUMNS, LOG_LINKS, REQUIRED, find_logs
from ..progress import Progress
from ..queries import sql_statement

__all__ = ["ingest_spark", "spark_dialect", "NeedsEmbeddedIngest"]


class NeedsEmbeddedIngest(GraphsleuthError):
    """Logs this engine does not aggregate (raw prompt text): ``graphsleuth ingest`` does, on DuckDB."""


_CREATE = re.compile(r"^(?:\s*--[^\n]*\n)*\s*CREATE OR REPLACE TEMP TABLE (\w+) AS\s+", re.IGNORECASE)
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


def spark_dialect(statement: str) -> tuple[str | None, str]:
    """A shared (DuckDB) statement as Spark runs it: (the view it creates or None, the query)."""
    created = _CREATE.match(statement)
    name = created.group(1) if created else None
    query = statement[created.end() :] if created else statement
    return name, _PARAMETER.sub(r":\1", query)


def _shared(spark, file: str, name: str, **params):
    """Run the shared statement ``name`` of ``sql/<file>.sql`` on Spark; a created table becomes a cached view."""
    view, query = spark_dialect(sql_statement(file, name))
    frame = spark.sql(query, args=params) if params else spark.sql(query)
    if view is not None:
        frame = frame.cache()
        frame.createOrReplaceTempView(view)
    return frame


def _own(spark, name: str, links: list[str], extra: str = "", **params):
    query = sql_statement("spark_ingest", name)
    columns = "".join(f", {c}" for c in links)
    query = query.replace("{links}", columns).replace("{link_list}", ", ".join(links)).replace("{extra}", extra)
    return spark.sql(query, args=params) if params else spark.sql(query)


def _read_logs(spark, files: list[str], fmt: str):
    reader = spark.read
    if fmt == "parquet":
        return reader.option("mergeSchema", "true").parquet(*files)
    if fmt == "csv":
        return reader.option("header", True).option("inferSchema", False).option("escape", '"').csv(files)
    return reader.option("primitivesAsString", True).json(files)


def ingest_spark(spark, logs: str | Path, out: str | Path, force: bool = False, progress: Progress | None = None) -> IngestSummary:
    """Turn request logs with template ids into the evidence directory ``out`` on Spark (see the module's docstring)."""
    from pyspark.sql import functions as F

    progress = progress or Progress()
    began = time.perf_counter()
    check_output_dir(out, force)
    found = find_logs(logs)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    frame = _read_logs(spark, list(found.files), found.format)
    present = set(frame.columns)
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise InputError(
            found.files[0], f"missing column {missing[0]} in the request logs (required: {', '.join(REQUIRED)})", column=missing[0]
        )
    if "prompt" in present and not {"template_id", "prompt_hash"} & present:
        raise NeedsEmbeddedIngest("request logs with raw prompt text: their templates are derived by graphsleuth ingest (DuckDB)")
    for column in ("template_id", "prompt_hash", "tokens_in", "tokens_out"):
        if column not in present:
            frame = frame.withColumn(column, F.lit(None).cast("string"))
    links = [c for c in LOG_LINKS if c in present]
    frame.select(*[c for c in frame.columns if c in KNOWN_COLUMNS]).createOrReplaceTempView("logs_src")
    summary = IngestSummary(logs=str(logs), out=str(out), files=len(found.files), format=found.format, templates="template ids")
    with progress.steps("ingest on Spark: pass 1, accounts, IPs and links"):
        _own(spark, "requests", links)
        _own(spark, "seen_all", links)
        spark.catalog.cacheTable("seen_all")
        totals = _own(spark, "totals", links).collect()[0]
        if totals["bad"]:
            raise _locate(spark, found, links, None, None)
        _own(spark, "seen", links)
        problems = _own(spark, "values_check", links, max_id=MAX_ID_CHARS).toPandas()
        canonical = _check_values(spark, found, links, problems)
        summary.requests = int(totals["requests"])
    spark.createDataFrame(
        pd.DataFrame({"ip": list(canonical), "canonical": list(canonical.values())}, dtype=object), "ip string, canonical string"
    ).createOrReplaceTempView("ip_map")
    _own(spark, "account_dict", links)
    spark.catalog.cacheTable("account_dict")
    if spark.sql(sql_statement("spark_ingest", "account_hash_collisions")).collect()[0][0]:
        raise GraphsleuthError(f"{logs}: two account ids share one 64-bit hash; ingest cannot key them apart")
    side_links = _side_tables(spark, found)
    if links:
        _own(spark, "link_rows", links)
    with progress.steps("ingest on Spark: pass 2, account-template-hours"):
        _shared(spark, "prompts", "template_names_ids")
        _shared(spark, "prompts", "triples_ids")
    tables = {
        "accounts": _shared(spark, "accounts", "accounts"),
        "ips": _shared(spark, "ips", "ips"),
        "prompts": _shared(spark, "prompts", "prompts"),
        "lockstep": _shared(spark, "lockstep", "lockstep", min_accounts=LOCKSTEP_MIN_ACCOUNTS, min_lift=float(LOCKSTEP_LIFT)),
    }
    link_parts = [_shared(spark, "links", "links")] if links else []
    for column in side_links:
        link_parts.append(
            spark.sql(
                f"SELECT DISTINCT account_id, '{column}' AS kind, CAST({column} AS STRING) AS value, CAST(NULL AS BIGINT) AS requests FROM side_accounts WHERE trim(CAST({column} AS STRING)) <> ''"
            )
        )
    if link_parts:
        union = link_parts[0]
        for part in link_parts[1:]:
            union = union.unionByName(part)
        tables["links"] = union
    if found.payments is not None:
        tables["payments"] = _shared(spark, "payments", "payments")
    with output_directory(out, force) as tmp:
        for name, table in tables.items():
            with progress.steps(f"ingest on Spark: writing {name}"):
                rows = table.toPandas()
                rows.to_parquet(tmp / f"{name}.parquet", index=False)
                summary.tables[name] = int(len(rows))
    for view in ("seen_all", "account_dict", "template_names", "triples"):
        spark.catalog.uncacheTable(view)  # the session may go on to detection: give the memory back
    summary.seconds = round(time.perf_counter() - began, 3)
    summary.rows_per_s = round(summary.requests / max(summary.seconds, 1e-9))
    return summary


def _side_tables(spark, found) -> list[str]:
    """Register the side tables (checked by the evidence reader); the side accounts' columns that are links (phone)."""
    accounts = pd.DataFrame({"account_id": pd.Series([], dtype=object)})
    if found.accounts is not None:
        accounts, _ = read_table(found.accounts, "accounts")
    for column in ("created_at", "email", "country"):
        if column not in accounts.columns:
            accounts[column] = pd.Series([None] * len(accounts), dtype="datetime64[ns, UTC]" if column == "created_at" else object)
    side_links = [c for c in ACCOUNT_LINKS if c in accounts.columns]
    keep = ["account_id", "created_at", "email", "country", *side_links]
    frame = accounts[keep].copy()
    for column in keep:
        if column != "created_at":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    schema = ", ".join(f"{c} {'timestamp' if c == 'created_at' else 'string'}" for c in keep)
    spark.createDataFrame(frame, schema).createOrReplaceTempView("side_accounts")
    payments = pd.DataFrame({"account_id": [], "payment_id": [], "kind": [], "bin": []}, dtype=object)
    if found.payments is not None:
        payments, _ = read_table(found.payments, "payments")
        for column in ("kind", "bin"):
            if column not in payments.columns:
                payments[column] = None
    payments = payments[["account_id", "payment_id", "kind", "bin"]].astype(object)
    payments = payments.where(payments.notna(), None)
    spark.createDataFrame(payments, "account_id string, payment_id string, kind string, bin string").createOrReplaceTempView(
        "side_payments"
    )
    return side_links


def _check_values(spark, found, links, problems: pd.DataFrame) -> dict[str, str]:
    """Bad account ids and IPs stop the run (the first row that holds one named); IPv6 spellings mapped to canonical form."""
    canonical = {}
    for kind, value in zip(problems["kind"], problems["value"]):
        if kind == "account_id":
            raise _locate(spark, found, links, "account_id", value)
        form = canonical_ipv6(value)
        if form is None:
            raise _locate(spark, found, links, "ip", value)
        if form != value:
            canonical[value] = form
    return canonical


_REASONS = {
    "missing ts": ("ts", "missing time"),
    "ts": ("ts", "expected an ISO-8601 time such as 2026-02-01T12:00:00Z"),
    "account_id": ("account_id", "empty value where an identifier is required"),
    "long account_id": ("account_id", f"value longer than {MAX_ID_CHARS} characters"),
    "ip": ("ip", "missing IP address"),
    "bad ip": ("ip", "expected an IPv4 or IPv6 address"),
    "tokens_in": ("tokens_in", "expected a whole number >= 0"),
    "tokens_out": ("tokens_out", "expected a whole number >= 0"),
}


def _locate(spark, found, links, column: str | None, value: str | None) -> InputError:
    """The first bad request as an InputError naming its file, row and column; each file is read alone, in order,
    and a row's number is the rows of the partitions before its own plus its place in its partition."""
    from pyspark.sql import functions as F

    for file in found.files:
        raw = _read_logs(spark, [file], found.format)
        for c in ("template_id", "prompt_hash", "tokens_in", "tokens_out"):
            if c not in raw.columns:
                raw = raw.withColumn(c, F.lit(None).cast("string"))
        raw = raw.withColumn("_pid", F.spark_partition_id()).withColumn("_mid", F.monotonically_increasing_id())
        raw = raw.withColumn("_ts_given", F.col("ts").isNotNull() & (F.col("ts").cast("string") != ""))
        raw.createOrReplaceTempView("logs_src")
        _own(spark, "requests", links, extra=", _pid, _mid, _ts_given, tokens_in AS _tin, tokens_out AS _tout")
        located = spark.table("requests")
        if column is None:
            bad = located.where(~F.col("ok"))
        else:
            bad = located.where(F.col(column) == F.lit(value))
        first = bad.orderBy("_pid", "_mid").limit(1).collect()
        if not first:
            continue
        row = first[0]
        before = located.where(F.col("_pid") < row["_pid"]).count()
        number = before + (row["_mid"] & ((1 << 33) - 1)) + 1
        if column == "account_id":
            key = "long account_id" if value and value.strip() else "account_id"
        elif column == "ip":
            key = "bad ip"
        elif not row["_ts_given"]:
            key = "missing ts"
        elif row["ts"] is None:
            key = "ts"
        elif not row["account_id"]:
            key = "account_id"
        elif not row["ip"]:
            key = "ip"
        elif row["_tin"] is not None and (row["tokens_in"] is None or row["tokens_in"] < 0):
            key = "tokens_in"
        else:
            key = "tokens_out"
        name, reason = _REASONS[key]
        return InputError(file, reason, row=int(number), column=name)
    return InputError(found.files[0], "a request is not ok, and reading the files one by one did not find it again")
