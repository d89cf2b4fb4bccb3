"""Request logs aggregated on Spark give the evidence tables graphsleuth ingest (DuckDB) gives, by the same SQL."""

from __future__ import annotations

import pandas as pd
import pytest

from graphsleuth import generate
from graphsleuth.errors import InputError
from graphsleuth.ingest import ingest
from graphsleuth.spark.ingest import NeedsEmbeddedIngest, ingest_spark, spark_dialect

pytestmark = pytest.mark.spark

TABLES = ("accounts", "ips", "links", "prompts", "lockstep", "payments")
KEYS = ("account_id", "ip", "kind", "value", "template_id", "hour", "payment_id")


@pytest.fixture(scope="session")
def logs(tmp_path_factory):
    out = tmp_path_factory.mktemp("logs") / "bundle"
    generate(scenario="demo", accounts=1500, seed=5, logs=True, out=out)
    return out


def _table(directory, name):
    frame = pd.read_parquet(directory / f"{name}.parquet")
    return frame.sort_values([c for c in frame.columns if c in KEYS]).reset_index(drop=True)


def test_spark_ingest_writes_the_tables_duckdb_ingest_writes(spark, logs, tmp_path):
    ingest(logs, tmp_path / "duckdb")
    summary = ingest_spark(spark, logs, tmp_path / "spark")
    assert summary.requests > 1_000_000
    for name in TABLES:
        expected, got = _table(tmp_path / "duckdb", name), _table(tmp_path / "spark", name)
        assert len(got) == len(expected) > 0, name
        for column in expected.columns:
            a, b = expected[column], got[column]
            if str(a.dtype).startswith("datetime"):
                a, b = pd.to_datetime(a, utc=True), pd.to_datetime(b, utc=True)
            assert a.astype(str).tolist() == b.astype(str).tolist(), (name, column)


def test_a_bad_request_is_named_by_file_row_and_column(spark, logs, tmp_path):
    first = sorted((logs / "logs").glob("*.parquet"))[0]
    log = pd.read_parquet(first)
    log["ts"] = log["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    log.loc[41, "ts"] = "yesterday"
    (tmp_path / "csv").mkdir()
    log.to_csv(tmp_path / "csv" / "requests.csv", index=False)
    with pytest.raises(InputError) as raised:
        ingest_spark(spark, tmp_path / "csv", tmp_path / "out")
    assert str(raised.value).endswith("requests.csv, row 42, column ts: expected an ISO-8601 time such as 2026-02-01T12:00:00Z")
    assert not (tmp_path / "out").exists(), "nothing is written"


def test_the_shared_statements_change_only_in_their_parameters_and_created_tables():
    view, query = spark_dialect("-- a comment\nCREATE OR REPLACE TEMP TABLE t AS\nSELECT a FROM x WHERE b >= $min_lift")
    assert view == "t" and query == "SELECT a FROM x WHERE b >= :min_lift"


def test_raw_prompt_logs_are_left_to_duckdb_ingest(spark, tmp_path):
    (tmp_path / "raw").mkdir()
    pd.DataFrame(
        {"ts": ["2026-02-01T10:00:00Z"], "account_id": ["a1"], "ip": ["10.0.0.1"], "prompt": ["Explain step by step: 2+2"]}
    ).to_csv(tmp_path / "raw" / "requests.csv", index=False)
    with pytest.raises(NeedsEmbeddedIngest, match="raw prompt text"):
        ingest_spark(spark, tmp_path / "raw", tmp_path / "out")
    assert not (tmp_path / "out").exists()
