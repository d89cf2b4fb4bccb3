"""Fitting the ring score on a family of populations, never on one.

Every cluster that detection scores on a population (the pieces clustering
finds, then the rings they are joined into) becomes one example: its features
and whether it is a ring, from the population's truth (most of its accounts in
planted rings) or a legitimate group (almost none). A logistic model with the
signs of :data:`~graphsleuth.detection.model.MODEL_FEATURES` is fitted on the
examples of all populations at once, each population weighing the same and
rings and legitimate groups weighing the same, so that neither a large
population nor the many small legitimate clusters decide it.

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
#: The L2 penalty on the weights (the inputs are shares in [0, 1]).
PENALTY = 0.002


def candidate_clusters(evidence: Evidence | str | Path, truth: pd.DataFrame | str | Path, seed: int = 0) -> pd.DataFrame:
    """Every cluster detection scores on one population, with its features and ``label`` (1 ring, 0 not, NaN unclear).

    The clusters are those of both scoring passes: the pieces, and the rings they are joined into.
    """
    from ..detection.clustering import find_clusters
    from ..detection.graph import build_evidence_graph
    from ..detection.pipeline import derive_prompt_templates
    from ..detection.rings import join_rings
    from ..detection.scoring import score_clusters

    evidence = evidence if isinstance(evidence, Evidence) else read_evidence(evidence)
    truth = truth if isinstance(truth, pd.DataFrame) else read_truth(truth)
    if evidence.raw_prompts:
        derive_prompt_templates(evidence, seed)
    graph = build_evidence_graph(evidence, seed=seed)
    in_ring = (truth.set_index("account_id")["ring_id"].reindex(graph.accounts).fillna("") != "").to_numpy()
    labels = find_clusters(graph, seed=seed)
    pieces = score_clusters(evidence, graph, labels)
    tables = [_labelled(pieces.table, labels, in_ring, "piece")]
    if len(pieces.flagged):
        is_member = pieces.member_scores.reindex(graph.accounts).fillna(0.0).to_numpy() > 0
        joined = join_rings(graph, labels, pieces.flagged, is_member, pieces.own_templates)
        rings = score_clusters(evidence, graph, joined, previous=pieces, previous_labels=labels)
        new = ~rings.table["cluster"].isin(pieces.table["cluster"]) | rings.table["cluster"].isin(np.unique(joined[joined != labels]))
        tables.append(_labelled(rings.table[new], joined, in_ring, "ring"))
    return pd.concat(tables, ignore_index=True)


def _labelled(table: pd.DataFrame, labels: np.ndarray, in_ring: np.ndarray, stage: str) -> pd.DataFrame:
    share = pd.Series(in_ring).groupby(labels).mean()
    out = table.copy()
    out["ring_share"] = share.reindex(out["cluster"]).to_numpy()
    out["label"] = np.where(out["ring_share"] >= RING_SHARE, 1.0, np.where(out["ring_share"] <= LEGITIMATE_SHARE, 0.0, np.nan))
    out["stage"] = stage
    return out


def fit_ring_model(examples: list[pd.DataFrame], threshold: float = 0.5, fitted_on: dict | None = None) -> RingModel:
    """The logistic model fitted on the clusters of several populations (one table each, from :func:`candidate_clusters`)."""
    inputs, labels, weights = [], [], []
    for table in examples:
        table = table[table["label"].notna()]
        if len(table) == 0:
            continue
        y = table["label"].to_numpy()
        x = model_inputs(table).to_numpy()
        w = np.where(y == 1, 0.5 / max((y == 1).sum(), 1), 0.5 / max((y == 0).sum(), 1))
        inputs.append(x), labels.append(y), weights.append(w)
    x, y, w = np.vstack(inputs), np.concatenate(labels), np.concatenate(weights)
    w = w / w.sum()
    names = list(MODEL_FEATURES)
    bounds = [(None, None)] + [
        (0.0, None) if MODEL_FEATURES[n] > 0 else (None, 0.0) if MODEL_FEATURES[n] < 0 else (None, None) for n in names
    ]

    def loss(theta):
        z = theta[0] + x @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        value = -np.sum(w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))) + PENALTY * np.sum(theta[1:] ** 2) / 2
        gradient = np.concatenate([[np.sum(w * (p - y))], x.T @ (w * (p - y)) + PENALTY * theta[1:]])
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
