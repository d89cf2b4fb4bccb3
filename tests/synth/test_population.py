"""The synthetic attack generator: deterministic, realistic in what a user would notice, valid input.

Populations are small (a few thousand accounts) so the whole file runs in
seconds; the full-scale hydra-2026 scenario is checked in test_scenario.py
without generating it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphsleuth.cli import main
from graphsleuth.evidence import read_evidence
from graphsleuth.synth import KINDS, generate
from graphsleuth.synth.accounts import FREE_MAIL
from graphsleuth.synth.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds" / "demo"
EVIDENCE_FILES = ("accounts", "payments", "ips", "prompts", "links")


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def _free_mail(emails: pd.Series) -> pd.Series:
    return emails.str.split("@").str[1].isin(set(FREE_MAIL))


# --- determinism --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_scenario_and_seed_give_byte_identical_files(tmp_path, fmt):
    a = generate("demo", seed=42, accounts=1500, format=fmt, out=tmp_path / "a")
    b = generate("demo", seed=42, accounts=1500, format=fmt, out=tmp_path / "b")
    files_a, files_b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert {f"{name}.{fmt}" for name in EVIDENCE_FILES} | {"truth.csv", "truth_rings.json", "manifest.json"} == set(files_a)
    assert files_a == files_b
    assert a.manifest == b.manifest


def test_raw_prompt_mode_is_deterministic_too(tmp_path):
    generate("demo", seed=9, accounts=1500, prompts="raw", out=tmp_path / "a")
    generate("demo", seed=9, accounts=1500, prompts="raw", out=tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_the_same_seed_gives_the_same_files_in_processes_with_different_string_hashing(tmp_path):
    # Python salts str hashes per process; a draw from anything built from a set (as some of
    # Faker's word lists are) would differ between two runs of the same command.
    for salt in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "graphsleuth", "generate", "--seed", "3", "--accounts", "3000", "--out", str(tmp_path / salt), "-q"],
            env={**os.environ, "PYTHONHASHSEED": salt},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert _digests(tmp_path / "1") == _digests(tmp_path / "2")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_different_seed_gives_different_files(tmp_path, fmt):
    generate("demo", seed=42, accounts=1500, format=fmt, out=tmp_path / "a")
    generate("demo", seed=43, accounts=1500, format=fmt, out=tmp_path / "b")
    files_a, files_b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    for name in [f"{n}.{fmt}" for n in EVIDENCE_FILES] + ["truth.csv"]:
        assert files_a[name] != files_b[name], name


def test_in_memory_tables_match_the_written_files(tmp_path):
    population = generate("demo", seed=5, accounts=1200, out=tmp_path / "out")
    for name in EVIDENCE_FILES:
        written = pd.read_csv(tmp_path / "out" / f"{name}.csv", dtype=str, keep_default_na=False)
        in_memory = population.frame(name).astype(str)
        assert written.shape == in_memory.shape, name
        assert (written.to_numpy() == in_memory.to_numpy()).all(), name


# --- the committed seeds regenerate with the documented command -----------------------------


def _documented_seeds_command() -> list[str]:
    """The generate command of ``make seeds``, as the Makefile has it."""
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^seeds:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no seeds target"
    line = next(text for text in recipe.group(1).splitlines() if "graphsleuth generate" in text)
    args = shlex.split(line.strip())
    return args[args.index("generate") :]


def test_seeds_readme_documents_make_seeds():
    readme = (REPO / "seeds" / "README.md").read_text()
    assert "make seeds" in readme
    command = " ".join(_documented_seeds_command())
    assert command in readme, f"seeds/README.md should show the command: graphsleuth {command}"


def test_committed_seeds_regenerate_byte_identically(tmp_path):
    args = _documented_seeds_command()
    out_at = args.index("--out") + 1
    assert Path(args[out_at]) == Path("seeds/demo")
    args[out_at] = str(tmp_path / "demo")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    committed = _digests(SEEDS)
    assert committed, "seeds/demo is empty: run make seeds"
    assert _digests(tmp_path / "demo") == committed


# --- invariants of one population --------------------------------------------------------


@pytest.fixture(scope="module")
def pop4k(tmp_path_factory):
    """A 4,000-account demo population, written as CSV, with every kind of account."""
    out = tmp_path_factory.mktemp("pop4k") / "evidence"
    population = generate("demo", seed=11, accounts=4000, out=out)
    truth = population.frame("truth").rename(columns={"kind": "account_kind"})
    return population, truth, out


def test_every_planted_ring_has_its_size_in_manifest_and_truth(pop4k):
    population, truth, _ = pop4k
    planned = {r.name: r.accounts for r in load_scenario("demo").scaled(4000).rings}
    in_truth = truth.loc[truth.ring_id != "", "ring_id"].value_counts().to_dict()
    assert population.manifest["rings"] == planned == in_truth
    assert population.manifest["ring_accounts"] == sum(planned.values())
    assert set(population.ring_ids) == set(planned)


def test_every_ring_account_is_in_truth_with_its_ring(pop4k):
    population, truth, _ = pop4k
    accounts = population.frame("accounts")
    assert truth.account_id.is_unique
    assert list(truth.account_id) == list(accounts.account_id)
    ring_rows = truth[truth.ring_id != ""]
    assert (ring_rows.account_kind == "ring").all()
    assert (truth.loc[truth.ring_id == "", "account_kind"] != "ring").all()
    # One group per ring, and no legitimate group is mixed with a ring.
    assert ring_rows.groupby("ring_id").group_id.nunique().eq(1).all()
    assert not set(ring_rows.group_id) & set(truth.loc[truth.ring_id == "", "group_id"])


def test_every_kind_of_account_is_present(pop4k):
    _, truth, _ = pop4k
    counts = truth.account_kind.value_counts()
    # The demo plants every kind but the look-alike groups, which scenarios turn on by share.
    assert set(counts.index) == set(KINDS[: KINDS.index("ring") + 1])
    # Individuals are the bulk; rings are a minority.
    assert counts["individual"] == counts.max()
    assert counts["ring"] < 0.2 * len(truth)


def test_companies_share_one_corporate_card_and_an_org_domain(pop4k):
    population, truth, _ = pop4k
    low, high = load_scenario("demo").legit.company_seats
    seats = truth[truth.account_kind == "company"]
    sizes = seats.groupby("group_id").size()
    assert len(sizes) >= 2
    assert sizes.between(low, high).all(), sizes.describe()
    payments = population.frame("payments").merge(seats, on="account_id")
    accounts = population.frame("accounts").merge(truth, on="account_id")
    accounts["domain"] = accounts.email.str.split("@").str[1]
    for group, size in sizes.items():
        cards = payments[payments.group_id == group].groupby("payment_id").account_id.nunique()
        assert cards.max() == size, f"company {group}: no card shared by all {size} seats"
        domains = accounts.loc[accounts.group_id == group, "domain"].unique()
        assert len(domains) == 1 and domains[0] not in set(FREE_MAIL), domains
        # The domain is the company's own: nobody outside it uses it.
        assert set(accounts.loc[accounts.domain == domains[0], "group_id"]) == {group}


def test_campuses_share_a_university_domain_and_a_few_ips(pop4k):
    population, truth, _ = pop4k
    low, high = load_scenario("demo").legit.campus_size
    students = truth[truth.account_kind == "campus"]
    sizes = students.groupby("group_id").size()
    assert len(sizes) >= 1 and sizes.between(low, high).all()
    accounts = population.frame("accounts").merge(students, on="account_id")
    domains = accounts.groupby("group_id").email.agg(lambda e: set(e.str.split("@").str[1]))
    assert all(len(d) == 1 and re.search(r"\.(edu|ac)$", next(iter(d))) for d in domains)
    ips = population.frame("ips").merge(students, on="account_id")
    for group, size in sizes.items():
        per_ip = ips[ips.group_id == group].groupby("ip").account_id.nunique()
        assert per_ip.max() >= 0.2 * size  # the campus NAT


def test_households_share_a_card_or_a_home_ip(pop4k):
    population, truth, _ = pop4k
    homes = truth[truth.account_kind == "household"]
    sizes = homes.groupby("group_id").size()
    assert len(sizes) >= 20 and sizes.between(2, 5).all()
    shared = pd.concat(
        [
            population.frame("payments")
            .merge(homes, on="account_id")[["group_id", "payment_id", "account_id"]]
            .rename(columns={"payment_id": "value"}),
            population.frame("ips").merge(homes, on="account_id")[["group_id", "ip", "account_id"]].rename(columns={"ip": "value"}),
        ]
    )
    best = shared.groupby(["group_id", "value"]).account_id.nunique().groupby("group_id").max().reindex(sizes.index, fill_value=0)
    assert (best == sizes).mean() >= 0.9  # the whole household on one card or one home IP
    assert (best >= 2).mean() >= 0.95


def test_shared_egress_ips_carry_many_unrelated_accounts(pop4k):
    """VPN exits, mobile CGNAT and cloud egress: one IP, many strangers (hard negatives)."""
    population, truth, _ = pop4k
    ips = population.frame("ips").merge(truth, on="account_id")
    per_ip = ips.groupby("ip").agg(
        accounts=("account_id", "nunique"),
        groups=("group_id", "nunique"),
        kinds=("account_kind", "nunique"),
        legit=("ring_id", lambda r: (r == "").sum()),
    )
    crowded = per_ip[(per_ip.accounts >= 20) & (per_ip.groups >= 0.8 * per_ip.accounts) & (per_ip.legit >= 0.8 * per_ip.accounts)]
    assert len(crowded) >= 5, per_ip.sort_values("accounts").tail(10)
    assert crowded.kinds.max() >= 3
    assert crowded.accounts.max() >= 40


def _windows_needed(times: np.ndarray, width: float) -> int:
    """Fewest windows of ``width`` seconds that cover all ``times`` (greedy)."""
    count, end = 0, -np.inf
    for t in np.sort(times):
        if t > end:
            count, end = count + 1, t + width
    return count


def test_ring_accounts_are_created_in_bursts(pop4k):
    population, truth, _ = pop4k
    accounts = population.frame("accounts").merge(truth, on="account_id")
    created = (pd.to_datetime(accounts.created_at, utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    legit = created[accounts.ring_id == ""].to_numpy()
    rng = np.random.default_rng(0)
    for ring in load_scenario("demo").scaled(4000).rings:
        times = created[accounts.ring_id == ring.name].to_numpy()
        width = ring.burst_hours * 3600
        assert _windows_needed(times, width) <= ring.creation_bursts, ring.name
        # As many legitimate accounts, picked at random, spread far wider.
        sample = rng.choice(legit, size=len(times), replace=False)
        assert _windows_needed(sample, width) > 2 * ring.creation_bursts, ring.name


def test_written_evidence_reads_back_in_strict_mode(pop4k):
    population, truth, out = pop4k
    evidence = read_evidence(out)
    assert evidence.rejects.empty
    for name in EVIDENCE_FILES:
        assert len(evidence.table(name)) == population.tables[name].num_rows, name
    assert set(evidence.accounts.account_id) == set(truth.account_id)
    assert not evidence.raw_prompts
    assert evidence.accounts.created_at.notna().all()
    assert int(evidence.prompts["count"].sum()) == population.manifest["requests"]


def test_parquet_output_reads_back_the_same_as_csv(tmp_path):
    generate("demo", seed=3, accounts=1500, out=tmp_path / "csv")
    generate("demo", seed=3, accounts=1500, out=tmp_path / "pq", format="parquet")
    a, b = read_evidence(tmp_path / "csv"), read_evidence(tmp_path / "pq")
    for name in EVIDENCE_FILES:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), check_dtype=False, obj=name)


def test_raw_mode_writes_prompt_text_and_row_aligned_truth(tmp_path):
    raw = generate("demo", seed=4, accounts=1500, prompts="raw", out=tmp_path / "raw")
    tpl = generate("demo", seed=4, accounts=1500)
    prompts = raw.frame("prompts")
    assert "prompt" in prompts.columns and "template_id" not in prompts.columns
    assert prompts.prompt.str.len().gt(0).all()
    header = (tmp_path / "raw" / "prompts.csv").read_text().splitlines()[0]
    assert "template_id" not in header and "prompt" in header
    truth_prompts = pd.read_csv(tmp_path / "raw" / "truth_prompts.csv", dtype={"template_id": str})
    assert list(truth_prompts.columns) == ["row", "template_id"]
    assert list(truth_prompts.row) == list(range(1, len(prompts) + 1))
    # Row N of truth_prompts is the template behind row N of prompts.csv: the
    # same rows in template mode carry exactly these template ids.
    same = tpl.frame("prompts")
    assert (same.account_id.to_numpy() == prompts.account_id.to_numpy()).all()
    assert (same.template_id.to_numpy() == truth_prompts.template_id.to_numpy()).all()
    # The raw files are valid input: the detector will derive templates from the text.
    evidence = read_evidence(tmp_path / "raw")
    assert evidence.raw_prompts and evidence.rejects.empty
    assert len(evidence.prompts) == len(truth_prompts)
    assert raw.manifest["prompts"] == "raw"


def test_template_mode_writes_no_truth_prompts(tmp_path):
    population = generate("demo", seed=4, accounts=800, out=tmp_path / "out")
    assert population.truth_prompts is None
    assert not (tmp_path / "out" / "truth_prompts.csv").exists()


# --- properties over random seeds and sizes ------------------------------------------------


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), accounts=st.integers(200, 3000))
def test_generator_properties_over_random_seeds_and_sizes(tmp_path_factory, seed, accounts):
    out = tmp_path_factory.mktemp("prop") / "evidence"
    population = generate("demo", seed=seed, accounts=accounts, out=out)
    # Always valid input for the detector.
    evidence = read_evidence(out)
    assert evidence.rejects.empty and len(evidence.accounts) == accounts
    # Truth covers exactly the accounts, once each.
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    assert truth.account_id.is_unique
    assert set(truth.account_id) == set(evidence.accounts.account_id)
    # Ring sizes add up, in manifest and truth alike.
    manifest = population.manifest
    in_truth = truth.loc[truth.ring_id != "", "ring_id"].value_counts().to_dict()
    assert in_truth == manifest["rings"]
    assert sum(manifest["rings"].values()) == manifest["ring_accounts"] == (truth.kind == "ring").sum()
    # --accounts keeps each ring's share of the population (down to the 12-account floor)...
    demo = load_scenario("demo")
    for ring in demo.rings:
        expected = ring.accounts * accounts / demo.population.accounts
        got = manifest["rings"][ring.name]
        assert got == 12 if expected < 11.5 else abs(got - expected) <= 1, (ring.name, got, expected)
    share = manifest["ring_accounts"] / accounts
    planned = demo.ring_accounts / demo.population.accounts
    floors = sum(max(12, r.accounts * accounts / demo.population.accounts) + 1 for r in demo.rings)
    assert planned * 0.95 <= share <= max(planned * 1.05, floors / accounts)
    # ...and each ring's requests per account.
    volume = evidence.prompts.merge(truth, on="account_id").groupby("ring_id")["count"].sum()
    for ring in demo.scaled(accounts).rings:
        assert abs(volume[ring.name] - ring.requests) <= 0.03 * ring.requests + ring.accounts, ring.name


# --- no single per-account column gives the rings away ---------------------------------------


def _best_threshold_balanced_accuracy(values: np.ndarray, is_ring: np.ndarray) -> float:
    """Best balanced accuracy of ``value <= t`` (or ``> t``) as a ring predictor, over all t."""
    order = np.argsort(values, kind="stable")
    v, y = values[order], is_ring[order]
    positives, negatives = y.sum(), (~y).sum()
    at_cut = np.r_[v[1:] != v[:-1], True]  # cut only between distinct values
    tpr = np.cumsum(y)[at_cut] / positives
    fpr = np.cumsum(~y)[at_cut] / negatives
    below = 0.5 * (tpr + 1 - fpr)
    return float(max(below.max(), (1 - below).max(), 0.5))


def _best_category_balanced_accuracy(categories: pd.Series, is_ring: np.ndarray) -> float:
    """Best balanced accuracy of any set of categories as a ring predictor."""
    frame = pd.crosstab(categories.to_numpy(), is_ring)
    ring = frame.get(True, 0) / is_ring.sum()
    legit = frame.get(False, 0) / (~is_ring).sum()
    pick = ring > legit
    return float(0.5 * (ring[pick].sum() + 1 - legit[pick].sum()))


def _leakage(population) -> dict[str, float]:
    accounts = population.frame("accounts").merge(population.frame("truth"), on="account_id")
    is_ring = (accounts.ring_id != "").to_numpy()
    volume = population.frame("prompts").groupby("account_id")["count"].sum()
    return {
        "requests": _best_threshold_balanced_accuracy(accounts.account_id.map(volume).fillna(0).to_numpy(float), is_ring),
        "country": _best_category_balanced_accuracy(accounts.country, is_ring),
        "free_mail": _best_category_balanced_accuracy(_free_mail(accounts.email), is_ring),
        "created_at": _best_threshold_balanced_accuracy(pd.to_datetime(accounts.created_at).astype("int64").to_numpy(float), is_ring),
    }


def test_balanced_accuracy_helpers():
    y = np.array([True, True, False, False])
    assert _best_threshold_balanced_accuracy(np.array([1.0, 2, 3, 4]), y) == 1.0
    assert _best_threshold_balanced_accuracy(np.array([4.0, 3, 2, 1]), y) == 1.0
    assert _best_threshold_balanced_accuracy(np.array([1.0, 1, 1, 1]), y) == 0.5
    assert _best_category_balanced_accuracy(pd.Series(["a", "b", "b", "a"]), y) == 0.5
    assert _best_category_balanced_accuracy(pd.Series(["a", "a", "b", "c"]), y) == 1.0


@pytest.mark.parametrize("seed", [0, 2026])
def test_no_single_account_column_separates_rings(seed):
    """Request volume, country, free-mail or not, account age: each alone stays below 0.8 balanced accuracy."""
    population = generate("demo", seed=seed)  # the demo's own 5,000 accounts
    assert population.manifest["accounts"] == 5000
    figures = _leakage(population)
    print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    leaking = {k: round(v, 3) for k, v in figures.items() if v >= 0.8}
    assert not leaking, f"columns that give the rings away on their own: {leaking}"


def test_country_does_not_leak_for_any_of_ten_seeds():
    worst = max(_leakage(generate("demo", seed=seed))["country"] for seed in range(10))
    assert worst < 0.8, f"country balanced accuracy up to {worst:.3f}"
