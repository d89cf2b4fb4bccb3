"""Hostile values: input never becomes Cypher text, and every value comes back byte for byte.

Twenty-one accounts whose ids, emails, card ids, template ids and device ids
are quotes, backticks, Cypher fragments, line breaks, spreadsheet formulas,
non-Latin text and very long strings form an obvious ring (shared cards, one
IP, created in a burst, lockstep prompts), so detection flags them and the
values reach every export. They are read back from Neo4j and from members
(csv/jsonl/parquet), rings.jsonl and clusters.jsonl unchanged, except that
CSV cells a spreadsheet would run as a formula start with ``'``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from graphsleuth import detect, store
from graphsleuth.evidence import read_evidence
from graphsleuth.export import neutralise_formulas, write_findings

HOSTILE = [
    "o'brien",
    'say "hi"',
    "back`tick`",
    "}) DETACH DELETE n //",
    "x'}) MATCH (n) DETACH DELETE n //",
    "line1\nline2",
    "cr\rlf\r\n",
    '=HYPERLINK("http://evil.test","click")',
    "+1",
    "-1+2",
    "@SUM(A1:A9)",
    "\ttab first",
    "$ringId {{body}}",
    'back\\"slash',
    "漢字カナ Ελληνικά 😀 \u202eRTL",
    " padded ",
    "a" * 2000,
    "comma, separated;",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "NUL\x00byte",
]
CARDS = ["card " + h for h in HOSTILE[:4]]
TEMPLATES = ["tpl " + h for h in HOSTILE[:5]] + ["tpl " + HOSTILE[7]]
DEVICES = ["dev " + h for h in HOSTILE[5:8]]
EXTRA = "plan`}) DETACH DELETE n //"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _write_csv(folder: Path, name: str, columns: dict[str, list]) -> None:
    pacsv.write_csv(pa.table(columns), folder / f"{name}.csv", write_options=pacsv.WriteOptions(quoting_style="needed"))


def _email(local: str, n: int) -> str:
    """One mail domain per account, so the ring does not look like one organisation."""
    return f"{local}@home{n}.example"


def write_hostile_evidence(folder: Path, benign: int = 120) -> Path:
    """The ring of hostile accounts among ``benign`` ordinary ones."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts = {"account_id": [], "created_at": [], "email": [], EXTRA: []}
    payments = {"account_id": [], "payment_id": [], "kind": []}
    ips = {"account_id": [], "ip": [], "requests": []}
    prompts = {"account_id": [], "template_id": [], "ts": [], "count": []}
    links = {"account_id": [], "kind": [], "value": []}
    for i, account in enumerate(HOSTILE):
        accounts["account_id"].append(account)
        accounts["created_at"].append(f"2026-01-10T10:{i:02d}:00Z")
        accounts["email"].append(_email(account, i))
        accounts[EXTRA].append(HOSTILE[-1 - i])
        payments["account_id"].append(account)
        payments["payment_id"].append(CARDS[i % len(CARDS)])
        payments["kind"].append("card")
        ips["account_id"].append(account)
        ips["ip"].append("203.0.113.7")
        ips["requests"].append(5)
        for t, template in enumerate(TEMPLATES):
            prompts["account_id"].append(account)
            prompts["template_id"].append(template)
            prompts["ts"].append(f"2026-01-11T0{t}:00:00Z")
            prompts["count"].append(40)
        links["account_id"].append(account)
        links["kind"].append("device")
        links["value"].append(DEVICES[i % len(DEVICES)])
    for j in range(benign):
        account = f"b{j}"
        accounts["account_id"].append(account)
        accounts["created_at"].append(f"2025-{1 + j % 12:02d}-{1 + j % 28:02d}T0{j % 10}:00:00Z")
        accounts["email"].append(_email(account, 1000 + j))
        accounts[EXTRA].append("free")
        payments["account_id"].append(account)
        payments["payment_id"].append(f"card-{j}")
        payments["kind"].append("card")
        ips["account_id"].append(account)
        ips["ip"].append(f"10.{j % 200}.{j // 200}.{1 + j % 250}")
        ips["requests"].append(3)
        prompts["account_id"].append(account)
        prompts["template_id"].append(f"common-{j % 5}")
        prompts["ts"].append(f"2026-01-{1 + j % 28:02d}T12:00:00Z")
        prompts["count"].append(2)
        links["account_id"].append(account)
        links["kind"].append("device")
        links["value"].append(f"d-{j}")
    for name, columns in (("accounts", accounts), ("payments", payments), ("ips", ips), ("prompts", prompts), ("links", links)):
        _write_csv(folder, name, columns)
    return folder


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    return write_hostile_evidence(tmp_path_factory.mktemp("hostile") / "evidence")


@pytest.fixture(scope="module")
def hostile_findings(hostile_dir):
    return detect(hostile_dir)


def _values(frame: pd.DataFrame, column: str) -> set[str]:
    return set(frame[column].dropna().tolist())


def test_reader_keeps_hostile_values_byte_for_byte(hostile_dir):
    evidence = read_evidence(hostile_dir)
    assert _values(evidence.accounts, "account_id") >= set(HOSTILE)
    assert _values(evidence.accounts, "email") >= {_email(h, i) for i, h in enumerate(HOSTILE)}
    assert _values(evidence.accounts, EXTRA) >= set(HOSTILE)
    assert _values(evidence.payments, "payment_id") >= set(CARDS)
    assert _values(evidence.prompts, "template_id") >= set(TEMPLATES)
    assert _values(evidence.links, "value") >= set(DEVICES)


