"""Fitting the ring score on a family of populations, never on one.

Every cluster that detection scores on a population (the pieces clustering
finds, then the rings they are joined into) becomes one example: its features
and whether it is a ring, from the population's truth (most of its accounts in
planted rings) or a legitimate group (almost none). A logistic model with the
signs of :data:`~graphsleuth.detection.model.MODEL_FEATURES` is fitted on the
examples of all populations at once, each population weighing the same and
rings and legitimate groups weighing the same, and each kind of legitimate
group weighing the same (a hackathon's few clusters as much as the thousands of
households'), so that neither a large population nor the many easy legitimate
clusters decide it.

    python -m graphsleuth.quality.fitting POPULATION_DIR... --out graphsleuth/detection/ring_model.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..detection.model import MODEL_FEATURES, RingModel, model_inputs
from ..evidence import Evidence, read_evidence
from .evaluation import read_truth

__all__ = ["candidate_clusters", "fit_ring_model", "RING_SHARE", "LEGITIMATE_SHARE"]

#: A cluster is an example of a ring when at least this share of its accounts are ring accounts...
RING_SHARE = 0.6
#: ...and of a legitimate group when at most this share are; clusters in between teach nothing clear.
LEGITIMATE_SHARE = 0.1
#: The L2 penalty on the weights, each times its input's standard deviation over the examples.
PENALTY = 0.002


def candidate_clusters(evidence: Evidence | str | Path, truth: pd.DataFrame | str | Path, seed: int = 0) -> pd.DataFrame:
    """Every cluster detection scores on one population, with its features and ``label`` (1 ring, 0 not, NaN unclear).

    The clusters are those of every scoring pass of :func:`~graphsleuth.detection.pipeline.find_rings`:
    dense blocks, pieces, and the rings they are joined into; a cluster scored twice counts once.
    """
    from ..detection.pipeline import find_rings

    evidence = evidence if isinstance(evidence, Evidence) else read_evidence(evidence)
    truth = truth if isinstance(truth, pd.DataFrame) else read_truth(truth)
    passes: list = []
    find_rings(evidence, seed=seed, scored=passes)
    accounts = pd.Index(evidence.accounts["account_id"])
    truth = truth.set_index("account_id")
    in_ring = (truth["ring_id"].reindex(accounts).fillna("") != "").to_numpy()
    kind = truth["kind"].reindex(accounts).fillna("").to_numpy() if "kind" in truth.columns else np.full(len(accounts), "")
    tables = [_labelled(scores.table, labels, in_ring, kind, f"pass {i}") for i, (scores, labels) in enumerate(passes) if len(scores.table)]
    if not tables:
        return pd.DataFrame(columns=["label"])
    both = pd.concat(tables, ignore_index=True)
    return both.drop_duplicates([c for c in both.columns if c not in ("cluster", "stage", "score", "flagged")], keep="first")


def _labelled(table: pd.DataFrame, labels: np.ndarray, in_ring: np.ndarray, kind: np.ndarray, stage: str) -> pd.DataFrame:
    share = pd.Series(in_ring).groupby(labels).mean()
    most = pd.Series(kind).groupby(labels).agg(lambda k: k.value_counts().index[0])
    out = table.copy()
    out["ring_share"] = share.reindex(out["cluster"]).to_numpy()
    out["kind"] = most.reindex(out["cluster"]).to_numpy()
    out["label"] = np.where(out["ring_share"] >= RING_SHARE, 1.0, np.where(out["ring_share"] <= LEGITIMATE_SHARE, 0.0, np.nan))
    out["stage"] = stage
    return out


def _example_weights(table: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """One population's example weights: rings half, legitimate groups half, each kind of legitimate group
    the same share of that half (a hackathon's few clusters as much as thousands of households'), and within
    each, clusters by the square root of their size (a missed ring of 300 accounts costs more than one of 10,
    yet the many small pieces still count)."""
    size = np.sqrt(table["size"].to_numpy(dtype=float))
    kind = table["kind"].astype(str).to_numpy() if "kind" in table.columns else np.full(len(table), "")
    group = np.where(y == 1, "ring", "legitimate " + kind)
    totals = pd.Series(size).groupby(group).transform("sum").to_numpy()
    kinds = len(set(group[y == 0]))
    share = np.where(y == 1, 0.5, 0.5 / max(kinds, 1))
    return share * size / totals


def fit_ring_model(examples: list[pd.DataFrame], threshold: float = 0.5, fitted_on: dict | None = None) -> RingModel:
    """The logistic model fitted on the clusters of several populations (one table each, from :func:`candidate_clusters`)."""
    inputs, labels, weights = [], [], []
    for table in examples:
        table = table[table["label"].notna()]
        if len(table) == 0:
            continue
        y = table["label"].to_numpy()
        x = model_inputs(table).to_numpy()
        inputs.append(x), labels.append(y), weights.append(_example_weights(table, y))
    x, y, w = np.vstack(inputs), np.concatenate(labels), np.concatenate(weights)
    w = w / w.sum()
    names = list(MODEL_FEATURES)
    bounds = [(None, None)] + [
        (0.0, None) if MODEL_FEATURES[n] > 0 else (None, 0.0) if MODEL_FEATURES[n] < 0 else (None, None) for n in names
    ]

    # The penalty is on each weight times its input's spread, as if the inputs were standardised: an input
    # that rarely leaves 0 (an event's share) needs a large weight to count, and should not pay more for it.
    spread = np.sqrt(np.cov(x, rowvar=False, aweights=w).diagonal()).clip(1e-3) if len(x) > 1 else np.ones(x.shape[1])
    scale = PENALTY * spread**2

    def loss(theta):
        z = theta[0] + x @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        value = -np.sum(w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))) + np.sum(scale * theta[1:] ** 2) / 2
        gradient = np.concatenate([[np.sum(w * (p - y))], x.T @ (w * (p - y)) + scale * theta[1:]])
        return value, gradient

    result = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    record = dict(fitted_on or {})
    record.update({"examples": int(len(y)), "rings": int((y == 1).sum()), "loss": round(float(result.fun), 6)})
    return RingModel({n: round(float(v), 4) for n, v in zip(names, result.x[1:])}, round(float(result.x[0]), 4), threshold, record)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("populations", nargs="+", type=Path, help="Population directories, each with its truth.csv.")
    parser.add_argument("--out", type=Path, required=True, help="Where to write the fitted model (JSON).")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    examples = []
    for folder in args.populations:
        examples.append(candidate_clusters(folder, folder / "truth.csv"))
        print(f"{folder}: {len(examples[-1])} clusters, {int((examples[-1]['label'] == 1).sum())} rings", file=sys.stderr)
    model = fit_ring_model(examples, args.threshold, {"populations": [str(p) for p in args.populations]})
    args.out.write_text(json.dumps(model.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(model.to_dict()["weights"], indent=2))


if __name__ == "__main__":
    main()
