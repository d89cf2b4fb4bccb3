"""The scenario sampler: every sampled scenario is valid, within its ranges, the same for its seed, and generates.

A sampled scenario written as TOML loads back to the same scenario and replays the same
population; over many seeds the sampler reaches every kind of every knob.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import replace

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphsleuth.cli import main
from graphsleuth.errors import ScenarioError
from graphsleuth.evidence import read_evidence
from graphsleuth.synth import RANGES, generate, sample_scenario, scenario_toml
from graphsleuth.synth.scenario import LOOKALIKE_KINDS, load_scenario


def _digests(directory) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def _check_ranges(scn, accounts: int) -> None:
    r = RANGES
    assert scn.population.accounts == accounts
    assert r.rings[0] <= len(scn.rings) <= r.rings[1]
    sizes = [ring.accounts for ring in scn.rings]
    assert all(r.ring_accounts[0] <= s <= r.ring_accounts[1] for s in sizes)
    # Under a third of the population, or as close as the smallest rings allow.
    assert sum(sizes) <= max(accounts * r.rings_share_max, r.ring_accounts[0] * len(sizes)) + len(sizes)
    banks = {b.name: b for b in scn.banks}
    assert r.banks[0] <= len(banks) <= r.banks[1]
    for bank in banks.values():
        assert r.bank_templates[0] <= sum(bank.templates.values()) <= r.bank_templates[1]
        assert r.power_users[0] <= bank.power_users <= r.power_users[1]
    for ring in scn.rings:
        assert sum(ring.templates.values()) > 0 or ring.bank in banks
        assert r.camouflage[0] <= ring.camouflage <= r.camouflage[1]
        assert 0 <= ring.sync_share <= r.lockstep[1] and ring.sync_share <= 1 - ring.camouflage + 1e-9
        assert (ring.waves == 0) == (ring.sync_share == 0) and not ring.sync_days
        assert r.creation_days[0] - 1e-4 <= ring.creation_days <= r.creation_days[1]
        assert r.phrasings[0] <= ring.phrasings <= r.phrasings[1]
        assert r.bins[0] <= ring.bins <= r.bins[1]
        if ring.payment == "shared_cards" and not ring.dressed_as_company:  # a company's one card is the exception
            assert math.ceil(ring.accounts / ring.cards) <= r.accounts_per_card[1]
        requests_per_account = ring.requests / ring.accounts
        assert r.requests_per_account[0] - 1 <= requests_per_account <= r.requests_per_account[1]
        if ring.dressed_as_company:
            assert ring.accounts <= r.dressed_accounts[1] and ring.cards == 1 and ring.schedule == "night" and ring.creation == "even"
    assert sum(ring.dressed_as_company for ring in scn.rings) <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31 - 1), accounts=st.integers(1000, 250_000))
def test_every_sampled_scenario_is_valid_within_its_ranges_and_the_same_for_its_seed(tmp_path_factory, seed, accounts):
    scn = sample_scenario(seed, accounts)
    _check_ranges(scn, accounts)
    assert sample_scenario(seed, accounts) == scn
    path = tmp_path_factory.mktemp("sampled") / "scenario.toml"
    path.write_text(scenario_toml(scn), encoding="utf-8")
    loaded = load_scenario(path)  # every check of a written scenario passes
    assert replace(loaded, source=scn.source) == scn


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31 - 1), accounts=st.integers(1000, 3000))
def test_every_sampled_scenario_generates_valid_evidence_with_its_truth(tmp_path_factory, seed, accounts):
    out = tmp_path_factory.mktemp("gen") / "evidence"
    population = generate(sample_seed=seed, accounts=accounts, out=out)
    evidence = read_evidence(out)  # strict: the first bad row would raise
    assert evidence.rejects.empty and len(evidence.accounts) == accounts
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    assert list(truth.columns) == ["account_id", "ring_id", "kind", "group_id", "campaign_id"]
    assert truth.loc[truth.ring_id != "", "ring_id"].value_counts().to_dict() == population.manifest["rings"]
    traits = json.loads((out / "truth_rings.json").read_text())
    assert [r["ring_id"] for r in traits["rings"]] == [r.name for r in population.scenario.rings]
    assert population.manifest["sample_seed"] == seed
    assert load_scenario(out / "scenario.toml").sample_seed == seed
    # every request comes from somewhere: an account that sends prompts has an IP (the logs need one per request)
    assert set(evidence.prompts["account_id"]) <= set(evidence.ips["account_id"])


def test_a_student_who_never_connects_from_home_still_sends_from_the_campus_so_the_logs_can_be_written(tmp_path):
    """Sample seed 100062 at 8,000 accounts drew two students neither at home nor on the campus network:
    their prompts had no IP, and writing the population as request logs stopped with a traceback."""
    population = generate(sample_seed=100062, accounts=8000)
    tables = population.tables
    assert set(tables["prompts"]["account_id"].to_pylist()) <= set(tables["ips"]["account_id"].to_pylist())


def test_an_evaluation_companys_seats_due_after_the_window_are_spread_over_it_not_piled_on_its_last_hours():
    """Sample seed 900130 draws an evaluation company onboarded late: its seats, added over months, fall past the
    window's end for a quarter of them. They were all set to two hours before the end, a dozen seats made in the
    same second at night, a creation burst and off-hours work no real company shows."""
    population = generate(sample_seed=900130, accounts=14000)
    truth = population.truth.to_pandas()
    accounts = population.tables["accounts"].to_pandas().merge(truth, on="account_id")
    seats = accounts[accounts.kind == "eval_company"]
    assert len(seats) >= 40
    assert seats.groupby("group_id").created_at.agg(lambda created: created.value_counts().max()).max() <= 2


def test_the_same_sample_seed_gives_the_same_files_and_the_scenario_file_replays_them(tmp_path):
    runner = CliRunner()
    for name in ("a", "b"):
        done = runner.invoke(main, ["generate", "--sample-scenario", "11", "--accounts", "2500", "--out", str(tmp_path / name)])
        assert done.exit_code == 0, done.output
    assert "scenario.toml" in done.output
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    replay = runner.invoke(main, ["generate", "--scenario", str(tmp_path / "a" / "scenario.toml"), "--out", str(tmp_path / "c"), "-q"])
    assert replay.exit_code == 0, replay.output
    assert _digests(tmp_path / "c") == _digests(tmp_path / "a")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["sample_seed"] == 11 and manifest["seed"] == 11 and manifest["scenario"] == "sampled-11"


def test_another_sample_seed_gives_another_scenario():
    assert sample_scenario(1, 20_000) != sample_scenario(2, 20_000)
    assert sample_scenario(1) == sample_scenario(1)  # the size is drawn too, from the seed
    assert RANGES.accounts[0] <= sample_scenario(1).population.accounts <= RANGES.accounts[1]


def test_scenario_and_sample_seed_together_are_refused(tmp_path):
    done = CliRunner().invoke(main, ["generate", "--scenario", "demo", "--sample-scenario", "3", "--out", str(tmp_path / "x")])
    assert done.exit_code != 0 and "not both" in done.output
    with pytest.raises(ScenarioError, match="at least 1,000"):
        sample_scenario(3, 400)


def test_the_family_reaches_every_kind_of_every_knob():
    """Over many seeds the sampler makes every kind of ring behaviour and every look-alike group, each
    present in some populations and absent from others."""
    seen: Counter = Counter()
    biggest = 0
    for seed in range(300):
        scn = sample_scenario(seed, 200_000)
        biggest = max(biggest, max(r.accounts for r in scn.rings))
        seen[f"rings={min(len(scn.rings), 20) // 5}"] += 1
        users = Counter(r.bank for r in scn.rings if r.bank)
        seen["bank shared by several rings"] += any(n >= 2 for n in users.values())
        seen["power users on a bank"] += any(b.power_users > 0 for b in scn.banks)
        for kind in LOOKALIKE_KINDS:
            seen[f"{kind} present"] += getattr(scn.legit, kind) > 0
            seen[f"{kind} absent"] += getattr(scn.legit, kind) == 0
        for r in scn.rings:
            seen[f"payment {r.payment}"] += 1
            seen[f"bins from {r.bin_source}"] += 1
            seen[f"proxies {r.proxies}"] += 1
            seen[f"creation {r.creation}"] += 1
            seen[f"schedule {r.schedule}"] += 1
            seen["private only"] += not r.bank
            seen["bank only"] += bool(r.bank) and not r.templates
            seen["private and bank"] += bool(r.bank) and bool(r.templates)
            seen["dressed as a company"] += r.dressed_as_company
            seen["no waves"] += r.sync_share == 0
            seen["strong waves"] += r.sync_share >= 0.5
            seen["heavy camouflage"] += r.camouflage >= 0.6
            seen["created within hours"] += r.creation == "even" and r.creation_days < 0.5
            seen["created over months"] += r.creation == "even" and r.creation_days > 90
            seen["50 BINs or so"] += r.bins >= 40
            seen["many phrasings"] += r.phrasings >= 10
            seen["tiny ring"] += r.accounts <= 30
    assert biggest >= 20_000
    missing = [
        k
        for k in (
            *(f"rings={k}" for k in range(4)),
            "bank shared by several rings",
            "power users on a bank",
            *(f"{kind} {state}" for kind in LOOKALIKE_KINDS for state in ("present", "absent")),
            *(f"payment {p}" for p in ("none", "card_per_account", "shared_cards")),
            *(f"bins from {b}" for b in ("popular", "prepaid", "rare")),
            *(f"proxies {p}" for p in ("datacenter", "residential", "mixed", "none")),
            "creation bursts",
            "creation even",
            *(f"schedule {s}" for s in ("round_the_clock", "night", "daily_batches", "office_hours")),
            "private only",
            "bank only",
            "private and bank",
            "dressed as a company",
            "no waves",
            "strong waves",
            "heavy camouflage",
            "created within hours",
            "created over months",
            "50 BINs or so",
            "many phrasings",
            "tiny ring",
        )
        if seen[k] == 0
    ]
    assert not missing, missing


def test_companies_billed_by_invoice_are_companies_and_a_quarter_of_the_family_keeps_no_hours(tmp_path):
    """Invoices go to companies' (and evaluation companies') seats on one billing account each, with no
    BIN, never to a ring; some sampled populations have no time of day, most do."""
    population = generate(sample_seed=100010, accounts=12_000, out=tmp_path / "pop")
    payments = population.frame("payments")
    invoices = payments[payments.kind == "invoice"]
    assert len(invoices) >= 50
    who = population.frame("truth").set_index("account_id").reindex(invoices.account_id)
    assert set(who["kind"]) <= {"company", "eval_company"} and (who["ring_id"] == "").all()
    assert invoices["bin"].isna().all()
    assert (invoices.groupby(who["group_id"].to_numpy()).payment_id.nunique() == 1).all()
    hours = [sample_scenario(seed).population.diurnal for seed in range(900000, 900040)]
    assert 0.55 <= sum(hours) / len(hours) <= 0.95
