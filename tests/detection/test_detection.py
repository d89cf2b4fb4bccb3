"""Detection end to end and its parts: graph, clustering, scoring, campaigns, evaluation, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphsleuth import detect, read_evidence
from graphsleuth.detection.blocks import block_clusters
from graphsleuth.detection.clustering import ALGORITHMS, find_clusters, find_communities, split_merged_rings
from graphsleuth.detection.cohorts import cohort_clusters, private_template_clusters, template_cohort_clusters
from graphsleuth.detection.events import event_excuse
from graphsleuth.detection.explain import explain_ring, why_not_flagged
from graphsleuth.detection.features import _event_features, on_held_network
from graphsleuth.detection.graph import EvidenceGraph, build_evidence_graph
from graphsleuth.detection.made_together import creation_rank, made_together_clusters
from graphsleuth.detection.model import MODEL_FEATURES, model_inputs, ring_model
from graphsleuth.detection.organisations import (
    domain_codes,
    grown_organisation,
    keeps_office_hours,
    off_hours_line,
    organisation_domains,
    organisation_excuse,
    organisation_jobs,
    organisation_share,
    ring_tooling_share,
    scripted_seats,
    seats_sending,
)
from graphsleuth.detection.payments import payment_features
from graphsleuth.detection.pipeline import find_rings
from graphsleuth.detection.rings import _tie_communities, join_rings
from graphsleuth.detection.scoring import (
    SIGNALS_NEEDED,
    _unchanged_clusters,
    score_clusters,
    signal_kinds,
    signal_strength,
)
from graphsleuth.evidence import evidence_from_text, subnet_of
from graphsleuth.quality import evaluate, evaluate_members, read_truth

from helpers import shared_benchmark


@pytest.fixture
def graphsleuth_accounts():
    return 3000


def _members(findings) -> pd.DataFrame:
    return findings.members[["account_id", "ring_id"]]


def test_detect_finds_every_planted_ring_without_flagging_legitimate_groups(graphsleuth_population):
    findings = detect(graphsleuth_population.path)
    result = evaluate_members(_members(findings), graphsleuth_population.truth)
    assert result.ring_recall == 1.0, result.rings
    assert result.precision >= 0.95
    assert result.recall >= 0.9
    assert result.false_positives_per_100k <= 50


@pytest.mark.parametrize("graphsleuth_seed", [31, 32])
def test_targets_hold_on_unseen_seeds(graphsleuth_population):
    result = evaluate_members(_members(detect(graphsleuth_population.path)), graphsleuth_population.truth)
    assert result.ring_recall == 1.0 and result.precision >= 0.95 and result.recall >= 0.9


@pytest.mark.parametrize("graphsleuth_prompts", ["raw"])
def test_raw_prompts_get_templates_derived_and_rings_still_found(graphsleuth_population, tmp_path):
    out = tmp_path / "rings"
    findings = detect(graphsleuth_population.path, out=out)
    result = evaluate(out, graphsleuth_population.path / "truth.csv")
    assert result.ring_recall == 1.0 and result.precision >= 0.95
    assert result.templates["v_measure"] >= 0.9
    assert (out / "templates.csv").is_file()
    assert findings.rings


def test_same_input_and_seed_give_the_same_ring_ids(graphsleuth_population):
    first = detect(graphsleuth_population.path, seed=3)
    second = detect(graphsleuth_population.path, seed=3)
    assert [r.ring_id for r in first.rings] == [r.ring_id for r in second.rings]
    assert first.members.equals(second.members)


def test_ring_records_carry_evidence_spans_and_a_plain_explanation(graphsleuth_population, tmp_path):
    out = tmp_path / "rings"
    detect(graphsleuth_population.path, out=out)
    rings = [json.loads(line) for line in (out / "rings.jsonl").read_text().splitlines()]
    assert rings
    for ring in rings:
        assert ring["size"] >= 10 and 0 < ring["score"] <= 1
        assert {"cards", "ips", "subnets", "templates"} <= set(ring["evidence"])
        assert ring["created_from"] <= ring["created_to"]
        assert ring["explanation"].startswith(f"{ring['size']} linked accounts")
    members = pd.read_csv(out / "members.csv", dtype=str)
    assert set(members["ring_id"]) == {r["ring_id"] for r in rings}
    clusters = [json.loads(line) for line in (out / "clusters.jsonl").read_text().splitlines()]
    assert any(not c["flagged"] and c["reason"] for c in clusters), "unflagged clusters explain why"


def test_every_algorithm_runs_and_leiden_beats_components(graphsleuth_population):
    recall = {}
    for algorithm in ALGORITHMS:
        findings = detect(graphsleuth_population.path, algorithm=algorithm)
        recall[algorithm] = evaluate_members(_members(findings), graphsleuth_population.truth).ring_recall
    assert recall["leiden"] == 1.0
    assert recall["leiden"] >= recall["components"]


def test_external_openbotrisk_population_matches_the_published_detector():
    """A peer's population (never copied here): 148 of 150 ring accounts with no benign one flagged is the bar."""
    openbotrisk = shared_benchmark("openbotrisk")
    findings = detect(openbotrisk)
    result = evaluate_members(_members(findings), read_truth(openbotrisk / "truth.csv"))
    assert result.false_positives == 0
    assert result.recall * result.ring_accounts >= 148
    assert result.ring_recall == 1.0


def test_subnets_are_slash_24_and_slash_48():
    ips = pd.Series(["81.2.3.4", "2a02:8108:1234:5600::1", "10.0.0.255"])
    assert subnet_of(ips).tolist() == ["81.2.3.0/24", "2a02:8108:1234::/48", "10.0.0.0/24"]


def test_rare_evidence_weighs_more_and_hubs_are_dropped(tmp_path):
    n = 200
    accounts = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)]})
    # c0 is shared by two accounts, c1 by twenty; ip 1.1.1.1 by every account (a hub).
    payments = pd.DataFrame({"account_id": ["a0", "a1"] + [f"a{i}" for i in range(10, 30)], "payment_id": ["c0", "c0"] + ["c1"] * 20})
    ips = pd.DataFrame({"account_id": accounts["account_id"], "ip": "1.1.1.1"})
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    payments.to_csv(tmp_path / "payments.csv", index=False)
    ips.to_csv(tmp_path / "ips.csv", index=False)
    graph = build_evidence_graph(read_evidence(tmp_path))
    nodes = graph.evidence.set_index("value")
    assert nodes.loc["c0", "weight"] > nodes.loc["c1", "weight"] > 0
    assert bool(nodes.loc["1.1.1.1", "hub"])
    hub = nodes.index.get_loc("1.1.1.1")
    assert not (graph.links["evidence"] == hub).any()


@pytest.mark.parametrize("n", [20_000, 400_000])
def test_evidence_shared_by_over_500_accounts_is_a_hub_in_any_large_population(tmp_path, n):
    # An IP shared by 600 accounts (a carrier's CGNAT address, a VPN exit) ties strangers
    # together whether the population holds 20,000 or 400,000 accounts; 400 sharers is not a hub.
    accounts = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)]})
    ips = pd.DataFrame({"account_id": [f"a{i}" for i in range(1000)], "ip": ["9.9.9.9"] * 600 + ["8.8.4.4"] * 400})
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    ips.to_csv(tmp_path / "ips.csv", index=False)
    nodes = build_evidence_graph(read_evidence(tmp_path)).evidence.set_index("value")
    assert bool(nodes.loc["9.9.9.9", "hub"])
    assert not bool(nodes.loc["8.8.4.4", "hub"])


def test_the_graph_counts_each_templates_senders_as_the_prompts_do(graphsleuth_population):
    # Scoring compares a cluster's share of a template's senders with everybody's, from these counts.
    evidence = read_evidence(graphsleuth_population.path)
    counted = build_evidence_graph(evidence).sharers("template")
    expected = evidence.prompts.groupby("template_id")["account_id"].nunique()
    assert len(counted) == len(expected)
    assert (counted.reindex(expected.index).to_numpy() == expected.to_numpy()).all()


def _two_cliques(bridge_weight: float) -> EvidenceGraph:
    src, dst, w = [], [], []
    for block in (range(0, 10), range(10, 20)):
        for i in block:
            for j in block:
                if i < j:
                    src.append(i), dst.append(j), w.append(2.0)
    src.append(0), dst.append(10), w.append(bridge_weight)
    return EvidenceGraph(pd.Index([f"a{i}" for i in range(20)]), pd.DataFrame(), pd.DataFrame(), np.array(src), np.array(dst), np.array(w))


def test_touching_rings_are_split_but_a_uniform_ring_is_kept_whole():
    graph = _two_cliques(bridge_weight=1.0)
    coarse = np.zeros(20, dtype=np.int64)
    fine = np.array([0] * 10 + [1] * 10)
    split = split_merged_rings(graph, coarse, fine)
    assert len(set(split[:10])) == 1 and len(set(split[10:])) == 1 and split[0] != split[10]
    # Dense between the two halves as inside them: one ring, arbitrarily cut by the fine pass.
    dense = _two_cliques(bridge_weight=1.0)
    extra = [(i, j) for i in range(10) for j in range(10, 20)]
    dense.source = np.concatenate([dense.source, [i for i, _ in extra]])
    dense.target = np.concatenate([dense.target, [j for _, j in extra]])
    dense.weight = np.concatenate([dense.weight, np.full(len(extra), 2.0)])
    kept = split_merged_rings(dense, coarse, fine)
    assert len(set(kept)) == 1


