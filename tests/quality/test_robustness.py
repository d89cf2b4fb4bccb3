"""The robustness harness: seed ranges that never meet, its figures, its report, and the stability measure."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from graphsleuth.quality.robustness import EVALUATION_SEEDS, HEADLINE, TUNING_SEEDS, describe_ring, seeds_for, summarise
from graphsleuth.quality.stability import perturb, stability
from graphsleuth.synth import generate


def test_tuning_and_evaluation_seeds_never_meet():
    assert not set(EVALUATION_SEEDS) & set(TUNING_SEEDS)
    assert seeds_for("evaluation", 30) == list(range(900_000, 900_030))
    assert seeds_for("tuning", 3, first=10) == [100_010, 100_011, 100_012]
    with pytest.raises(Exception, match="range holds"):
        seeds_for("tuning", 5, first=len(TUNING_SEEDS) - 2)


def test_summary_figures():
    results = [
        {"ring_recall": 1.0, "precision": 1.0, "recall": 0.9, "fp_per_100k": 0.0},
        {"ring_recall": 0.5, "precision": 0.8, "recall": 0.7, "fp_per_100k": 120.0},
        {"ring_recall": 0.75, "precision": 0.95, "recall": 0.8, "fp_per_100k": 10.0},
    ]
    figures = summarise(results)
    assert tuple(figures) == HEADLINE
    assert figures == {
        "populations": 3,
        "ring_recall_median": 0.75,
        "ring_recall_min": 0.5,
        "precision_min": 0.8,
        "recall_median": 0.8,
        "fp_per_100k_max": 120.0,
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small") / "evidence"
    population = generate(sample_seed=100_003, accounts=2500, out=out)
    return population, out


def test_a_ring_is_described_by_its_knobs(small):
    population, _ = small
    for record in population.ring_traits["rings"]:
        text = describe_ring(record)
        assert f"{record['size']:,} acc" in text and record["planted"]["proxies"] in text
        assert ("burst" in text) == (record["planted"]["creation"] == "bursts")
        # a ring whose accounts take turns is made over the whole window, whatever its creation knob says
        assert ("taking turns" in text) == (record["planted"]["account_days"] > 0)


def test_perturbed_copies_drop_rows_or_a_table(small, tmp_path):
    _, out = small
    copy = perturb(out, tmp_path / "rows", seed=1)
    for name in ("payments", "ips", "prompts", "links"):
        before = len(pd.read_csv(out / f"{name}.csv"))
        after = len(pd.read_csv(copy / f"{name}.csv"))
        assert 0.9 * before <= after < before, name
    assert (copy / "accounts.csv").read_bytes() == (out / "accounts.csv").read_bytes()
    assert not (copy / "truth.csv").exists()
    without = perturb(out, tmp_path / "no-ips", drop_rows=0.0, drop_table="ips")
    assert not (without / "ips.csv").exists() and (without / "payments.csv").read_bytes() == (out / "payments.csv").read_bytes()


def test_stability_counts_the_draws_that_flip_a_ring(small):
    _, out = small
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    rings = sorted(set(truth.ring_id) - {""})
    calls = []

    def detect(directory):  # finds every ring, except the first one on the second call
        calls.append(directory)
        members = truth[truth.ring_id != ""][["account_id", "ring_id"]]
        return members[members.ring_id != rings[0]] if len(calls) == 2 else members

    result = stability(out, out / "truth.csv", draws=3, detect=detect)
    assert len(calls) == 1 + 3 + 3  # the full input, three row drops, payments, ips and links dropped
    first = result.rings[rings[0]]
    assert first.found and first.row_drop_flips == 1 and first.row_drop_draws == 3
    assert all(r.row_drop_flips == 0 and not r.table_drop_flips for k, r in result.rings.items() if k != rings[0])
    assert json.loads(json.dumps(result.to_dict()))["rings_that_flip"] == [rings[0]]


def test_the_harness_runs_populations_in_fresh_processes_and_ends_with_one_json_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "graphsleuth.quality.robustness", "--mode", "tuning", "--populations", "2", "--max-accounts", "1500"]
        + ["--out", str(tmp_path), "--worst", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    headline = json.loads(lines[-1])
    assert tuple(headline) == HEADLINE and headline["populations"] == 2
    assert json.loads((tmp_path / "robustness.json").read_text()) == headline
    assert "ring recall  min" in done.stdout and "worst 1 populations:" in done.stdout
    assert (tmp_path / "population-100000" / "scenario.toml").is_file()
    assert not (tmp_path / "population-100000" / "evidence").exists()  # only the scenario and results are kept
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    # Mixed prompts: raw text for every third seed.
    assert {(r["seed"], r["prompts"]) for r in results} == {(100_000, "template"), (100_001, "raw")}