def test_detection_flags_the_hostile_ring(hostile_findings):
    assert len(hostile_findings.rings) == 1
    assert set(hostile_findings.members["account_id"]) == set(HOSTILE)


def _read_members(out: Path, format: str) -> list[str]:
    if format == "parquet":
        return pq.read_table(out / "members.parquet").column("account_id").to_pylist()
    if format == "jsonl":
        with open(out / "members.jsonl", encoding="utf-8") as fh:
            return [json.loads(line)["account_id"] for line in fh]
    with open(out / "members.csv", encoding="utf-8", newline="") as fh:
        return [row["account_id"] for row in csv.DictReader(fh)]


def _shown_in_csv(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


@pytest.mark.parametrize("format", ["csv", "jsonl", "parquet"])
def test_every_export_keeps_hostile_values(tmp_path, hostile_findings, format):
    out = write_findings(hostile_findings, tmp_path / "rings", format=format)
    members = _read_members(out, format)
    expected = [_shown_in_csv(h) for h in HOSTILE] if format == "csv" else HOSTILE
    assert sorted(members) == sorted(expected)

    with open(out / "rings.jsonl", encoding="utf-8") as fh:
        rings = [json.loads(line) for line in fh]
    assert len(rings) == 1
    evidence = rings[0]["evidence"]
    assert {t["value"] for t in evidence["cards"]["top"]} == set(CARDS)
    assert {t["value"] for t in evidence["device"]["top"]} == set(DEVICES)
    assert {t["value"] for t in evidence["templates"]["top"]} <= set(TEMPLATES)
    assert len(evidence["templates"]["top"]) == 5
    with open(out / "clusters.jsonl", encoding="utf-8") as fh:
        clusters = [json.loads(line) for line in fh]
    assert any(c["flagged"] for c in clusters) and all("account_ids" not in c for c in clusters)


def test_csv_export_neutralises_every_formula_cell(tmp_path, hostile_findings):
    out = write_findings(hostile_findings, tmp_path / "rings", format="csv")
    with open(out / "members.csv", encoding="utf-8", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    risky = [c for c in cells if c.startswith(FORMULA_START)]
    assert not risky, risky
    assert '\'=HYPERLINK("http://evil.test","click")' in cells and "'+1" in cells and "'@SUM(A1:A9)" in cells
    assert "'-1+2" in cells and "'\ttab first" in cells
    # Missing values stay empty (not the text "nan"/"None"), numbers are left alone.
    frame = pd.DataFrame({"a": ["=1", None, "x", "-2"], "n": [-1.5, 2.0, 3.0, -4.0]})
    shown = neutralise_formulas(frame["a"])
    assert shown.tolist()[0] == "'=1" and pd.isna(shown.tolist()[1]) and shown.tolist()[2:] == ["x", "'-2"]


def test_rejects_and_templates_csv_neutralise_formulas(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "accounts.csv").write_text("account_id,created_at\na1,2026-01-01T00:00:00Z\na2,=cmd|' /C calc'!A0\n")
    (folder / "payments.csv").write_text("account_id,payment_id\na1,c1\na1,c2\n")
    out = tmp_path / "rings"
    detect(folder, out=out, lenient=True)
    with open(out / "rejects.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["file"], r["row"], r["column"], r["value"]) for r in rows] == [("accounts.csv", "2", "created_at", "'=cmd|' /C calc'!A0")]


@pytest.mark.neo4j
def test_hostile_values_through_neo4j(empty_graph, hostile_dir, hostile_findings):
    loaded = read_evidence(hostile_dir)
    store.load(loaded, connection=empty_graph)
    counts = store.graph_counts(connection=empty_graph)
    assert counts["Account"] == len(loaded.accounts)  # no injected DETACH DELETE ran, nothing merged wrongly
    assert counts["PaymentMethod"] == loaded.payments["payment_id"].nunique()
    assert counts["PromptTemplate"] == loaded.prompts["template_id"].nunique()
    assert counts["Link"] == loaded.links["value"].nunique()

    back = store.read_evidence_from_neo4j(connection=empty_graph)
    by_id = back.accounts.set_index("account_id")
    for i, account in enumerate(HOSTILE):
        assert account in by_id.index, repr(account)
        assert by_id.loc[account, "email"] == _email(account, i)
    assert _values(back.accounts, EXTRA) >= set(HOSTILE)  # a hostile column name survives in extras
    assert _values(back.payments, "payment_id") == _values(loaded.payments, "payment_id")
    assert _values(back.prompts, "template_id") == _values(loaded.prompts, "template_id")
    assert _values(back.links, "value") == _values(loaded.links, "value")
    pairs = set(zip(back.payments["account_id"], back.payments["payment_id"]))
    assert pairs == set(zip(loaded.payments["account_id"], loaded.payments["payment_id"]))

    summary = store.write_findings(hostile_findings, connection=empty_graph)
    assert summary.members == len(HOSTILE)
    rings = store.investigate("rings_by_score", connection=empty_graph, limit=5)
    assert len(rings) == 1 and rings[0]["size"] == len(HOSTILE)
    assert rings[0]["accounts"] == sorted(HOSTILE)[:10]  # the query lists the first ten members
    members = store.investigate("ring_timeline", connection=empty_graph, ringId=rings[0]["ring"])
    assert {row["account"] for row in members} == set(HOSTILE)
    assert store.graph_counts(connection=empty_graph)["Account"] == len(loaded.accounts)
