"""The generator over time: snapshots of a growing population, a new ring, a ban and the banned ring's successors."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from graphsleuth.errors import GraphsleuthError
from graphsleuth.evidence import read_evidence
from graphsleuth.synth import generate

from helpers import cli

EVIDENCE = ("accounts", "payments", "ips", "prompts", "links")


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timeline")
    generate("demo", seed=11, accounts=2000, out=folder / "snaps", snapshots=3)
    generate("demo", seed=11, accounts=2000, out=folder / "plain")
    return folder


def table(folder, name) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def test_the_first_snapshot_is_the_population_as_generated(snapshots):
    for name in EVIDENCE:
        first = (snapshots / "snaps" / "snapshot-1" / f"{name}.csv").read_bytes()
        assert hashlib.sha256(first).digest() == hashlib.sha256((snapshots / "plain" / f"{name}.csv").read_bytes()).digest(), name
    truth = table(snapshots / "snaps" / "snapshot-1", "truth")
    assert list(truth.columns) == ["account_id", "ring_id", "kind", "group_id", "successor_of"]
    assert (truth["successor_of"] == "").all()


def test_each_snapshot_grows_by_about_a_tenth_and_keeps_what_came_before(snapshots):
    folders = [snapshots / "snaps" / f"snapshot-{k}" for k in (1, 2, 3)]
    sizes = [len(table(f, "accounts")) for f in folders]
    prompts = [len(table(f, "prompts")) for f in folders]
    for before, after in zip(sizes, sizes[1:]):
        assert 1.08 <= after / before <= 1.16
    assert prompts[0] < prompts[1] < prompts[2]
    for earlier, later in zip(folders, folders[1:]):
        a, b = table(earlier, "accounts"), table(later, "accounts")
        assert set(a["account_id"]) < set(b["account_id"])
        manifest = json.loads((earlier / "manifest.json").read_text())
        assert (b.loc[~b["account_id"].isin(a["account_id"]), "created_at"] > manifest["cut"]).all()
        assert (table(later, "prompts")["ts"] <= json.loads((later / "manifest.json").read_text())["cut"]).all()
    for folder in folders:
        read_evidence(folder)  # strict mode: every snapshot is valid input


def test_a_new_ring_appears_in_the_second_snapshot_with_evidence_of_its_own(snapshots):
    first, second = (table(snapshots / "snaps" / f"snapshot-{k}", "truth") for k in (1, 2))
    new = set(second["ring_id"]) - set(first["ring_id"])
    assert new == {"new-lazy-farm"}
    pay = table(snapshots / "snaps" / "snapshot-2", "payments")
    new_cards = set(pay.loc[pay["account_id"].isin(second.loc[second["ring_id"] == "new-lazy-farm", "account_id"]), "payment_id"])
    old_cards = set(pay.loc[pay["account_id"].isin(first.loc[first["ring_id"] == "lazy-farm", "account_id"]), "payment_id"])
    assert new_cards and not new_cards & old_cards


def test_the_banned_ring_goes_quiet_and_its_successors_reuse_its_evidence(snapshots):
    timeline = json.loads((snapshots / "snaps" / "timeline.json").read_text())
    ban = timeline["ban"]
    assert ban["ring"] == "hydra-mini"  # the largest ring of the demo scenario
    last = snapshots / "snaps" / "snapshot-3"
    truth = table(last, "truth")
    successors = truth[truth["successor_of"] != ""]
    assert len(successors) == ban["successors"] > 0
    assert set(successors["successor_of"]) == set(successors["ring_id"]) == {"hydra-mini"}
    accounts = table(last, "accounts").set_index("account_id")
    assert (accounts.loc[successors["account_id"], "created_at"] > ban["at"]).all()
    banned = truth.loc[(truth["ring_id"] == "hydra-mini") & (truth["successor_of"] == ""), "account_id"]
    prompts = table(last, "prompts")
    assert not (prompts["account_id"].isin(banned) & (prompts["ts"] > ban["at"])).any()
    ips = table(last, "ips")
    assert not (ips["account_id"].isin(banned) & (ips["last_seen"] > ban["at"])).any()
    for name, column in (("payments", "bin"), ("ips", "ip"), ("prompts", "template_id")):
        rows = table(last, name)
        theirs = set(rows.loc[rows["account_id"].isin(banned), column])
        reused = rows.loc[rows["account_id"].isin(successors["account_id"]), column].isin(theirs)
        assert reused.mean() > 0.2, f"successors reuse too few of the ring's {column}s"


def test_snapshots_are_deterministic_and_bad_timelines_are_refused(tmp_path, snapshots):
    done = cli("generate", "--seed", "11", "--accounts", "2000", "--snapshots", "3", "--out", str(tmp_path / "again"), "-q")
    assert done.returncode == 0, done.stderr
    for path in (snapshots / "snaps").rglob("*.*"):
        assert path.read_bytes() == (tmp_path / "again" / path.relative_to(snapshots / "snaps")).read_bytes(), path.name
    with pytest.raises(GraphsleuthError, match="--ban names no planted ring: 'nobody'"):
        generate("demo", seed=1, accounts=1000, snapshots=2, ban="nobody")
    refused = cli("generate", "--accounts", "1000", "--snapshots", "3", "--ban-day", "30", "--out", str(tmp_path / "late"))
    assert refused.returncode == 1
    assert refused.stderr.strip() == "graphsleuth: error: --ban-day must fall between the first and the last snapshot (0 to 14), got 30.0"
    assert not (tmp_path / "late").exists()
