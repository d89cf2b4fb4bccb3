"""Ingest of a generated log gives back the generator's own evidence; spilling changes nothing; one command from logs to rings."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from graphsleuth import detect, evaluate, generate
from graphsleuth.evidence import read_evidence
from graphsleuth.ingest import ingest

from helpers import cli

TABLES = ("accounts", "ips", "prompts", "links", "lockstep", "payments")


def _tables(directory, names=TABLES) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(directory / f"{name}.parquet") for name in names}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)


def test_ingest_gives_the_generators_accounts_ips_templates_and_counts(population, log_bundle, tmp_path):
    summary = ingest(log_bundle, tmp_path / "ev")
    got = _tables(tmp_path / "ev")
    tables = {name: table.to_pandas() for name, table in population.tables.items()}
    assert summary.requests == population.manifest["requests"] == got["accounts"]["requests"].sum()
    assert set(got["accounts"]["account_id"]) == set(tables["accounts"]["account_id"])
    assert set(zip(got["ips"]["account_id"], got["ips"]["ip"])) == set(zip(tables["ips"]["account_id"], tables["ips"]["ip"]))
    expected = tables["prompts"].groupby(["account_id", "template_id"]).agg(count=("count", "sum"), ts=("ts", "min")).reset_index()
    merged = expected.merge(got["prompts"], on=["account_id", "template_id"], how="outer", suffixes=("", "_logs"), indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["count"] == merged["count_logs"]).all()
    assert (pd.to_datetime(merged["ts"], utc=True) == merged["ts_logs"]).all()
    assert (merged["hours"] >= 1).all() and (merged["hours"] <= merged["count_logs"]).all()
    device = tables["links"][tables["links"]["kind"].isin(["device", "phone"])]
    assert set(map(tuple, device[["account_id", "kind", "value"]].to_numpy())) <= set(
        map(tuple, got["links"][["account_id", "kind", "value"]].to_numpy())
    )
    assert len(got["payments"]) == len(tables["payments"])
    # the rings' waves stay synchronised at request level: their accounts send in lockstep far more often
    truth = population.truth.to_pandas()
    ring = truth["ring_id"].fillna("").ne("")
    stepping = truth["account_id"].isin(got["lockstep"]["account_id"])
    assert stepping[ring].mean() > 0.5 and stepping[ring].mean() > 2 * stepping[~ring].mean()
    # and the evidence reader takes the result as it is, lockstep table included
    evidence = read_evidence(tmp_path / "ev")
    assert evidence.lockstep is not None and len(evidence.lockstep) == len(got["lockstep"]) and len(evidence.rejects) == 0


def _busy_log(path) -> None:
    """400,000 requests of 40,000 accounts from 40,000 IPs: nearly every request its own (account, IP) and triple."""
    import duckdb

    duckdb.sql(
        f"""COPY (SELECT TIMESTAMPTZ '2026-02-02 00:00:00+00' + to_seconds((hash(i, 1) % 3000000)::BIGINT) AS ts,
                   'acct' || (hash(i * 7 + 1) % 40000)::VARCHAR AS account_id,
                   '10.' || (hash(i * 7 + 2) % 200)::VARCHAR || '.0.' || (hash(i * 7 + 3) % 200)::VARCHAR AS ip,
                   't' || (hash(i * 7 + 4) % 500)::VARCHAR AS template_id
            FROM range(400000) r(i)) TO '{path}'"""
    )


def test_a_memory_limit_that_forces_spilling_changes_nothing(tmp_path):
    _busy_log(tmp_path / "busy.parquet")
    ingest(tmp_path / "busy.parquet", tmp_path / "plain")
    spill = tmp_path / "spill"
    spill.mkdir()
    summary = ingest(tmp_path / "busy.parquet", tmp_path / "tight", memory_limit="128MB", temp_dir=spill)
    assert summary.spilled_mb > 0, "the limit did not make the engine spill"
    assert list(spill.iterdir()) == [], "the temporary directory was not cleaned up"
    plain, tight = _tables(tmp_path / "plain", TABLES[:-1]), _tables(tmp_path / "tight", TABLES[:-1])
    for name in TABLES[:-1]:
        assert len(plain[name]) > 0 or name == "links"
        assert _sorted(plain[name]).equals(_sorted(tight[name][plain[name].columns])), name


def test_the_same_logs_give_the_same_files_byte_for_byte(tmp_path):
    """The engine's threads finish in any order; the tables come out sorted, so detection, which numbers
    accounts in the order it reads them, gives the same rings from the same logs and seed."""
    _busy_log(tmp_path / "busy.parquet")
    for run in ("first", "second"):
        ingest(tmp_path / "busy.parquet", tmp_path / run)
    for name in TABLES[:-1]:
        assert (tmp_path / "first" / f"{name}.parquet").read_bytes() == (tmp_path / "second" / f"{name}.parquet").read_bytes(), name


def test_too_little_memory_is_one_clear_error(tmp_path):
    _busy_log(tmp_path / "busy.parquet")
    done = cli("ingest", str(tmp_path / "busy.parquet"), "--out", str(tmp_path / "ev"), "--memory-limit", "24MB", "-q")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "ran out of memory" in done.stderr and "--memory-limit" in done.stderr
    assert not (tmp_path / "ev").exists()


def test_detect_from_logs_finds_the_rings_detect_from_tables_finds(tmp_path):
    generate("demo", seed=7, accounts=1000, out=tmp_path / "tables", format="parquet")
    generate("demo", seed=7, accounts=1000, out=tmp_path / "logs", logs=True)
    truth = tmp_path / "tables" / "truth.csv"
    detect(tmp_path / "tables", tmp_path / "rings-tables")
    detect(tmp_path / "logs", tmp_path / "rings-logs", logs=None)  # found to be logs by looking
    from_tables = evaluate(tmp_path / "rings-tables", truth).to_dict()
    from_logs = evaluate(tmp_path / "rings-logs", truth).to_dict()
    assert from_logs["precision"] >= from_tables["precision"] - 0.01
    assert from_logs["recall"] >= from_tables["recall"] - 0.01
    assert from_logs["rings_found"] >= from_tables["rings_found"] >= 3


def test_the_command_line_ingests_and_detects_from_logs_in_one_command(log_bundle, tmp_path):
    done = cli("ingest", str(log_bundle), "--out", str(tmp_path / "ev"), "-q")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == sorted(f"{n}.parquet" for n in TABLES)
    done = cli("detect", str(log_bundle), "--logs", "--out", str(tmp_path / "rings"), "-q")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rings" / "rings.jsonl").exists()
    again = cli("ingest", str(log_bundle), "--out", str(tmp_path / "ev"), "-q")
    assert again.returncode == 1 and "--force" in again.stderr


def test_generate_logs_keeps_the_tables_and_truth_and_samples_as_told(tmp_path):
    full = generate("demo", seed=3, accounts=100, out=tmp_path / "full", logs=True)
    manifest = json.loads((tmp_path / "full" / "manifest.json").read_text())
    assert manifest["logs"]["requests"] == full.manifest["requests"]
    from dataclasses import replace

    from graphsleuth.synth import load_scenario

    scenario = load_scenario("demo").scaled(100)
    thinned = replace(scenario, logs=replace(scenario.logs, legit_sample=0.1))
    generate(thinned, seed=3, out=tmp_path / "thin", logs=True)
    thin = json.loads((tmp_path / "thin" / "manifest.json").read_text())
    assert thin["logs"]["prompt_rows"] == manifest["logs"]["prompt_rows"]
    assert thin["logs"]["requests"] < 0.6 * manifest["logs"]["requests"]
    assert (tmp_path / "thin" / "truth.csv").read_bytes() == (tmp_path / "full" / "truth.csv").read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_logs_give_what_parquet_gives(log_bundle, tmp_path, fmt):
    logs = pd.concat([pd.read_parquet(p) for p in sorted((log_bundle / "logs").glob("*.parquet"))]).head(20000)
    logs["ts"] = logs["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    (tmp_path / "pq").mkdir()
    logs.astype(str).to_parquet(tmp_path / "pq" / "a.parquet")
    (tmp_path / "text").mkdir()
    if fmt == "csv":
        logs.to_csv(tmp_path / "text" / "a.csv.gz", index=False)
    else:
        logs.astype(str).to_json(tmp_path / "text" / "a.jsonl", orient="records", lines=True)
    ingest(tmp_path / "pq", tmp_path / "from-parquet")
    ingest(tmp_path / "text", tmp_path / "from-text")
    for name in ("accounts", "ips", "prompts", "links", "lockstep"):
        a = pd.read_parquet(tmp_path / "from-parquet" / f"{name}.parquet")
        b = pd.read_parquet(tmp_path / "from-text" / f"{name}.parquet")
        assert _sorted(a).equals(_sorted(b[a.columns])), name
