"""Detection on Spark (local[2]) against the embedded engine on one population of 20,000 accounts."""

from __future__ import annotations

import json

import pytest

import graphsleuth

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: How far a planted ring's best Jaccard may be from the embedded run's, and precision and recall.
JACCARD = 0.02
RATES = 0.01


def _figures(out, truth):
    return graphsleuth.evaluate(out, truth).to_dict()


@pytest.fixture(scope="session")
def runs(spark, population_20k, tmp_path_factory):
    """The embedded run (seeds 0 to 4: its own spread between seeds) and the Spark run, cutting the graph into pieces."""
    base = tmp_path_factory.mktemp("runs")
    truth = population_20k / "truth.csv"
    embedded = []
    for seed in range(5):
        graphsleuth.detect(population_20k, base / f"embedded-{seed}", seed=seed)
        embedded.append(_figures(base / f"embedded-{seed}", truth))
    conf = {"spark.graphsleuth.maxPieceShare": "0.05", "spark.graphsleuth.minPieceEdges": "0"}
    graphsleuth.detect(population_20k, base / "spark", engine="spark", spark_conf=conf)
    return embedded, _figures(base / "spark", truth), base


def test_spark_finds_the_planted_rings_the_embedded_engine_finds(runs):
    embedded, spark, _ = runs
    assert {name for name, ring in spark["rings"].items() if ring["found"]} == {
        name for name, ring in embedded[0]["rings"].items() if ring["found"]
    }
    assert spark["rings_found"] == spark["rings_planted"] == 4


def test_each_rings_best_jaccard_matches_the_embedded_run(runs):
    """Within 0.02 of the embedded run, or of the range the embedded engine itself gives over five seeds where
    that range is wider (a ring of 57 accounts moves by 0.05 between the embedded engine's own seeds)."""
    embedded, spark, _ = runs
    for name, ring in spark["rings"].items():
        own = [run["rings"][name]["best_jaccard"] for run in embedded]
        low, high = min(own) - JACCARD, max(own) + JACCARD
        assert low <= ring["best_jaccard"] <= high or abs(ring["best_jaccard"] - own[0]) <= JACCARD, (name, ring, own)


def test_precision_and_recall_match_the_embedded_run(runs):
    embedded, spark, _ = runs
    assert spark["precision"] == pytest.approx(embedded[0]["precision"], abs=RATES)
    assert spark["recall"] == pytest.approx(embedded[0]["recall"], abs=RATES)


def test_spark_writes_the_same_output_files(runs):
    _, _, base = runs
    names = sorted(p.name for p in (base / "embedded-0").iterdir())
    assert sorted(p.name for p in (base / "spark").iterdir()) == names
    ring = json.loads((base / "spark" / "rings.jsonl").read_text().splitlines()[0])
    assert ring["explanation"] and ring["campaign_id"]
