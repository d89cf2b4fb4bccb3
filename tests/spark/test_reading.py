"""Evidence read by Spark from a URI (here file://) is the evidence the local reader reads, checked by the same rules."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from graphsleuth import generate
from graphsleuth.errors import InputError
from graphsleuth.evidence import read_evidence
from graphsleuth.spark import read_evidence_spark

from helpers import REPO

pytestmark = pytest.mark.spark


def _same(left, right) -> None:
    for name in ("accounts", "payments", "ips", "prompts", "links"):
        a, b = left.table(name), right.table(name)
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, obj=name)


def test_csv_tables_read_through_spark_are_the_local_readers(spark):
    directory = REPO / "seeds" / "demo"
    _same(read_evidence_spark(spark, directory.as_uri()), read_evidence(directory))


def test_parquet_tables_read_through_spark_are_the_local_readers(spark, tmp_path):
    generate(scenario="demo", accounts=800, seed=3, out=tmp_path / "pop", format="parquet")
    _same(read_evidence_spark(spark, (tmp_path / "pop").as_uri()), read_evidence(tmp_path / "pop"))


def test_a_bad_row_read_through_spark_is_named_by_file_row_and_column(spark, tmp_path):
    directory = tmp_path / "bad"
    shutil.copytree(REPO / "seeds" / "demo", directory)
    ips = pd.read_csv(directory / "ips.csv", dtype=str)
    ips.loc[6, "ip"] = "10.0.0.999"
    ips.to_csv(directory / "ips.csv", index=False)
    with pytest.raises(InputError) as raised:
        read_evidence_spark(spark, directory.as_uri())
    assert str(raised.value).startswith("ips.csv, row 7, column ip:")


def test_a_uri_without_an_accounts_table_is_refused(spark, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="accounts table is required"):
        read_evidence_spark(spark, (tmp_path / "empty").as_uri())
