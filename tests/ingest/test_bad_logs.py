"""Bad request logs: one line naming file, row and column, exit 3, nothing written; --lenient keeps the good rows."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphsleuth.errors import InputError
from graphsleuth.ingest import ingest

from helpers import cli

GOOD = [
    ("2026-02-02T10:00:00Z", "a1", "10.0.0.1", "t1"),
    ("2026-02-02T10:05:00Z", "a2", "10.0.0.2", "t1"),
    ("2026-02-02T11:00:00Z", "a3", "2001:db8::1", "t2"),
]
HEADER = ("ts", "account_id", "ip", "template_id")


def _rows(bad_row: tuple, at: int = 2) -> list[tuple]:
    rows = list(GOOD)
    rows.insert(at - 1, bad_row)
    return rows


def _csv(rows, header=HEADER) -> str:
    return ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)


def _write(folder, name: str, rows, header=HEADER) -> None:
    path = folder / name
    if name.endswith(".parquet"):
        pq.write_table(pa.table({h: [r[i] for r in rows] for i, h in enumerate(header)}), path)
    elif name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(dict(zip(header, r))) + "\n" for r in rows))
    elif name.endswith(".csv.gz"):
        path.write_bytes(gzip.compress(_csv(rows, header).encode(), mtime=0))
    else:
        path.write_text(_csv(rows, header))


#: name -> (file, rows, expected row, column, words of the reason)
CASES = {
    "bad_time_csv": ("logs.csv", _rows(("yesterday", "a4", "10.0.0.4", "t1")), 2, "ts", "ISO-8601"),
    "bad_time_jsonl": ("logs.jsonl", _rows(("2026-02-30T10:00:00Z", "a4", "10.0.0.4", "t1"), at=3), 3, "ts", "ISO-8601"),
    "empty_account_parquet": ("logs.parquet", _rows(("2026-02-02T10:00:00Z", "  ", "10.0.0.4", "t1"), at=4), 4, "account_id", "identifier"),
    "bad_ipv4_csv_gz": ("logs.csv.gz", _rows(("2026-02-02T10:00:00Z", "a4", "10.0.0.256", "t1")), 2, "ip", "IPv4 or IPv6"),
    "bad_ipv6_jsonl": ("logs.jsonl", _rows(("2026-02-02T10:00:00Z", "a4", "2001:db8::zz", "t1")), 2, "ip", "IPv4 or IPv6"),
    "missing_ip_parquet": ("logs.parquet", _rows(("2026-02-02T10:00:00Z", "a4", "", "t1"), at=1), 1, "ip", "missing IP"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_request_is_named_by_file_row_and_column(tmp_path, case):
    name, rows, row, column, words = CASES[case]
    (tmp_path / "logs").mkdir()
    _write(tmp_path / "logs", name, rows)
    with pytest.raises(InputError) as caught:
        ingest(tmp_path / "logs", tmp_path / "ev")
    error = caught.value
    assert (error.file, error.row, error.column) == (name, row, column), str(error)
    assert words in error.reason
    assert not (tmp_path / "ev").exists()
    done = cli("ingest", str(tmp_path / "logs"), "--out", str(tmp_path / "ev"), "-q")  # progress lines off: the error alone
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{name}, row {row}, column {column}" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_lenient_keeps_the_good_requests_and_lists_the_bad_one(tmp_path, case):
    name, rows, row, column, _ = CASES[case]
    (tmp_path / "logs").mkdir()
    _write(tmp_path / "logs", name, rows)
    summary = ingest(tmp_path / "logs", tmp_path / "ev", lenient=True)
    rejects = pd.read_csv(tmp_path / "ev" / "rejects.csv")
    assert rejects[["file", "row", "column"]].values.tolist() == [[name, row, column]]
    assert summary.rejected == 1
    accounts = pd.read_parquet(tmp_path / "ev" / "accounts.parquet")
    assert sorted(accounts["account_id"]) == ["a1", "a2", "a3"]
    assert accounts["requests"].sum() == 3


def test_a_csv_row_with_too_many_fields_is_named(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x.csv").write_text(_csv(GOOD) + "2026-02-02T12:00:00Z,a5,10.0.0.5,t1,extra\n")
    with pytest.raises(InputError) as caught:
        ingest(tmp_path / "logs", tmp_path / "ev")
    assert (caught.value.file, caught.value.row) == ("x.csv", 4) and "fields" in caught.value.reason


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ({"a.csv": _csv(GOOD, ("ts", "account", "ip", "template_id"))}, "missing column account_id"),
        ({"a.csv": _csv(GOOD), "b.jsonl": ""}, "mix formats"),
        ({"notes.txt": "hello"}, "no request log files"),
    ],
)
def test_logs_that_cannot_be_read_stop_with_one_line(tmp_path, files, match):
    (tmp_path / "logs").mkdir()
    for name, text in files.items():
        (tmp_path / "logs" / name).write_text(text)
    with pytest.raises(InputError, match=match):
        ingest(tmp_path / "logs", tmp_path / "ev")
    assert not (tmp_path / "ev").exists()


def test_a_bad_side_table_is_named_too(tmp_path):
    (tmp_path / "logs").mkdir()
    _write(tmp_path / "logs", "a.csv", GOOD)
    (tmp_path / "accounts.csv").write_text("account_id,created_at\na1,2026-01-01T00:00:00Z\na2,last tuesday\n")
    with pytest.raises(InputError) as caught:
        ingest(tmp_path / "logs", tmp_path / "ev", accounts=tmp_path / "accounts.csv")
    assert (caught.value.file, caught.value.row, caught.value.column) == ("accounts.csv", 2, "created_at")