def test_clusters_are_reproducible_with_a_seed(graphsleuth_population):
    graph = build_evidence_graph(read_evidence(graphsleuth_population.path), seed=1)
    assert (find_clusters(graph, seed=5) == find_clusters(graph, seed=5)).all()


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labellings group the same accounts together, whatever their numbers."""
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_quiet_accounts_change_no_cluster_and_stay_alone(graphsleuth_population, algorithm):
    """Accounts that share nothing, wherever they sit among the others, leave every cluster as it was."""
    graph = build_evidence_graph(read_evidence(graphsleuth_population.path))
    before = find_clusters(graph, algorithm=algorithm)
    rng = np.random.default_rng(3)
    n_quiet = 2 * graph.n_accounts
    spots = np.sort(rng.choice(graph.n_accounts + n_quiet, size=graph.n_accounts, replace=False))
    wider = EvidenceGraph(
        pd.Index([f"q{i}" for i in range(graph.n_accounts + n_quiet)]),
        graph.links,
        graph.evidence,
        spots[graph.source],
        spots[graph.target],
        graph.weight,
    )
    after = find_clusters(wider, algorithm=algorithm)
    assert _same_partition(before, after[spots])
    quiet = np.setdiff1d(np.arange(wider.n_accounts), spots)
    linked = np.union1d(graph.source, graph.target)
    assert len(set(after[quiet].tolist()) | set(after[spots[linked]].tolist())) == len(quiet) + len(set(after[spots[linked]].tolist()))
    assert len(np.unique(before)) > 10  # real clusters, not one per account


def test_cli_detect_and_evaluate_end_to_end(graphsleuth_population, tmp_path):
    out = tmp_path / "rings"
    run = subprocess.run(
        [sys.executable, "-m", "graphsleuth", "detect", str(graphsleuth_population.path), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "suspected rings" in run.stdout and "ring-" in run.stdout
    assert "building the evidence graph" in run.stderr  # progress goes to stderr
    quiet = subprocess.run(
        [sys.executable, "-m", "graphsleuth", "detect", str(graphsleuth_population.path), "--out", str(out), "--force", "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert quiet.stdout == "" and quiet.stderr == ""
    scored = subprocess.run(
        [sys.executable, "-m", "graphsleuth", "evaluate", str(out), str(graphsleuth_population.path / "truth.csv"), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(scored.stdout)
    assert figures["ring_recall"] == 1.0 and figures["precision"] >= 0.95


def test_cli_refuses_to_overwrite_results_without_force(graphsleuth_population, tmp_path):
    out = tmp_path / "rings"
    out.mkdir()
    (out / "keep.txt").write_text("investigator's notes")
    run = subprocess.run(
        [sys.executable, "-m", "graphsleuth", "detect", str(graphsleuth_population.path), "--out", str(out)], capture_output=True, text=True
    )
    assert run.returncode != 0
    assert len(run.stderr.strip().splitlines()) == 1 and "--force" in run.stderr
    assert (out / "keep.txt").read_text() == "investigator's notes"


def test_a_small_tight_group_stays_one_cluster(tmp_path):
    """Twelve accounts on one card and one device are one cluster (clusters under 20 skip the split check)."""
    ids = [f"a{i}" for i in range(80)]
    pd.DataFrame({"account_id": ids}).to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({"account_id": ids, "payment_id": ["shared"] * 12 + [f"own{i}" for i in range(12, 80)]}).to_csv(
        tmp_path / "payments.csv", index=False
    )
    pd.DataFrame({"account_id": ids[:12], "kind": "device", "value": "fp-1"}).to_csv(tmp_path / "links.csv", index=False)
    graph = build_evidence_graph(read_evidence(tmp_path))
    labels = find_clusters(graph)
    assert len(set(labels[:12])) == 1
    assert labels[12] not in set(labels[:12])


def _ring_with_quiet_members(path: Path) -> None:
    """1000 accounts; a0-a59 are a ring that sends its 4 templates with about a third of
    its requests (the rest are ordinary prompts). a0-a39 were created in one burst and pay
    from two BINs; a40-a59, the quiet ones, were created over a year, each with a card of
    its own. a60-a69 are a household sharing one card and nothing else."""
    rng = np.random.default_rng(4)
    n = 1000
    ids = [f"a{i}" for i in range(n)]
    days = rng.uniform(0, 365, n)
    days[:40] = 243 + rng.uniform(0, 2, 40) / 24
    created = pd.Timestamp("2025-01-01T00:00:00Z") + pd.to_timedelta(days, unit="D")
    pd.DataFrame(
        {"account_id": ids, "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "email": [f"user{i}@gmail.com" for i in range(n)]}
    ).to_csv(path / "accounts.csv", index=False)
    cards = [f"card{i}" for i in range(n)]
    bins = ["411111", "422222"] * 20 + [f"{500000 + i}" for i in range(40, n)]
    cards[60:70], bins[60:70] = ["household-card"] * 10, ["499999"] * 10
    pd.DataFrame({"account_id": ids, "payment_id": cards, "bin": bins}).to_csv(path / "payments.csv", index=False)
    rows = []
    for i in range(n):
        if i < 60:
            rows += [(ids[i], f"ring-t{t}", 9) for t in range(4)]
            rows += [(ids[i], f"benign-{b}", 24) for b in rng.choice(20, 3, replace=False)]
        else:
            rows += [(ids[i], f"benign-{b}", 10) for b in rng.choice(20, 3, replace=False)]
    pd.DataFrame(rows, columns=["account_id", "template_id", "count"]).to_csv(path / "prompts.csv", index=False)


def test_ring_members_who_hide_most_of_their_traffic_stay_in_the_ring(tmp_path):
    _ring_with_quiet_members(tmp_path)
    evidence = read_evidence(tmp_path)
    graph = build_evidence_graph(evidence)
    labels = np.arange(graph.n_accounts)
    labels[:70] = 0  # the ring and the household, as clustering would hand them over
    scores = score_clusters(evidence, graph, labels)
    assert bool(scores.table.set_index("cluster").loc[0, "flagged"])
    members = scores.member_scores
    assert (members.reindex([f"a{i}" for i in range(40)]) > 0).all()
    quiet = [f"a{i}" for i in range(40, 60)]  # 36% of requests on the ring's templates, no other signal
    assert (members.reindex(quiet) > 0).all()
    assert (members.reindex([f"a{i}" for i in range(60, 70)]) == 0).all()


def test_quiet_members_that_rotate_through_the_rings_proxies_stay_in_it_but_a_household_on_one_does_not(tmp_path):
    """The ring of :func:`_ring_with_quiet_members` sends through a pool of 12 datacenter addresses, three per
    account; a40-a49 of its quiet members now send its templates with a twentieth of their requests only, and
    rotate through three of the pool's addresses: members. a50-a59, as quiet on two addresses, show one signal
    and stay out, and so does the household a60-a69, whose home address a residential proxy also used."""
    _ring_with_quiet_members(tmp_path)
    prompts = pd.read_csv(tmp_path / "prompts.csv")
    quiet = prompts["account_id"].isin([f"a{i}" for i in range(40, 60)])
    prompts.loc[quiet & prompts["template_id"].str.startswith("ring-"), "count"] = 1
    prompts.loc[quiet & prompts["template_id"].str.startswith("benign-"), "count"] = 27
    prompts.to_csv(tmp_path / "prompts.csv", index=False)
    pool = [f"203.0.113.{i}" for i in range(12)]
    rows = [(f"a{i}", pool[(i + k) % 12]) for i in range(60) for k in range(2 if 50 <= i < 60 else 3)]
    rows += [(f"a{i}", pool[0]) for i in range(60, 70)] + [(f"a{i}", f"198.51.{i // 250}.{i % 250}") for i in range(70, 1000)]
    pd.DataFrame(rows, columns=["account_id", "ip"]).to_csv(tmp_path / "ips.csv", index=False)
    evidence = read_evidence(tmp_path)
    graph = build_evidence_graph(evidence)
    labels = np.arange(graph.n_accounts)
    labels[:70] = 0
    scores = score_clusters(evidence, graph, labels)
    assert bool(scores.table.set_index("cluster").loc[0, "flagged"])
    members = scores.member_scores
    assert (members.reindex([f"a{i}" for i in range(40, 50)]) > 0).all()
    assert (members.reindex([f"a{i}" for i in range(50, 70)]) == 0).all()


def test_many_cards_from_common_bins_are_not_a_ring_but_a_few_rare_bins_are(tmp_path):
    """a0-a599 all use one open-source tool's prompt and pay with cards from the usual mix of
    issuers: 600 cards come from far fewer BINs than cards, as any large group's do. a600-a699
    are a ring with one card each from 3 BINs that nobody else uses much."""
    rng = np.random.default_rng(9)
    n = 3000
    ids = [f"a{i}" for i in range(n)]
    created = pd.Timestamp("2025-01-01T00:00:00Z") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    pd.DataFrame({"account_id": ids, "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ")}).to_csv(tmp_path / "accounts.csv", index=False)
    popularity = 1.0 / np.arange(1, 301) ** 1.1
    bins = [f"{400000 + b}" for b in rng.choice(300, size=n, p=popularity / popularity.sum())]
    bins[600:700] = [f"{900000 + i % 3}" for i in range(100)]
    pd.DataFrame({"account_id": ids, "payment_id": [f"card{i}" for i in range(n)], "bin": bins}).to_csv(
        tmp_path / "payments.csv", index=False
    )
    rows = []
    for i in range(n):
        if i < 600:
            rows.append((ids[i], "tool-system-prompt", 30))
        elif i < 700:
            rows += [(ids[i], f"ring-t{t}", 10) for t in range(3)]
        rows += [(ids[i], f"benign-{b}", 10) for b in rng.choice(40, 2, replace=False)]
    pd.DataFrame(rows, columns=["account_id", "template_id", "count"]).to_csv(tmp_path / "prompts.csv", index=False)
    evidence = read_evidence(tmp_path)
    graph = build_evidence_graph(evidence)
    labels = np.arange(graph.n_accounts) + 2
    labels[:600], labels[600:700] = 0, 1
    scores = score_clusters(evidence, graph, labels)
    table = scores.table.set_index("cluster")
    assert table.loc[0, "bins"] < 0.5 * table.loc[0, "cards"]  # few BINs for the number of cards...
    assert table.loc[0, "bin_concentration"] < 0.2 and not table.loc[0, "flagged"]  # ...but the usual ones
    assert table.loc[1, "bin_concentration"] == 1.0 and bool(table.loc[1, "flagged"])
    assert (scores.member_scores.reindex(ids[600:700]) > 0).all()


def _operators(path: Path, shared_bin: bool = False, same_hours: bool = True) -> list[str]:
    """Two operators of 40 accounts each and 2,000 ordinary accounts, written as evidence to ``path``.

    Each operator creates its accounts in a burst of its own, buys one card per account from its own
    two BINs and routes through its own datacenter /24; both send the same three templates of a public distillation bank in waves, in
    the same hours when ``same_hours``, and ordinary templates besides. With ``shared_bin`` the
    operators' first BINs are the same issuer. Returns the account ids (operator A first)."""
    rng = np.random.default_rng(17)
    ids = [f"a{i}" for i in range(2080)]
    start = pd.Timestamp("2026-02-02T00:00:00Z")
    created = [
        start - pd.Timedelta(days=30 - 9 * (i // 40), hours=int(i % 10)) if i < 80 else start - pd.Timedelta(days=int(d))
        for i, d in zip(range(2080), rng.integers(0, 500, 2080))
    ]
    pd.DataFrame({"account_id": ids, "created_at": [c.strftime("%Y-%m-%dT%H:%M:%SZ") for c in created]}).to_csv(
        path / "accounts.csv", index=False
    )
    bins = {0: ["511111", "522222"], 1: ["511111" if shared_bin else "533333", "544444"]}
    pay = [(ids[i], f"card{i}", bins[i // 40][i % 2]) for i in range(80)]
    pay += [(ids[i], f"card{i}", str(400000 + int(rng.integers(0, 300)))) for i in range(80, 2080)]
    pd.DataFrame(pay, columns=["account_id", "payment_id", "bin"]).to_csv(path / "payments.csv", index=False)
    ips = [(ids[i], f"45.{10 + i // 40}.7.{i % 40 + 2}") for i in range(80)]
    ips += [(ids[i], f"81.{int(rng.integers(0, 255))}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 250))}") for i in range(80, 2080)]
    pd.DataFrame(ips, columns=["account_id", "ip"]).to_csv(path / "ips.csv", index=False)
    rows = []
    for i in range(2080):
        if i < 80:
            offset = 0 if same_hours or i < 40 else 7
            for day in (3, 10, 17):
                hour = start + pd.Timedelta(days=day, hours=20 + offset % 4)
                rows += [(ids[i], f"bank-{t}", hour.strftime("%Y-%m-%dT%H:%M:%SZ"), 30) for t in range(3)]
        for b in rng.choice(60, 2, replace=False):
            when = start + pd.Timedelta(hours=int(rng.integers(0, 1000)))
            rows.append((ids[i], f"benign-{b}", when.strftime("%Y-%m-%dT%H:%M:%SZ"), 10))
    pd.DataFrame(rows, columns=["account_id", "template_id", "ts", "count"]).to_csv(path / "prompts.csv", index=False)
    return ids


@pytest.mark.parametrize("same_hours", [True, False], ids=["same-hours", "own-hours"])
def test_operators_that_share_a_template_bank_are_two_rings_of_one_campaign(tmp_path, same_hours):
    """Two operators send the same bank templates (in the same hours, or each on its schedule) from their
    own cards and proxies: two rings, not one, and one campaign that says what ties them.

    Sending in the same hours is synchrony, which ties a ring; their cards and proxies keep them
    apart, though an account or two may land on the other side (each ring >= 0.9 Jaccard)."""
    ids = _operators(tmp_path, same_hours=same_hours)
    findings = detect(tmp_path, browser_links=False)
    members = findings.members.set_index("account_id")
    ring_of = members["ring_id"].reindex(ids[:80])
    assert ring_of.notna().all(), ring_of.isna().sum()
    ring_a, ring_b = ring_of.iloc[:40].mode()[0], ring_of.iloc[40:].mode()[0]
    assert ring_a != ring_b
    for ring, operator in ((ring_a, set(ids[:40])), (ring_b, set(ids[40:80]))):
        held = set(members.index[members["ring_id"] == ring])
        assert len(held & operator) / len(held | operator) >= 0.9, (ring, len(held), len(held & operator))
    assert not set(members.index) - set(ids[:80])  # no ordinary account flagged
    (campaign,) = findings.campaigns
    assert set(campaign.ring_ids) == set(ring_of) and {value for value, _ in campaign.shared_templates} == {"bank-0", "bank-1", "bank-2"}
    assert members["campaign_id"].nunique() == 1


def test_a_campaigns_shared_templates_come_most_shared_first_then_by_name_whatever_the_string_hashing():
    """Each ring's templates are a set, whose order follows Python's string hashing: campaigns.jsonl listed
    templates shared by as many rings in a different order from one run to the next."""
    script = (
        "from graphsleuth.detection.campaigns import group_campaigns\n"
        "_, (c,) = group_campaigns(['r1', 'r2', 'r3'], [50, 40, 30], "
        "[{'t-b', 't-a', 't-c', 't-d'}, {'t-c', 't-a', 't-b', 't-d'}, {'t-b', 't-d', 't-a'}])\n"
        "print(c.shared_templates)"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": str(seed)}, capture_output=True, text=True, check=True
        ).stdout
        for seed in range(6)
    }
    assert seen == {"(('t-a', 3), ('t-b', 3), ('t-d', 3), ('t-c', 2))\n"}


def test_a_bin_two_operators_both_buy_from_does_not_make_them_one_ring(tmp_path):
    """Operators buy prepaid cards from the same few issuers: one BIN in common, everything else their own."""
    ids = _operators(tmp_path, shared_bin=True, same_hours=False)
    members = detect(tmp_path, browser_links=False).members.set_index("account_id")
    ring_of = members["ring_id"].reindex(ids[:80])
    assert ring_of.notna().all() and ring_of.iloc[0] != ring_of.iloc[40]
    assert ring_of.iloc[:40].nunique() == 1 and ring_of.iloc[40:].nunique() == 1


def _operators_on_popular_bins(path: Path) -> None:
    """Two operators of 40 accounts and 2,000 ordinary accounts, written as evidence to ``path``.

    Each operator shares eight cards among its accounts (five to a card) and routes through four
    proxy IPs of its own /24, two per account; both buy their cards from the same two BINs, which
    every eighth ordinary account uses too. Nothing else ties the operators."""
    rng = np.random.default_rng(5)
    ids = [f"a{i}" for i in range(2080)]
    start = pd.Timestamp("2026-02-02T00:00:00Z")
    created = [(start - pd.Timedelta(days=int(d))).strftime("%Y-%m-%dT%H:%M:%SZ") for d in rng.integers(0, 500, 2080)]
    pd.DataFrame({"account_id": ids, "created_at": created}).to_csv(path / "accounts.csv", index=False)
    popular = ["400001", "400002"]
    pay = [(ids[i], f"card{i // 5}", popular[i % 2]) for i in range(80)]
    pay += [(ids[i], f"card{i}", popular[i % 2] if i % 8 == 0 else str(400100 + int(rng.integers(0, 300)))) for i in range(80, 2080)]
    pd.DataFrame(pay, columns=["account_id", "payment_id", "bin"]).to_csv(path / "payments.csv", index=False)
    ips = [(ids[i], f"45.{10 + i // 40}.7.{j + 2}") for i in range(80) for j in rng.choice(4, 2, replace=False)]
    ips += [(ids[i], f"81.{int(rng.integers(0, 255))}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 250))}") for i in range(80, 2080)]
    pd.DataFrame(ips, columns=["account_id", "ip"]).to_csv(path / "ips.csv", index=False)


def test_two_operators_that_meet_on_popular_bins_are_two_dense_blocks(tmp_path):
    """Peeling keeps the union of two equally dense groups joined by a popular BIN; the block is cut
    along the ties inside it, so each operator is a cluster of its own, with no ordinary account."""
    _operators_on_popular_bins(tmp_path)
    graph = build_evidence_graph(read_evidence(tmp_path))
    labels = block_clusters(graph, np.arange(graph.n_accounts), np.zeros(graph.n_accounts, dtype=bool), min_size=20)
    operator_a, operator_b = set(labels[:40]), set(labels[40:80])
    assert len(operator_a) == 1 and len(operator_b) == 1 and operator_a != operator_b
    assert not np.isin(labels[80:], labels[:80]).any()


def test_one_operator_paying_from_four_bins_through_one_proxy_pool_stays_one_dense_block(tmp_path):
    """Eighty accounts, a card each from four rare BINs (twenty to a BIN), each on two of the operator's
    eight proxy IPs: modularity splits them by BIN, but the proxies tie the parts as often as chance
    gives, so the block is not cut (cutting where ties were merely sparser than inside did cut it)."""
    rng = np.random.default_rng(11)
    ids = [f"a{i}" for i in range(2080)]
    start = pd.Timestamp("2026-02-02T00:00:00Z")
    created = [(start - pd.Timedelta(days=int(d))).strftime("%Y-%m-%dT%H:%M:%SZ") for d in rng.integers(0, 500, 2080)]
    pd.DataFrame({"account_id": ids, "created_at": created}).to_csv(tmp_path / "accounts.csv", index=False)
    pay = [(ids[i], f"card{i}", f"51111{i // 20}") for i in range(80)]
    pay += [(ids[i], f"card{i}", str(400100 + int(rng.integers(0, 300)))) for i in range(80, 2080)]
    pd.DataFrame(pay, columns=["account_id", "payment_id", "bin"]).to_csv(tmp_path / "payments.csv", index=False)
    ips = [(ids[i], f"45.10.{j}.7") for i in range(80) for j in rng.choice(8, 2, replace=False)]
    ips += [(ids[i], f"81.{int(rng.integers(0, 255))}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 250))}") for i in range(80, 2080)]
    pd.DataFrame(ips, columns=["account_id", "ip"]).to_csv(tmp_path / "ips.csv", index=False)
    graph = build_evidence_graph(read_evidence(tmp_path))
    labels = block_clusters(graph, np.arange(graph.n_accounts), np.zeros(graph.n_accounts, dtype=bool), min_size=20)
    assert len(set(labels[:80])) == 1 and not np.isin(labels[80:], labels[:80]).any()


def test_rescoring_joined_rings_reuses_only_what_did_not_change(graphsleuth_population):
    """After pieces of rings are joined, scoring with the earlier scores at hand gives exactly
    what scoring from scratch gives: features, flags, own templates and member scores."""
    evidence = read_evidence(graphsleuth_population.path)
    graph = build_evidence_graph(evidence)
    labels = find_clusters(graph)
    first = score_clusters(evidence, graph, labels)
    flagged = first.flagged
    is_member = first.member_scores.reindex(graph.accounts).fillna(0.0).to_numpy() > 0
    joined = join_rings(graph, labels, flagged, is_member, first.own_templates)
    assert (joined != labels).any()
    sizes = np.bincount(joined)
    kept = _unchanged_clusters(joined, np.flatnonzero(sizes >= 10), first, labels)
    assert 0 < len(kept) < (sizes >= 10).sum()  # some clusters are reused, the joined ones are not
    scratch = score_clusters(evidence, graph, joined)
    reused = score_clusters(evidence, graph, joined, previous=first, previous_labels=labels)
    pd.testing.assert_frame_equal(reused.table, scratch.table)
    key = ["cluster", "template_id"]
    own = [s.own_templates.sort_values(key).reset_index(drop=True) for s in (reused, scratch)]
    pd.testing.assert_frame_equal(own[0], own[1])
    pd.testing.assert_series_equal(reused.member_scores.sort_index(), scratch.member_scores.sort_index())


def test_one_marginal_tie_does_not_make_two_tight_groups_one_ring():
    """A ring's pieces tied many times over and a hackathon's pieces tied by their venue share one marginal
    tie (a popular BIN): two rings, where a transitive join made one. A ring whose pieces modularity would
    split, with many ties across the split, stays one."""
    ring_pieces, hackathon_pieces = np.arange(12), np.arange(12, 24)

    def clique(pieces):
        a, b = np.triu_indices(len(pieces), 1)
        return pieces[a], pieces[b]

    a1, b1 = clique(ring_pieces)
    a2, b2 = clique(hackathon_pieces)
    a = np.concatenate([a1, a2, [3]])
    b = np.concatenate([b1, b2, [17]])
    rings = _tie_communities(a, b, np.ones(len(a)), 24)
    assert len(set(rings[ring_pieces])) == 1 and len(set(rings[hackathon_pieces])) == 1
    assert rings[0] != rings[12]
    # two halves of one ring, each tied within, and tied across at a third of the rate within
    rng = np.random.default_rng(3)
    pairs = [(i, j) for i in range(24) for j in range(i + 1, 24) if rng.random() < (0.6 if (i < 12) == (j < 12) else 0.2)]
    a, b = np.array(pairs).T
    assert len(set(_tie_communities(a, b, np.ones(len(a)), 24))) == 1


def test_a_small_ring_tied_once_to_one_piece_of_a_large_ring_stays_apart_but_a_chain_of_turns_stays_one():
    """A large ring's twelve pieces are tied many times over; a small ring, one piece, shares one tie with one of
    them (its waves fell in hours that piece sent the same toolkit in): two rings, where modularity gives a
    piece with a single tie to its partner's ring. A ring whose accounts take turns, each piece tied to the
    ones at work just before and after it, stays one ring, its two ends included."""
    large = np.arange(12)
    a, b = np.triu_indices(12, 1)
    rings = _tie_communities(np.r_[a, 3], np.r_[b, 12], np.ones(len(a) + 1), 13)
    assert len(set(rings[large])) == 1 and rings[12] != rings[0]
    chain = np.arange(6)
    rings = _tie_communities(chain[:-1], chain[1:], np.ones(5), 6)
    assert len(set(rings)) == 1


def test_a_piece_whose_few_card_holders_bank_with_a_popular_issuer_is_not_joined_to_a_ring_by_it():
    """Two pieces of one ring pay four cards in five from a BIN a fifth of everyone uses: joined by it. A
    hackathon's piece, two of whose ten members bank there too, is as alike in BIN profile (its only BIN), yet
    two in ten is what the BIN's popularity gives any ten accounts: it stays apart."""
    n = 100_000
    ring_a, ring_b, hackathon = np.arange(0, 40), np.arange(40, 80), np.arange(80, 90)
    on_bin = np.concatenate([ring_a[:32], ring_b[:32], hackathon[:2]])
    graph = EvidenceGraph(
        pd.Index([f"a{i}" for i in range(n)]),
        pd.DataFrame({"account": [], "evidence": []}),
        pd.DataFrame({"kind": ["bin"], "value": ["411111"], "degree": [n // 5], "weight": [0.1]}),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        shared=(on_bin.astype(np.int32), np.zeros(len(on_bin), np.int32)),
    )
    labels = np.arange(n) + 10
    labels[ring_a], labels[ring_b], labels[hackathon] = 0, 1, 2
    joined = join_rings(graph, labels, np.array([0, 1, 2]), np.arange(n) < 90)
    assert joined[0] == joined[40] and joined[80] != joined[0]


def _graph_of_items(n: int, items: list[tuple[str, np.ndarray]]) -> EvidenceGraph:
    """n accounts and the shared items of join_rings: each (kind, the accounts that use it), no edges."""
    account = np.concatenate([users for _, users in items]).astype(np.int32)
    item = np.repeat(np.arange(len(items)), [len(users) for _, users in items]).astype(np.int32)
    evidence = pd.DataFrame(
        {"kind": [kind for kind, _ in items], "value": [str(500_000 + i) for i in range(len(items))], "degree": [len(u) for _, u in items]}
    )
    evidence["weight"] = 1.0
    empty = pd.DataFrame({"account": [], "evidence": []})
    return EvidenceGraph(
        pd.Index([f"a{i}" for i in range(n)]),
        empty,
        evidence,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        shared=(account, item),
    )


def test_a_small_rings_own_bin_and_waves_bring_in_its_members_beside_a_large_ring_but_a_shared_issuer_does_not():
    """A large ring flags a tenth of all accounts. A small ring's piece of 9 pays from a BIN and sends in a wave
    hour that 19 accounts use: its 9, 8 more of its accounts that clustering placed elsewhere, and 2 others each.
    Against the large ring's share, 9 of 19 is what chance could give; against the piece's own share it is
    not, and its 8 other accounts, using both, join it, while the 2 others, using the BIN alone, do not. An
    issuer and a wave hour that 20 of a piece's accounts use among 100, 70 of them another operator's
    accounts that no flagged piece holds, are shared, not held: that operator is not brought in."""
    n = 5000
    large, small, elsewhere, others = np.arange(500), np.arange(500, 509), np.arange(509, 517), np.arange(517, 519)
    users = np.concatenate([small, elsewhere, others])
    graph = _graph_of_items(n, [("bin", users), ("wave_hour", np.concatenate([small, elsewhere, [n - 1, n - 2]]))])
    labels = np.arange(n) + 2
    labels[large], labels[small] = 0, 1
    joined = join_rings(graph, labels, np.array([0, 1]), np.arange(n) < 509)
    assert set(joined[elsewhere]) == {joined[small[0]]} and joined[small[0]] != joined[0]
    assert joined[others[0]] == labels[others[0]]

    n = 40_000
    large, piece, operator, customers = np.arange(3000), np.arange(3000, 3020), np.arange(3020, 3090), np.arange(3090, 3100)
    users = np.concatenate([piece, operator, customers])
    graph = _graph_of_items(n, [("bin", users), ("wave_hour", users)])
    labels = np.arange(n) + 2
    labels[large], labels[piece] = 0, 1
    joined = join_rings(graph, labels, np.array([0, 1]), np.arange(n) < 3020)
    assert (joined[operator] == labels[operator]).all()


def test_an_organisations_seats_on_a_rings_cloud_and_hours_join_it_only_when_its_members_share_their_domain():
    """A ring's piece of 12 on free mail runs on a cloud subnet in one wave hour. An evaluation company's 6 seats
    on its own domain use the same subnet in the same hour (its nightly suites): two kinds of the ring's evidence,
    yet another party on the same cloud, not the operator's, and they stay out; 3 of the ring's accounts on a
    domain its members use join it, and so do the seats when the ring holds members on their domain."""
    n = 5000
    large, piece, seats, own = np.arange(500), np.arange(500, 512), np.arange(512, 518), np.arange(518, 521)
    users = np.concatenate([piece, seats, own])
    graph = _graph_of_items(n, [("subnet", users), ("wave_hour", users)])
    labels = np.arange(n) + 2
    labels[large], labels[piece] = 0, 1
    domains = np.full(n, None, dtype=object)
    domains[seats] = "evalco.ai"
    domains[np.concatenate([piece[:3], own])] = "mail115.xyz"
    joined = join_rings(graph, labels, np.array([0, 1]), np.arange(n) < 512, domains=domains)
    ring = joined[piece[0]]
    assert (joined[own] == ring).all() and (joined[seats] == labels[seats]).all()
    assert (join_rings(graph, labels, np.array([0, 1]), np.arange(n) < 512)[seats] == ring).all()
    domains[piece[3:6]] = "evalco.ai"
    assert (join_rings(graph, labels, np.array([0, 1]), np.arange(n) < 512, domains=domains)[seats] == ring).all()


def test_members_brought_in_make_more_of_their_rings_evidence_its_own_and_bring_in_the_rest():
    """A careful ring's piece of 12 pays from a BIN that 14 accounts use, 2 of them its members: too few for the
    BIN to be the ring's. 3 more of its accounts share the piece's proxy subnet and its wave hour, and join it;
    with them 5 of the BIN's 14 users are members, the BIN is the ring's, and its 7 other accounts, which share
    the wave hour too, join in turn. Two customers of the BIN who share nothing else do not."""
    n = 5000
    large, piece, proxied, rest, customers = (
        np.arange(500),
        np.arange(500, 512),
        np.arange(512, 515),
        np.arange(515, 522),
        np.arange(522, 524),
    )
    graph = _graph_of_items(
        n,
        [
            ("subnet", np.concatenate([piece, proxied])),
            ("wave_hour", np.concatenate([piece, proxied, rest])),
            ("bin", np.concatenate([piece[:2], proxied, rest, customers])),
        ],
    )
    labels = np.arange(n) + 2
    labels[large], labels[piece] = 0, 1
    joined = join_rings(graph, labels, np.array([0, 1]), np.arange(n) < 512)
    ring = joined[piece[0]]
    assert ring != joined[large[0]]
    assert (joined[proxied] == ring).all() and (joined[rest] == ring).all()
    assert not (joined[customers] == ring).any()


def _assert_one_cohort(n: int, items: list[tuple[str, np.ndarray]], ring: np.ndarray, strangers: np.ndarray) -> None:
    """Among n accounts holding ``items`` (hubs of the projection above 500 accounts), the cohorts make ``ring`` one
    new cluster and leave ``strangers`` as they were."""
    graph = _graph_of_items(n, items)
    graph.evidence["hub"] = graph.evidence["degree"] > 500
    labels = np.arange(n)
    found = cohort_clusters(graph, labels, np.zeros(n, dtype=bool), min_size=10)
    assert len(np.unique(found[ring])) == 1 and found[ring[0]] != labels[ring[0]]
    assert (found[strangers] == labels[strangers]).all()


def test_a_ring_made_in_three_hours_on_issuers_of_its_own_is_one_cohort_but_a_popular_issuers_customers_are_not():
    """3,000 accounts made within three hours pay from three BINs of their own: each account has one BIN and
    one creation hour, each shared by a thousand, too many to project. Chance puts a few dozen accounts on a
    given BIN and hour; a thousand are: one cluster. 8,000 customers of a popular issuer, made over the same
    months as everyone, share its BIN and no creation hour beyond what chance gives."""
    n = 100_000
    ring = np.arange(3000)
    customers = np.arange(3000, 11_000)
    items = [("bin", ring[k::3]) for k in range(3)] + [("created", ring[h * 1000 : (h + 1) * 1000]) for h in range(3)]
    items += [("bin", customers), ("created", customers[::100])]
    _assert_one_cohort(n, items, ring, customers)


def test_a_ring_on_its_own_prepaid_bins_and_proxy_subnets_is_one_cohort_but_an_issuers_customers_at_home_are_not():
    """1,200 accounts pay, one card each, from six prepaid BINs of their own and send through forty proxy
    subnets, 30 accounts each: no item is a hub, and a (subnet, BIN) pair holds only five accounts, but chance
    puts 0.06 there, over 240 pairs. 8,000 customers of a popular issuer live on ISP subnets of 40 among
    everyone else: their BIN and subnet meet as often as chance gives, and make no cohort."""
    n = 100_000
    ring = np.arange(1200)
    customers = np.arange(1200, 9200)
    items = [("bin", ring[k::6]) for k in range(6)] + [("subnet", ring[s * 30 : (s + 1) * 30]) for s in range(40)]
    homes = np.random.default_rng(0).permutation(np.arange(1200, n))
    items += [("bin", customers)] + [("subnet", homes[s * 40 : (s + 1) * 40]) for s in range(len(homes) // 40)]
    _assert_one_cohort(n, items, ring, customers)


def test_an_operators_waves_are_one_cohort_but_a_class_in_its_lecture_hours_is_not():
    """2,000 accounts sharing nothing else send one template in four waves of 1,000 each, every account in two:
    lockstep tokens too popular to project, and two successive waves hold 500 accounts where chance puts 10.
    150 students send their assignment in two lecture hours: synchrony too, but a class's tokens are no hub, and
    a cohort with a timing token must have one (lectures and toolkits' schedules are shared by strangers)."""
    n = 100_000
    ring = np.arange(2000)
    waves = [np.concatenate([ring[w::4], ring[(w + 1) % 4 :: 4]]) for w in range(4)]
    students = np.arange(2000, 2150)
    items = [("lockstep", wave) for wave in waves] + [("lockstep", students), ("lockstep", students)]
    _assert_one_cohort(n, items, ring, students)


def test_a_rare_bins_users_who_send_the_same_templates_are_one_cohort_but_a_toolkit_ties_no_two_bins():
    """90 accounts each pay from a rare BIN 95 accounts use and send the same two distillation templates
    (nothing else in common: made evenly, no proxy, a card each): one cluster. Another operator's 40 accounts
    on a BIN of their own send one of those templates too: a cluster of their own, not one with the first.
    2,000 customers of a popular BIN, 30 of whom send the first template, and a campus subnet's students who
    all send their assignment are no cohort: the BIN is not theirs, and a subnet's users are a campus's."""
    n = 100_000
    ring, other, customers, students = np.arange(90), np.arange(100, 140), np.arange(1000, 3000), np.arange(5000, 5300)
    items = [("bin", np.concatenate([ring, np.arange(90, 95)])), ("bin", other), ("bin", customers)]
    items += [("template", np.concatenate([ring, other, customers[:30]])), ("template", ring[::2])]
    items += [("subnet", students), ("template", students)]
    graph = _graph_of_items(n, items)
    graph.evidence["hub"] = False
    labels = np.arange(n)
    found = template_cohort_clusters(graph, labels, np.zeros(n, dtype=bool), min_size=10)
    assert len(np.unique(found[ring])) == 1 and found[ring[0]] != labels[ring[0]]
    assert len(np.unique(found[other])) == 1 and found[other[0]] not in (labels[other[0]], found[ring[0]])
    assert (found[customers] == labels[customers]).all() and (found[students] == labels[students]).all()


def test_the_senders_of_templates_nobody_else_sends_are_one_cluster_but_a_starter_kits_users_and_a_ring_are_not():
    """28 accounts that share no card, BIN or proxy each send four of six templates only they send: pairs of
    them sent together by a dozen accounts where chance puts none, one cluster. 100 hackathon participants
    send both starter-kit templates, which 400 other users send one of: a cohort, but two thirds of each
    template's senders are not its members, so nobody's own. A ring found already (its accounts taken) that
    sends two more templates of its own is left as it was, and so is a class on its university's domain that
    sends its assignments: its domain ties it, and its own templates are its course's. Where the account graph's
    edges are held elsewhere (Spark), the groups cannot be cut, and nothing is grouped."""
    n = 60_000
    ring, hackers, kit_users, found = np.arange(28), np.arange(100, 200), np.arange(1000, 1400), np.arange(5000, 5040)
    students = np.arange(6000, 6030)
    rng = np.random.default_rng(5)
    own = [[] for _ in range(6)]
    for account in ring:
        for template in rng.choice(6, 4, replace=False):
            own[template].append(account)
    items = [("template", np.array(senders)) for senders in own]
    items += [("template", np.concatenate([hackers, kit_users[k::2]])) for k in range(2)]
    items += [("template", found) for _ in range(2)] + [("template", students) for _ in range(3)]
    graph = _graph_of_items(n, items)
    graph.evidence["hub"] = graph.evidence["degree"] > 500
    labels = np.arange(n)
    taken = np.zeros(n, dtype=bool)
    taken[found] = True
    seated = np.zeros(n, dtype=bool)
    seated[students] = True
    assert len(np.unique(private_template_clusters(graph, labels, taken, min_size=10)[students])) == 1
    grouped = private_template_clusters(graph, labels, taken, min_size=10, seated=seated)
    assert len(np.unique(grouped[ring])) == 1 and grouped[ring[0]] != labels[ring[0]]
    assert (grouped[hackers] == labels[hackers]).all() and (grouped[kit_users] == labels[kit_users]).all()
    assert (grouped[found] == labels[found]).all() and (grouped[students] == labels[students]).all()
    graph.edge_count = 1_000  # another engine holds the edges the cut needs: nothing is grouped
    assert (private_template_clusters(graph, labels, taken, min_size=10, seated=seated) == labels).all()


def test_a_piece_kept_apart_into_a_ring_too_small_to_report_joins_the_ring_whose_evidence_its_members_use():
    """A piece of 30 and a piece of 4 share a proxy subnet and a BIN, but each has cards and a device of its
    own: as many kinds call them two operators as one, and the pieces stay apart. The 4 would be a ring of
    their own, too small to report, and lost; as accounts they use the larger ring's subnet and BIN, two
    kinds, and join it. A household on the subnet alone does not."""
    n = 5000
    large, small, household = np.arange(30), np.arange(30, 34), np.arange(34, 37)
    graph = _graph_of_items(
        n,
        [
            ("subnet", np.concatenate([large, small, household])),
            ("bin", np.concatenate([large, small])),
            ("card", large[:15]),
            ("card", large[15:]),
            ("link", large),
            ("card", small),
            ("link", small),
        ],
    )
    labels = np.arange(n) + 2
    labels[large], labels[small] = 0, 1
    member = np.arange(n) < 34
    apart = join_rings(graph, labels, np.array([0, 1]), member)
    assert apart[small[0]] != apart[large[0]]
    joined = join_rings(graph, labels, np.array([0, 1]), member, min_size=10)
    assert (joined[small] == joined[large[0]]).all()
    assert not (joined[household] == joined[large[0]]).any()


def test_a_small_piece_of_a_large_ring_shows_its_pools_network_but_a_household_shows_its_one_home_address():
    """A piece of seven of a ring of two thousand rotates through a datacenter pool of 25 addresses, each shared
    by 270 of the ring's accounts: the piece itself shares few of them, but all sit in the pool's /24, which
    the piece holds, and each member is on three of them. A household of four is on its one home address."""
    n = 60_000
    piece, household, ring = np.arange(7), np.arange(7, 11), np.arange(11, 2011)
    rng = np.random.default_rng(3)
    items = []
    pool = [f"10.1.2.{i}" for i in range(1, 26)]
    used = {ip: [] for ip in pool}
    for member in piece:
        for ip in rng.choice(pool, 3, replace=False):
            used[ip].append(member)
    for i, ip in enumerate(pool):
        items.append(("ip", ip, np.concatenate([used[ip], ring[i * 80 : i * 80 + 270]])))
    items.append(("subnet", "10.1.2.0/24", np.concatenate([piece, ring])))
    items.append(("ip", "192.168.5.7", household))
    items.append(("subnet", "192.168.5.0/24", np.concatenate([household, np.arange(3000, 3040)])))
    account = np.concatenate([users for *_, users in items]).astype(np.int32)
    item = np.repeat(np.arange(len(items)), [len(users) for *_, users in items]).astype(np.int32)
    evidence = pd.DataFrame(
        {"kind": [k for k, *_ in items], "value": [v for _, v, _ in items], "degree": [len(np.unique(u)) for *_, u in items]}
    )
    evidence["weight"] = 1.0
    graph = EvidenceGraph(
        pd.Index([f"a{i}" for i in range(n)]),
        pd.DataFrame({"account": [], "evidence": []}),
        evidence,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        shared=(account, item),
    )
    cluster_of = np.full(n, -1)
    cluster_of[piece], cluster_of[household] = 0, 1
    on_held, held_ips = on_held_network(graph, cluster_of, 5)
    assert (held_ips[piece] == 3).all() and on_held[piece].all()
    assert (held_ips[household] <= 1).all()


def test_accounts_on_a_rings_proxies_sending_its_own_templates_join_it_but_a_neighbour_or_a_toolkits_buyer_does_not():
    """A ring's piece of 30 connects through a proxy subnet and sends two templates of its own; 10 more of its
    accounts, which clustering left out, share only those with it (a card each, no waves): they join it. A
    household on the same subnet sends none of its templates; another operator that bought the same toolkit
    and pays from the ring's prepaid BIN does not connect through its proxies: neither joins."""
    n = 5000
    piece, left_out, household, operator = np.arange(30), np.arange(30, 40), np.arange(40, 44), np.arange(44, 54)
    subnet = np.concatenate([piece, left_out, household])
    senders = np.concatenate([piece, left_out, operator])
    bin_users = np.concatenate([piece, operator])
    graph = _graph_of_items(n, [("subnet", subnet), ("template", senders), ("template", senders), ("bin", bin_users)])
    own = pd.DataFrame({"cluster": [0, 0], "template_id": ["500001", "500002"]})
    labels = np.arange(n) + 1
    labels[piece] = 0
    joined = join_rings(graph, labels, np.array([0]), np.arange(n) < 30, own)
    ring = joined[piece[0]]
    assert (joined[left_out] == ring).all()
    assert not (joined[household] == ring).any() and not (joined[operator] == ring).any()


def test_one_member_carrying_another_rings_device_does_not_join_a_piece_of_a_thousand_to_that_ring():
    """Two pieces of 20 accounts share a device: one operator's. A piece of a thousand, another operator's,
    holds one of that device's accounts too: its profile over devices is that one device, as alike as can be,
    yet one member in a thousand is no use of it: the thousand stay apart from the two pieces, which join."""
    n = 10_000
    thousand, first, second = np.arange(1000), np.arange(1000, 1020), np.arange(1020, 1040)
    device = np.concatenate([thousand[:1], first, second])
    graph = _graph_of_items(n, [("link", device)])
    labels = np.arange(n) + 3
    labels[thousand], labels[first], labels[second] = 0, 1, 2
    joined = join_rings(graph, labels, np.array([0, 1, 2]), np.arange(n) < 1040)
    assert joined[first[0]] == joined[second[0]] != joined[thousand[1]]


def test_an_event_excuses_a_group_created_for_it_but_not_a_rings_accounts_made_weeks_before_their_two_waves():
    """A hackathon's participants sign up on its first day and send its starter kit over two days; a ring's
    accounts, made seven weeks before, sent their two waves within two days. Both spent their templates in two
    days; only the participants were created for it, and only their score is lowered for an event."""
    n = 20
    hours = pd.DataFrame(
        {
            "account": np.repeat(np.arange(n), 3),
            "t": np.repeat([0] * 10 + [1] * 10, 3),
            "h": np.tile([100 * 24 + 9, 100 * 24 + 15, 101 * 24 + 10], n),
        }
    )
    graph = EvidenceGraph(
        pd.Index([f"a{i}" for i in range(n)]),
        pd.DataFrame({"account": [], "evidence": []}),
        pd.DataFrame({"kind": [], "value": [], "degree": [], "weight": []}),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        template_hours=hours,
        template_names=["starter-kit", "distil-cot"],
    )
    own = pd.DataFrame({"cluster": [0, 1], "template_id": ["starter-kit", "distil-cot"], "characteristic": [True, True]})
    created_day = np.array([100.0] * 10 + [51.0] * 10)
    events = _event_features(own, graph, np.repeat([0, 1], 10), created_day)
    assert events["created_at_event"].to_dict() == {0: 1.0, 1: 0.0}
    table = pd.DataFrame(0.0, index=[0, 1], columns=list(MODEL_FEATURES) + ["event_share", "after_event_share"])
    table["event_share"], table["after_event_share"] = 0.9, 0.3
    table["created_at_event"] = events["created_at_event"]
    inputs = model_inputs(table)
    assert inputs.loc[0, "one_event"] == pytest.approx(0.8) and inputs.loc[1, "one_event"] == 0.0
    assert inputs.loc[1, "event_then_ordinary"] == 0.0 < inputs.loc[0, "event_then_ordinary"]


def test_a_large_group_on_shared_addresses_without_an_organisation_scores_as_a_ring_but_a_small_one_or_an_event_does_not():
    """Thousands of accounts on no organisation's domain, held together by the addresses they connect from,
    are a proxy pool's users: flagged on that and a creation burst. Ten such accounts may be a household or
    an office, and a venue's hundreds shared it for an event's two days: neither is."""
    table = pd.DataFrame(0.0, index=["pool", "few", "venue"], columns=list(MODEL_FEATURES))
    table["network_share"], table["burst_share"], table["creation_spread"], table["office_hours_share"] = 1.0, 1.0, 0.1, 0.11
    table["size"] = [2761, 10, 113]
    table["event_share"], table["after_event_share"], table["created_at_event"] = [0.0, 0.0, 0.84], 1.0, [0.0, 0.0, 1.0]
    table.loc["venue", "after_event_share"] = 0.31
    model = ring_model()
    score = pd.Series(model.probability(table), index=table.index)
    assert score["pool"] >= model.threshold > max(score["few"], score["venue"])
    assert model_inputs(table).loc["pool", "network_at_scale"] == pytest.approx(0.9)  # made within a tenth of the spread


def test_a_company_whose_seats_send_heavily_at_night_has_no_office_network_but_a_class_at_night_keeps_it():
    """Two thousand seats on one company domain and card, on a few datacenter addresses, made within weeks:
    sending at four times an ordinary account's rate at night, their shared addresses are a proxy pool's, and
    the cluster scores as a ring. The same seats in office hours, or a class that studies at night at an
    ordinary account's rate, are an organisation on its own network."""
    table = pd.DataFrame(0.0, index=["night", "office", "class"], columns=list(MODEL_FEATURES))
    table["organisation_share"], table["network_share"], table["card_sharing"], table["size"] = 1.0, 1.0, 1.0, 2000
    table["creation_spread"], table["working_spread"], table["event_share"], table["after_event_share"] = 0.1, 0.9, 0.0, 1.0
    table["office_hours_share"], table["off_hours_line"] = [0.13, 0.45, 0.13], 0.23
    table["volume"] = [0.36, 0.36, 0.0]
    model = ring_model()
    score = pd.Series(model.probability(table), index=table.index)
    assert score["night"] >= model.threshold > max(score["office"], score["class"])
    assert model_inputs(table)["network_without_organisation"].to_dict() == {"night": 1.0, "office": 0.0, "class": 0.0}


def test_integrators_made_over_years_on_one_cloud_are_not_a_ring_but_an_operators_accounts_made_together_are():
    """Two hundred integrators on a cloud's shared addresses send their apps' templates, which integrators
    everywhere send too; made over years, they are customers. The same cluster made within weeks is an
    operator's."""
    table = pd.DataFrame(0.0, index=["integrators", "operator"], columns=list(MODEL_FEATURES))
    table["template_share"], table["template_exclusivity"], table["network_share"] = 0.86, 0.06, 1.0
    table["office_hours_share"], table["event_share"], table["after_event_share"], table["size"] = 0.3, 0.1, 0.9, 194
    table["creation_spread"] = [0.93, 0.15]
    model = ring_model()
    score = pd.Series(model.probability(table), index=table.index)
    assert score["operator"] >= model.threshold > score["integrators"]


def _company_that_works_as_no_staff(path: Path, at_night: bool, runners: int = 60, count: int = 40) -> list[str]:
    """60 seats on one company domain and one corporate card, created within weeks, among 3,000 ordinary users;
    returns the seats' ids. The first ``runners`` of them send mostly four templates of their own, ``count``
    requests a row (eight times an ordinary account's rate at 40): at night, or at any hour; the others send
    what ordinary users send."""
    rng = np.random.default_rng(5)
    n_ring, n_other = 60, 3000
    ids = [f"a{i}" for i in range(n_ring + n_other)]
    start = pd.Timestamp("2026-02-02T00:00:00Z")
    created = [start - pd.Timedelta(days=20 - i % 14, hours=int(rng.integers(0, 24))) for i in range(n_ring)]
    created += [start - pd.Timedelta(days=int(d)) for d in rng.integers(30, 700, n_other)]
    email = [f"seat{i}@northwind-analytics.com" for i in range(n_ring)] + [f"user{i}@gmail.com" for i in range(n_other)]
    pd.DataFrame(
        {"account_id": ids, "created_at": [c.strftime("%Y-%m-%dT%H:%M:%SZ") for c in created], "email": email, "country": "DE"}
    ).to_csv(path / "accounts.csv", index=False)
    pay = [(ids[i], "corporate-card", "455555") for i in range(n_ring)]
    pay += [(ids[i], f"card{i}", str(400000 + int(rng.integers(0, 300)))) for i in range(n_ring, n_ring + n_other)]
    pd.DataFrame(pay, columns=["account_id", "payment_id", "bin"]).to_csv(path / "payments.csv", index=False)
    ips = [(ids[i], f"45.9.7.{i % 4 + 2}") for i in range(n_ring)]
    ips += [
        (ids[i], f"81.{int(rng.integers(0, 255))}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 250))}")
        for i in range(n_ring, n_ring + n_other)
    ]
    pd.DataFrame(ips, columns=["account_id", "ip"]).to_csv(path / "ips.csv", index=False)
    rows = []
    for i in range(n_ring + n_other):
        for day in range(0, 28, 2 if i < n_ring else 9):
            hour = 1 + int(rng.integers(0, 4)) if i < runners and at_night else int(rng.integers(0, 24))
            when = (start + pd.Timedelta(days=day, hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
            template = f"benign-{int(rng.integers(0, 80))}"
            if i < runners and rng.random() < 0.9:
                template = f"northwind-{int(rng.integers(0, 4))}"
            rows.append((ids[i], template, when, count if i < runners else 5))
    pd.DataFrame(rows, columns=["account_id", "template_id", "ts", "count"]).to_csv(path / "prompts.csv", index=False)
    return ids[:n_ring]


@pytest.mark.parametrize("at_night, said", [(True, "office hours"), (False, "times the requests of a typical account")])
def test_a_company_that_does_not_work_as_staff_is_not_excused_and_is_named_so(tmp_path, at_night, said):
    """Seats on one company domain and card whose hours (at night) or volume (eight times an ordinary account's,
    at any hour, on templates of their own) are not a staff's: the organisation's excuse is contradicted, so its
    card counts again (a company's card, beside its internal templates, would count for nothing)."""
    seats = _company_that_works_as_no_staff(tmp_path, at_night)
    findings = detect(tmp_path, browser_links=False)
    members = findings.members.set_index("account_id")
    found = set(members.index) & set(seats)
    assert len(found) >= 0.9 * len(seats), len(found)
    assert not set(members.index) - set(seats)
    (ring,) = [r for r in findings.rings if set(members.index[members.ring_id == r.ring_id]) & found]
    assert "yet" in ring.explanation and said in ring.explanation, ring.explanation


def test_a_company_whose_every_seat_runs_its_templates_at_an_ordinary_rate_is_found_but_its_runners_are_not(tmp_path):
    """60 seats on one domain and card, made within weeks, all sending four templates of their own at an ordinary
    account's rate and hours: nothing a staff would not do but that every seat does the same, and that is found.
    Fifteen of the 60 doing it at night at eight times that rate, beside 45 seats at ordinary work, are the
    company's runners: nothing is flagged (51 of its seats were, before runners were told from scripts)."""
    seats = _company_that_works_as_no_staff(tmp_path, at_night=False, count=5)
    members = detect(tmp_path, browser_links=False).members
    assert len(set(members["account_id"]) & set(seats)) >= 0.9 * len(seats)
    assert set(members["account_id"]) <= set(seats)
    runners = tmp_path / "runners"
    runners.mkdir()
    _company_that_works_as_no_staff(runners, at_night=True, runners=15, count=40)
    assert detect(runners, browser_links=False).members.empty


def test_an_invoiced_company_is_not_told_it_does_not_work_as_staff(tmp_path):
    """The explanation's word on staff follows the excuse: the same seats at eight times an ordinary account's
    volume are named for it, unless the provider bills them by invoice, which keeps the excuse."""
    _company_that_works_as_no_staff(tmp_path, at_night=False)
    passes = []
    find_rings(read_evidence(tmp_path), scored=passes)
    scores, _ = passes[-1]
    (row,) = scores.table[scores.table["cluster"].isin(scores.flagged)].itertuples(index=False)
    said = "which a company's staff do not do"
    assert said in explain_ring(row, row.size, None, None, 4)[0]
    invoiced = explain_ring(row._replace(invoiced_share=1.0), row.size, None, None, 4)[0]
    assert said not in invoiced and "billed by invoice" in invoiced


def test_a_class_on_its_universitys_domain_is_an_organisation_though_the_university_is_spread():
    """130 students of a university whose 700 addresses are spread over the population sit in one cluster:
    far more than chance puts there, so the domain is the class's organisation; gmail never is."""
    n = 20_000
    email = [f"s{i}@uni-example.edu" for i in range(700)] + [f"u{i}@gmail.com" for i in range(n - 700)]
    accounts = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "email": email})
    labels = np.arange(n)
    labels[:130] = n  # the class
    labels[700:830] = n + 1  # 130 gmail users together
    size = pd.Series({n: 130, n + 1: 130, 5_000: 1})
    share = organisation_share(organisation_domains(accounts["email"]), labels, size)
    assert share[n] == 1.0 and share[n + 1] == 0.0


def test_several_companies_seats_in_one_cluster_are_as_explained_as_one_companys():
    """Three companies' seats that clustering put together (an office building's address, a corporate card
    issuer) are all on organisations' domains: the cluster is theirs, not a third anyone's. Two accounts of a
    fourth domain in it count for nothing (fewer than ORGANISATION_SEATS)."""
    domains = np.array(["acme.example"] * 50 + ["globex.example"] * 40 + ["initech.example"] * 8 + ["tiny.example"] * 2 + [None] * 900)
    labels = np.concatenate([np.zeros(100, dtype=np.int64), np.arange(1, 901)])
    share = organisation_share(domains, labels, pd.Series({0: 100}))
    assert share[0] == pytest.approx(0.98)


def test_members_billed_by_invoice_are_measured_and_lower_the_score():
    """The share of a cluster's members billed by invoice is a feature of its own, and the fitted model can
    only lower a score for it (a provider invoices customers it has checked)."""
    payments = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "payment_id": ["bill-1", "bill-1", "bill-1", "card-9", "card-9"],
            "kind": ["invoice", "Invoice", "invoice", "card", "card"],
            "bin": [None, None, None, "455555", "455555"],
        }
    )
    out, _ = payment_features(payments, np.array([0, 0, 0, 0, 1]), pd.Series({0: 4, 1: 1}))
    assert out.loc[0, "invoiced_share"] == 0.75 and out.loc[1, "invoiced_share"] == 0.0
    assert MODEL_FEATURES["invoiced_share"] == -1 and ring_model().weights["invoiced_share"] < 0


def _pieces_on_one_bin_with_waves(waves: dict[int, list[int]], active: dict[int, tuple[int, int]], n: int = 10_000):
    """Pieces of 40 accounts (piece k: accounts 40k to 40k+39), all paying from one BIN, each sending in
    lockstep in its ``waves`` hours and prompting through its ``active`` hours: a graph for join_rings."""
    start = 500_000
    kinds, values, degrees, account, item, hours = ["bin"], ["411111"], [40 * len(waves)], [], [], []
    for k, piece_hours in waves.items():
        members = np.arange(40 * k, 40 * k + 40)
        account += members.tolist()
        item += [0] * 40
        for h in piece_hours:
            kinds.append("wave_hour"), values.append(start + h), degrees.append(40)
            account += members.tolist()
            item += [len(kinds) - 1] * 40
        first, last = active[k]
        hours += [(m, 0, start + h) for m in members for h in range(first, last + 1, 24)]
    graph = EvidenceGraph(
        pd.Index([f"a{i}" for i in range(n)]),
        pd.DataFrame({"account": [], "evidence": []}),
        pd.DataFrame({"kind": kinds, "value": values, "degree": degrees, "weight": 1.0}),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0),
        template_hours=pd.DataFrame(hours, columns=["account", "t", "h"]),
        shared=(np.array(account, np.int32), np.array(item, np.int32)),
    )
    labels = np.arange(n) + len(waves)
    labels[: 40 * len(waves)] = np.repeat(np.arange(len(waves)), 40)
    joined = join_rings(graph, labels, np.arange(len(waves)), np.arange(n) < 40 * len(waves))
    return [joined[40 * k] for k in waves]


def test_pieces_of_one_ring_active_in_different_months_are_joined_but_operators_at_work_together_are_not():
    """One operator's accounts made months apart send in the waves of their own months: two pieces on its BIN
    with no wave hour in common, active one after the other, are one ring. A second operator on the same BIN,
    active through both and sending in hours of its own, is told apart by its waves, and so is one that never
    sends in waves while the other does."""
    ring_a, ring_b, other = _pieces_on_one_bin_with_waves(
        {0: [100, 200, 300], 1: [1100, 1200, 1300], 2: [150, 250, 350, 1150, 1250, 1350]},
        {0: (0, 500), 1: (1000, 1500), 2: (0, 1500)},
    )
    assert ring_a == ring_b
    assert other not in (ring_a, ring_b)
    # at work together, the first two pieces sending in hours of their own are two operators
    first, second = _pieces_on_one_bin_with_waves({0: [100, 200, 300], 1: [150, 250, 350]}, {0: (0, 500), 1: (0, 500)})
    assert first != second
    # and so are a piece that sends in waves and one that, at work at the same time, never does
    first, second = _pieces_on_one_bin_with_waves({0: [100, 200, 300], 1: []}, {0: (0, 500), 1: (0, 500)})
    assert first != second


def test_a_piece_of_a_ring_counts_its_cards_holders_everywhere_but_one_company_card_does_not_count_for_all():
    """A piece that clustering cut out of a ring holds one card per member, each paying for a dozen accounts
    elsewhere: its cards are as shared as they are in the population. A cluster of individuals of whom one
    pays with a company card used by a hundred is not: the median member's card counts."""
    piece = [f"r{i}" for i in range(4)]
    people = [f"p{i}" for i in range(4)]
    payments = pd.DataFrame(
        {"account_id": piece + people, "payment_id": ["c1", "c2", "c3", "c4", "corp", "own1", "own2", "own3"], "bin": None}
    )
    holders = pd.Series({"c1": 12, "c2": 12, "c3": 12, "c4": 12, "corp": 100, "own1": 1, "own2": 1, "own3": 1})
    size = pd.Series({0: 4, 1: 4})
    inside, _ = payment_features(payments, np.array([0] * 4 + [1] * 4), size)
    everywhere, _ = payment_features(payments, np.array([0] * 4 + [1] * 4), size, holders)
    assert inside.loc[0, "accounts_per_card"] == 1.0
    assert everywhere.loc[0, "accounts_per_card"] == 12.0
    assert everywhere.loc[1, "accounts_per_card"] == 1.0


def test_accounts_rotating_through_a_rings_proxies_stay_but_a_household_and_a_companys_seats_do_not(tmp_path):
    """One cluster as clustering would hand it over: a0-a29 share one card and rotate through three
    proxy IPs (each on two), sending only ordinary prompts, created over a year; a30-a39 are a
    household on one card and one home IP; a40-a49 are a company's seats on its card and its two
    office IPs. Each shows a payment signal; only the operator's accounts show a network signal."""
    rng = np.random.default_rng(7)
    n = 1000
    ids = [f"a{i}" for i in range(n)]
    created = pd.Timestamp("2025-01-01T00:00:00Z") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    emails = [f"user{i}@gmail.com" for i in range(n)]
    emails[40:50] = [f"seat{i}@acme-robotics.com" for i in range(40, 50)]
    pd.DataFrame({"account_id": ids, "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "email": emails}).to_csv(
        tmp_path / "accounts.csv", index=False
    )
    cards = ["ring-card"] * 30 + ["family-card"] * 10 + ["acme-card"] * 10 + [f"card{i}" for i in range(50, n)]
    pd.DataFrame({"account_id": ids, "payment_id": cards}).to_csv(tmp_path / "payments.csv", index=False)
    ips = [(ids[i], f"10.0.0.{1 + (i + k) % 3}") for i in range(30) for k in range(2)]
    ips += [(ids[i], "10.9.9.9") for i in range(30, 40)]
    ips += [(ids[i], f"10.7.7.{k}") for i in range(40, 50) for k in (1, 2)]
    ips += [(ids[i], f"172.16.{i // 250}.{i % 250}") for i in range(50, n)]
    pd.DataFrame(ips, columns=["account_id", "ip"]).to_csv(tmp_path / "ips.csv", index=False)
    rows = [(ids[i], f"benign-{b}", 10) for i in range(n) for b in rng.choice(20, 3, replace=False)]
    pd.DataFrame(rows, columns=["account_id", "template_id", "count"]).to_csv(tmp_path / "prompts.csv", index=False)
    evidence = read_evidence(tmp_path)
    graph = build_evidence_graph(evidence)
    labels = np.arange(graph.n_accounts)
    labels[:50] = 0
    members = score_clusters(evidence, graph, labels).member_scores
    assert (members.reindex(ids[:30]) > 0).all()
    assert (members.reindex(ids[30:50]) == 0).all()


def test_an_organisation_explains_its_card_its_office_and_its_onboarding_unless_it_works_off_hours():
    """Seats on one domain with their company's card, its office IPs, created in a burst and sending an internal
    template show one signal (the template); the same at night, or with no domain at all, show four, and seats that
    each send ten times an ordinary account's requests are not working as staff either where the population's hours
    say nothing, unless the provider invoices them; where its seats keep office hours as the population's do,
    their hours speak for them. Its internal templates sent in the same hours, even in lockstep far above chance,
    are its jobs running, not a campaign's timing."""
    company = {"template_share": 0.4, "lockstep_share": 0.0, "template_coordination": 0.0, "burst_share": 1.0, "payment": 1.0}
    company |= {"network_share": 1.0, "organisation_share": 1.0, "office_hours_share": 0.8, "off_hours_line": 0.4}
    company |= {"working_spread": 0.8, "volume": 0.05, "invoiced_share": 0.0}
    rows = [company, company | {"office_hours_share": 0.1}, company | {"organisation_share": 0.0}]
    rows += [company | {"template_coordination": 0.9}, company | {"template_coordination": 0.9, "working_spread": 0.2}]
    rows += [company | {"office_hours_share": 0.0, "working_spread": 0.2}]  # two days of work, maybe a weekend
    rows += [company | {"volume": 0.5, "off_hours_line": 0.12}]  # ten times an ordinary account's, where hours say nothing
    rows += [company | {"volume": 0.5, "office_hours_share": 0.1, "invoiced_share": 1.0}]  # a customer the provider checked
    rows += [company | {"volume": 0.5}]  # an evaluation company's suites, in office hours as the population's seats keep them
    rows += [company | {"template_coordination": 0.9, "office_hours_share": 0.42}]  # not off hours, nor an office's either
    rows += [company | {"template_coordination": 0.9, "lockstep_share": 0.6}]
    rows += [company | {"template_coordination": 0.9, "lockstep_share": 0.6, "working_spread": 0.2}]  # its first days
    assert signal_kinds(pd.DataFrame(rows)).tolist() == [1, 4, 4, 1, 1, 1, 3, 1, 1, 1, 1, 1]


def test_a_company_keeps_office_hours_where_the_populations_seats_send_somewhat_more_in_them_than_at_any_hour():
    """Where the population's typical organisation seat sends 42% of its requests in office hours (sending at any hour
    alike gives 30%), 396 seats of one company made within two weeks that send 80% in them keep office hours, and
    sending ten times an ordinary account's requests (an evaluation company's suites) leaves their excuse: one
    signal, their templates. Where the typical seat sends 34%, the hours say nothing and the volume takes the
    excuse; and seats sending 40% in office hours keep none anywhere."""
    company = {"template_share": 0.32, "lockstep_share": 0.15, "template_coordination": 0.82, "burst_share": 1.0}
    company |= {"payment": 1.0, "network_share": 1.0, "organisation_share": 1.0, "office_hours_share": 0.8}
    company |= {"off_hours_line": 0.21, "working_spread": 0.67, "volume": 0.5, "invoiced_share": 0.0}
    rows = [company, company | {"off_hours_line": 0.17}, company | {"office_hours_share": 0.4}]
    table = pd.DataFrame(rows, index=["told", "hours say nothing", "not kept"])
    assert keeps_office_hours(table).tolist() == [True, False, False]
    assert signal_kinds(table).tolist() == [1, 4, 4]


def test_an_event_explains_its_participants_burst_venue_and_hours_but_not_distillation_volume_or_a_card_pattern():
    """Two hundred accounts made on a hackathon's first day at its venue's addresses send its starter kit in the
    same hours, all within its two days, at an ordinary account's rate: their templates are one signal, the event
    explains the rest. The same group sending ten times an ordinary account's requests, or made weeks before its
    two days, or active for weeks after them, or spending a quarter of its template use outside them (a ring's
    accounts taking turns a few days each), is not an event's: four kinds. Paying from shared cards adds a kind
    no event explains."""
    hackathon = {"template_share": 0.67, "lockstep_share": 0.57, "template_coordination": 0.44, "burst_share": 1.0}
    hackathon |= {"payment": 0.0, "network_share": 0.99, "organisation_share": 0.0, "volume": 0.0}
    hackathon |= {"event_share": 0.96, "after_event_share": 0.01, "created_at_event": 1.0}
    rows = [hackathon, hackathon | {"volume": 0.5}, hackathon | {"created_at_event": 0.0}, hackathon | {"after_event_share": 0.8}]
    rows += [hackathon | {"payment": 1.0}, hackathon | {"created_at_event": float("nan")}, hackathon | {"event_share": 0.77}]
    index = ["event", "heavy", "made before", "stayed on", "shared cards", "creation unknown", "taking turns"]
    table = pd.DataFrame(rows, index=index)
    assert event_excuse(table).tolist() == [True, False, False, False, True, False, False]
    assert signal_kinds(table).tolist() == [1, 4, 4, 4, 2, 4, 4]
    assert signal_strength(table)["event"] < SIGNALS_NEEDED <= signal_strength(table)["shared cards"]
    table["signals"], table["score"] = signal_kinds(table), 0.94
    assert "as at an event" in why_not_flagged(next(table.iloc[[0]].itertuples()))


def test_an_evaluation_company_grown_over_months_runs_its_nightly_suites_but_seats_made_within_weeks_are_a_ring():
    """Seats on one company's domain and card send their suite templates in step, every night, at ten times an
    ordinary account's rate: made over four months, that is an evaluation company's scheduled jobs, its
    templates one signal; made within three weeks, it is a ring dressed as a company, every kind counting."""
    suites = {"template_share": 0.7, "lockstep_share": 0.45, "template_coordination": 0.95, "burst_share": 0.0}
    suites |= {"payment": 1.0, "network_share": 1.0, "organisation_share": 1.0, "office_hours_share": 0.1}
    suites |= {"off_hours_line": 0.25, "working_spread": 0.9, "volume": 0.55, "invoiced_share": 0.0}
    table = pd.DataFrame([suites | {"creation_spread": 0.66}, suites | {"creation_spread": 0.1}], index=["company", "dressed"])
    assert grown_organisation(table).tolist() == [True, False]
    assert signal_kinds(table).tolist() == [1, 4]


def test_a_company_that_sends_a_flagged_rings_templates_under_its_camouflage_keeps_no_excuse_unless_invoiced():
    """136 seats on one domain and card, made within five weeks, send a ring's bank templates in 9% of their
    requests, the rest ordinary traffic, at an hour the population's seats also keep: the company excuse held,
    and one company card and a burst of onboarding counted for nothing. Sending a flagged ring's own templates
    is no company's tooling: the excuse fails and the card and the burst count. A company billed by invoice
    (checked by the provider) keeps it, and a company whose templates are its own was never in question."""
    dressed = {"template_share": 0.09, "lockstep_share": 0.0, "template_coordination": 0.03, "burst_share": 0.44}
    dressed |= {"payment": 1.0, "network_share": 1.0, "organisation_share": 1.0, "office_hours_share": 0.13, "volume": 0.16}
    dressed |= {"off_hours_line": 0.11, "working_spread": 0.91, "creation_spread": 0.21, "invoiced_share": 0.0}
    rows = [dressed | {"ring_tooling_share": 0.09}, dressed | {"ring_tooling_share": 0.0}]
    rows += [dressed | {"ring_tooling_share": 0.09, "invoiced_share": 0.9}]
    table = pd.DataFrame(0.0, index=["dressed", "own tools", "invoiced"], columns=list(MODEL_FEATURES))
    table[list(rows[0])] = pd.DataFrame(rows, index=table.index)
    assert organisation_excuse(table)[0].tolist() == [False, True, True]
    assert signal_kinds(table).tolist() == [2, 0, 0]
    table["score"], table["size"], table["signals"] = 0.81, 136, signal_kinds(table)
    table["signal_strength"] = signal_strength(table)
    table["event_share"] = table["after_event_share"] = table["created_at_event"] = 0.0
    said = explain_ring(next(table.iloc[[0]].itertuples()), 136, None, None, 0)
    assert "yet 9% of their requests use templates that other suspected rings send as their own" in said[0], said[0]


def test_the_share_of_an_organisations_seats_that_send_a_clusters_own_templates_counts_every_seat_on_its_domain():
    """Cluster 0 holds three of acme.io's four seats, two of which send its template "suite" (a fourth seat, outside
    the cluster, sends it too): three of four seats. Cluster 1, on free mail, has no organisation's domain; cluster
    2 is on acme.io as well but sends nothing of its own."""
    emails = ["a@acme.io", "b@acme.io", "c@acme.io", "d@acme.io", "e@gmail.com", "f@gmail.com"]
    domains = organisation_domains(pd.Series(emails))
    labels = np.array([0, 0, 0, 2, 1, 1])
    prompts = pd.DataFrame({"template_id": ["suite", "suite", "mail", "suite", "suite"]})
    positions = np.array([0, 1, 2, 3, 4])
    own = pd.DataFrame({"cluster": [0, 1], "template_id": ["suite", "suite"]})
    share = seats_sending(domain_codes(domains), labels, np.array([0, 1, 2]), own, prompts, positions)
    assert share.to_dict() == {0: 0.75, 1: 0.0, 2: 0.0}


def test_a_company_whose_every_paid_seat_runs_its_templates_is_no_staff_but_a_few_seats_running_jobs_are_one():
    """A hundred seats on one company's domain and card, made within two weeks, sending its templates in waves at a
    typical account's hours and four times its volume: when 95% of the company's seats send them, the seats are one
    script's, a ring dressed as a company, and the card and the network count again; when a fifth of them do, they are
    its benchmark runners beside its staff, whose volume, timing and night hours are its jobs'. One script's seats
    have no office, so the addresses they share count as a network of their own; a company's office's do not. A
    class whose students all send their assignment, each paying for themselves, is never taken for a script; and a
    few seats sending a flagged ring's templates stay suspect."""
    seats = {"template_share": 0.5, "lockstep_share": 0.0, "template_coordination": 0.6, "burst_share": 0.0}
    seats |= {"payment": 1.0, "network_share": 1.0, "organisation_share": 1.0, "office_hours_share": 0.25}
    seats |= {"off_hours_line": 0.12, "working_spread": 0.9, "volume": 0.4, "invoiced_share": 0.0, "creation_spread": 0.15}
    seats |= {"accounts_per_card": 100.0, "ring_tooling_share": 0.0}
    rows = [seats | {"seats_sending": 0.95}, seats | {"seats_sending": 0.2}, seats | {"seats_sending": 0.2, "office_hours_share": 0.05}]
    rows += [seats | {"seats_sending": 1.0, "accounts_per_card": 1.0, "payment": 0.0, "volume": 0.0}]
    rows += [seats | {"seats_sending": 0.2, "ring_tooling_share": 0.3}, seats | {"seats_sending": 0.6, "volume": 0.0}]
    index = ["dressed", "runners", "runners at night", "class", "runners on a ring's templates", "staff with a tool"]
    table = pd.DataFrame(rows, index=index)
    assert scripted_seats(table).tolist() == [True, False, False, False, False, False]
    assert organisation_jobs(table).tolist() == [False, True, True, False, True, False]
    assert organisation_excuse(table)[0].tolist() == [False, True, True, True, False, True]
    assert organisation_excuse(table)[1].tolist() == [False, False, False, False, False, False]
    kinds = signal_kinds(table)
    assert kinds["dressed"] == 4  # templates, timing, the card, and addresses that are no office's
    assert kinds["runners on a ring's templates"] == 3  # templates, timing, the card; an office's addresses
    assert kinds["runners"] == kinds["runners at night"] == 1 < SIGNALS_NEEDED
    table["score"], table["size"], table["signals"] = 0.9, 100, signal_kinds(table)
    table["signal_strength"] = signal_strength(table)
    table["event_share"] = table["after_event_share"] = table["created_at_event"] = 0.0
    table[[c for c in MODEL_FEATURES if c not in table.columns]] = 0.0
    said = explain_ring(next(table.iloc[[0]].itertuples()), 100, None, None, 3)
    assert "yet 95% of the seats their organisation pays for send the group's own templates, all alike" in said[0], said[0]


def test_a_clusters_requests_on_flagged_rings_templates_are_counted_per_request():
    """Two seats of one cluster send 30 requests, 3 of them on a ring's template; a cluster that sends none of it
    counts 0, and a cluster with no requests at all counts 0."""
    accounts = pd.DataFrame({"account_id": ["a", "b", "c", "d"]})
    prompts = pd.DataFrame({"account_id": ["a", "a", "b", "c"], "template_id": ["ring-bank", "mail", "mail", "mail"]})
    prompts["count"] = ["3", "7", "20", "5"]
    evidence = evidence_from_text({"accounts": accounts, "prompts": prompts}, {"accounts": "accounts.csv", "prompts": "prompts.csv"}, "mem")
    labels = np.array([0, 0, 1, 2])
    share = ring_tooling_share(evidence, labels, np.array([0, 1, 2]), np.array(["ring-bank"]))
    assert share.round(3).to_dict() == {0: 0.1, 1: 0.0, 2: 0.0}


def test_a_platforms_users_made_one_by_one_show_one_signal_but_accounts_made_within_months_show_two():
    """Accounts on an integrator's servers send its app's templates: templates and a network of their own. Made
    one by one over years, that is the platform's users, one signal; made within two months, or sending in
    lockstep, or with creation times unknown, it is two."""
    platform = {"template_share": 0.8, "lockstep_share": 0.0, "template_coordination": 0.0, "burst_share": 0.0, "payment": 0.0}
    platform |= {"network_share": 1.0, "organisation_share": 0.0, "office_hours_share": 0.3, "volume": 0.9, "creation_spread": 1.0}
    rows = pd.DataFrame([platform, platform | {"creation_spread": 0.3}, platform | {"template_coordination": 0.5}])
    assert signal_kinds(rows).tolist() == [1, 2, 3]
    assert signal_kinds(rows, creation_known=False).tolist() == [2, 2, 3]
    rows["signals"], rows["score"] = signal_kinds(rows), 0.93
    rows["event_share"] = rows["after_event_share"] = 0.0
    assert "as a platform's users are" in why_not_flagged(next(rows.itertuples()))
    quiet = rows.iloc[[1]].assign(signals=1, network_share=0.0, template_share=0.0)
    said = why_not_flagged(next(quiet.itertuples()))
    assert said.startswith("score 0.93, but its signals are worth 1.0 of the two kinds a ring needs"), said


def test_signals_just_below_their_levels_add_up_to_a_second_kind_but_not_for_a_platforms_users():
    """A proxy pool of its own (one full kind) with a template share of 0.29 and a burst share of 0.28 (each just
    below its level of 0.3) is worth more than two kinds: a ring. The pool alone, or with faint traces (0.05 each),
    is not; nor are a platform's users made over years, whatever traces of a campaign they show beside their
    templates and servers, nor a company that keeps office hours, whose excuse covers the traces as it covers its
    card and onboarding."""
    pool = {"template_share": 0.29, "lockstep_share": 0.0, "template_coordination": 0.0, "burst_share": 0.28, "payment": 0.0}
    pool |= {"network_share": 1.0, "organisation_share": 0.0, "office_hours_share": 0.3, "volume": 0.2, "creation_spread": 0.2}
    rows = [pool, pool | {"template_share": 0.0, "burst_share": 0.0}, pool | {"template_share": 0.05, "burst_share": 0.05}]
    rows += [pool | {"template_share": 0.8, "burst_share": 0.28, "creation_spread": 1.0}]
    company = {"template_share": 0.22, "template_coordination": 0.49, "organisation_share": 0.83, "network_share": 0.84}
    rows += [pool | company | {"office_hours_share": 0.81, "off_hours_line": 0.3, "working_spread": 0.73, "volume": 0.0}]
    table = pd.DataFrame(rows, index=["ring", "pool alone", "faint", "platform", "company"])
    assert signal_kinds(table).tolist() == [1, 1, 1, 1, 0]
    strength = signal_strength(table)
    assert strength["ring"] == pytest.approx(1 + 0.29 / 0.3 + 0.28 / 0.3)
    assert strength["pool alone"] == 1.0 and strength["faint"] < SIGNALS_NEEDED and strength["platform"] == 1.0
    assert strength["ring"] >= SIGNALS_NEEDED
    assert strength["company"] == 0.0  # its internal templates in step, in office hours: its working day, and traces


def _seats_at(path: Path, office_share: float) -> None:
    """40 seats on two shared company domains sending office_share of their requests on a weekday at 10:00 UTC
    (11:00 in Germany) and the rest on a Saturday, among 200 gmail users."""
    ids = [f"a{i}" for i in range(240)]
    email = [f"s{i}@firm{i % 2}.de" for i in range(40)] + [f"u{i}@gmail.com" for i in range(40, 240)]
    pd.DataFrame({"account_id": ids, "email": email, "country": "DE"}).to_csv(path / "accounts.csv", index=False)
    in_office = round(20 * office_share)
    rows = [(a, "t1", "2026-02-02T10:00:00Z", in_office) for a in ids] + [(a, "t1", "2026-02-07T10:00:00Z", 20 - in_office) for a in ids]
    pd.DataFrame(rows, columns=["account_id", "template_id", "ts", "count"]).to_csv(path / "prompts.csv", index=False)


@pytest.mark.parametrize("office_share, line", [(1.0, 0.5), (0.25, 0.125)])
def test_the_off_hours_line_is_half_what_the_populations_organisations_keep(tmp_path, office_share, line):
    """Where seats work office hours, a company at night stands out; where the logs' times say nothing about
    working hours (every account sends a quarter in them), only a company that works at night does."""
    _seats_at(tmp_path, office_share)
    evidence = read_evidence(tmp_path)
    assert off_hours_line(evidence, build_evidence_graph(evidence)) == pytest.approx(line)


def _sparse_proxy_ring(path: Path) -> list[str]:
    """1,000 accounts made within two days, each on three of sixty proxy addresses of their own (about fifty
    accounts on each), among 3,000 ordinary accounts made over two years on home addresses (two to a
    household); returns the ring's ids."""
    rng = np.random.default_rng(11)
    n_ring, n_other = 1000, 3000
    ids = [f"a{i}" for i in range(n_ring + n_other)]
    start = pd.Timestamp("2026-03-01T00:00:00Z")
    created = [start + pd.Timedelta(minutes=int(m)) for m in rng.integers(0, 48 * 60, n_ring)]
    created += [start - pd.Timedelta(days=int(d)) for d in rng.integers(1, 730, n_other)]
    pd.DataFrame({"account_id": ids, "created_at": [c.strftime("%Y-%m-%dT%H:%M:%SZ") for c in created]}).to_csv(
        path / "accounts.csv", index=False
    )
    ips = [(ids[i], f"45.77.{p // 250}.{p % 250 + 1}") for i in range(n_ring) for p in rng.choice(60, 3, replace=False)]
    ips += [(ids[i], f"81.{(i // 2) // 250}.{(i // 2) % 250}.{7 + i % 2}") for i in range(n_ring, n_ring + n_other)]
    pd.DataFrame(ips, columns=["account_id", "ip"]).to_csv(path / "ips.csv", index=False)
    return ids[:n_ring]


def test_a_large_ring_tied_sparsely_by_its_own_proxies_comes_out_of_few_communities_and_is_found_whole(tmp_path):
    """The clusters cut a ring of 1,000 whose accounts share their proxies fifty at a time into pieces far smaller
    than the ring (CPM holds a cluster only where evidence per pair exceeds the resolution); under modularity its
    ties stay among its own accounts and it falls into a few large communities, which its proxies join into one
    ring, found whole with its burst and its network."""
    ring = _sparse_proxy_ring(tmp_path)
    evidence = read_evidence(tmp_path)
    graph = build_evidence_graph(evidence)
    position = graph.accounts.get_indexer(ring)
    pieces = pd.Series(find_clusters(graph)[position]).value_counts()
    communities = pd.Series(find_communities(graph)[position]).value_counts()
    assert pieces.iloc[0] <= 25 and communities.iloc[0] >= 150 and communities.head(8).sum() >= 0.95 * len(ring)
    members = find_rings(evidence).members
    found = members.groupby("ring_id")["account_id"].apply(lambda a: len(set(a) & set(ring)) / len(set(a) | set(ring)))
    assert found.max() >= 0.9, found.sort_values().tail(3)


def test_a_templates_senders_made_within_hours_are_a_cluster_but_a_starter_kits_and_those_made_apart_are_not():
    """60,000 accounts made one after another. 40 made back to back send a toolkit template that 10 power users
    made at any time also send, and one of their own: one cluster, without the power users. 40 more made
    months later send the same toolkit template: a second cluster, not the first's (two operators made at
    different times). 300 hackathon participants made back to back send a starter kit's two templates: one
    that 8,000 others send (a tenth of all accounts: never a run), one that 2,000 others made one by one
    send (a run, but most of its senders were not made together: the public's, not a toolkit). 50 senders
    of a template made evenly, a ring found already and a company's seats (on its domain) stay as they were."""
    n = 60_000
    ring, other, hackers = np.arange(30_000, 30_040), np.arange(50_000, 50_040), np.arange(10_000, 10_300)
    power, found, seats = np.arange(2_500, n, 6_000), np.arange(40_000, 40_030), np.arange(20_000, 20_030)
    kit = np.concatenate([hackers, np.arange(0, n, 7)[:8_000]])
    graph = _graph_of_items(
        n,
        [
            ("template", np.concatenate([ring, other, power])),
            ("template", ring),
            ("template", np.unique(kit)),
            ("template", np.concatenate([hackers, np.arange(1, n, 29)[:2_000]])),
            ("template", np.arange(600, n, 1_200)),
            ("template", found),
            ("template", seats),
        ],
    )
    rank = (np.arange(n) + 0.5) / n
    labels, taken, seated = np.arange(n), np.isin(np.arange(n), found), np.isin(np.arange(n), seats)
    grouped = made_together_clusters(graph, rank, labels, taken, min_size=10, seated=seated)
    assert len(np.unique(grouped[ring])) == 1 and grouped[ring[0]] != labels[ring[0]]
    assert len(np.unique(grouped[other])) == 1 and grouped[other[0]] not in (labels[other[0]], grouped[ring[0]])
    untouched = np.concatenate([power, hackers, np.arange(600, n, 1_200), found, seats])
    assert (grouped[untouched] == labels[untouched]).all()
    assert (made_together_clusters(graph, np.full(n, np.nan), labels, taken, min_size=10) == labels).all()


def test_accounts_made_in_the_same_instant_are_not_ordered_as_the_table_lists_them():
    """Creation times that are one placeholder day for everybody say nothing about who was made together: the
    order of creation among them is drawn (by the seed), so forty accounts listed one after another in an
    accounts table sorted by id are not a stretch of ranks, while the accounts made later still come after."""
    ids = [f"acct{i:05d}" for i in range(1_000)]
    created = ["2026-01-01T00:00:00Z"] * 900 + [f"2026-02-01T00:{i // 60:02d}:{i % 60:02d}Z" for i in range(100)]
    evidence = evidence_from_text(
        {"accounts": pd.DataFrame({"account_id": ids, "created_at": created})}, {"accounts": "accounts.csv"}, "mem"
    )
    rank = creation_rank(evidence, 1_000, seed=0)
    listed_together = rank[100:140] * 1_000
    assert listed_together.max() - listed_together.min() > 400  # spread over the placeholder's block, not 40 wide
    assert (rank[900:] > rank[:900].max()).all() and (np.diff(rank[900:]) > 0).all()
    assert (creation_rank(evidence, 1_000, seed=0) == rank).all()
