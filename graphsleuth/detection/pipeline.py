"""Detection on evidence in memory: templates, graph, clusters, scores, joined campaigns, explained rings.

:func:`find_rings` is the whole of detection; reading the evidence and
writing the results around it is :func:`graphsleuth.detect`'s job.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import GraphsleuthError
from ..evidence import Evidence
from ..progress import Progress
from .campaigns import merge_campaigns
from .clustering import ALGORITHMS, DEFAULT_RESOLUTION, find_clusters
from .explain import ring_record, why_not_flagged
from .findings import Cluster, Findings, RunStats
from .graph import EvidenceGraph, build_evidence_graph
from .scoring import FLAG_THRESHOLD, MIN_RING_SIZE, ClusterScores, ring_id_of, score_clusters

__all__ = ["find_rings", "derive_prompt_templates", "run_id_of"]


def find_rings(
    evidence: Evidence,
    algorithm: str = "leiden",
    seed: int = 0,
    resolution: float = DEFAULT_RESOLUTION,
    min_size: int = MIN_RING_SIZE,
    threshold: float = FLAG_THRESHOLD,
    progress: Progress | None = None,
) -> Findings:
    """Find, score and explain the suspected rings in ``evidence``; the same input and seed give the same rings."""
    if algorithm not in ALGORITHMS:
        raise GraphsleuthError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    progress = progress or Progress()
    if evidence.raw_prompts:
        progress.step("deriving templates from raw prompts", lambda: derive_prompt_templates(evidence, seed))
    graph = progress.step("building the evidence graph", lambda: build_evidence_graph(evidence, seed=seed))
    labels = progress.step(
        f"finding clusters ({algorithm})", lambda: find_clusters(graph, algorithm=algorithm, resolution=resolution, seed=seed)
    )
    scores = progress.step("scoring clusters", lambda: score_clusters(evidence, graph, labels, min_size=min_size, threshold=threshold))
    if len(scores.flagged):
        is_member = scores.member_scores.reindex(graph.accounts).fillna(0.0).to_numpy() > 0
        pieces = labels
        labels = progress.step(
            "joining the pieces of large rings",
            lambda: merge_campaigns(
                evidence, graph.accounts, pieces, scores.flagged, scores.own_templates, is_member, graph.sharers("template")
            ),
        )
        scores = progress.step(
            "scoring joined rings",
            lambda: score_clusters(
                evidence, graph, labels, min_size=min_size, threshold=threshold, previous=scores, previous_labels=pieces
            ),
        )
    findings = progress.step("explaining rings", lambda: _findings(evidence, graph, labels, scores, algorithm, seed))
    findings.stats = RunStats(
        accounts=graph.n_accounts, edges=int(len(graph.weight)), clusters_scored=int(len(scores.table)), timings_s=dict(progress.timings)
    )
    return findings


def derive_prompt_templates(evidence: Evidence, seed: int) -> None:
    """Fill ``template_id`` for prompts given as raw text (rows that already have one keep it)."""
    from .templates import derive_templates

    prompts = evidence.prompts
    derived = derive_templates(prompts["prompt"].fillna(""), seed=seed)
    if "template_id" in prompts.columns:
        prompts["template_id"] = prompts["template_id"].fillna(derived)
    else:
        prompts["template_id"] = derived
    evidence.derived_templates = True


def run_id_of(evidence: Evidence, algorithm: str, seed: int) -> str:
    """A digest of the input's accounts and table sizes, the algorithm and the seed: the same run, the same id."""
    digest = hashlib.sha1()
    digest.update(f"{algorithm}\n{seed}\n{len(evidence.accounts)}\n".encode())
    digest.update(pd.util.hash_pandas_object(evidence.accounts["account_id"], index=False).to_numpy().tobytes())
    for name in ("payments", "ips", "prompts", "links"):
        digest.update(f"{name}:{len(evidence.table(name))}\n".encode())
    return f"run-{digest.hexdigest()[:12]}"


def _findings(evidence: Evidence, graph: EvidenceGraph, labels: np.ndarray, scores: ClusterScores, algorithm: str, seed: int) -> Findings:
    run_id = run_id_of(evidence, algorithm, seed)
    account_ids = graph.accounts.to_numpy()
    by_cluster = np.argsort(labels, kind="stable")  # accounts grouped by cluster, in account order within each
    starts = np.searchsorted(labels[by_cluster], np.arange(int(labels.max(initial=0)) + 2))
    rings, clusters, member_frames, pending = [], [], [], []
    member_scores = scores.member_scores
    ordered = scores.table.sort_values(["score", "size"], ascending=False)
    # Each ring's record reads every table; they are made on a second thread while this one
    # goes on through the clusters (explaining 1M accounts' rings: 2.5 s before, 2.1 s now).
    with ThreadPoolExecutor(1, thread_name_prefix="graphsleuth-explain") as pool:
        for row, features in zip(ordered.itertuples(index=False), _feature_records(ordered)):
            positions = by_cluster[starts[row.cluster] : starts[row.cluster + 1]]
            ids = account_ids[positions]
            if row.flagged and member_scores is not None:
                showing = member_scores.reindex(ids).fillna(0).to_numpy() > 0
                if showing.sum() >= MIN_RING_SIZE:
                    ids, positions = ids[showing], positions[showing]
                else:
                    row = row._replace(flagged=False)
            account_ids_sorted = tuple(sorted(map(str, ids)))
            ring_id = ring_id_of(account_ids_sorted)
            cluster = dict(
                cluster_id=ring_id.replace("ring-", "cluster-"),
                size=int(len(ids)),
                score=float(row.score),
                flagged=bool(row.flagged),
                features=features,
                account_ids=account_ids_sorted,
            )
            if row.flagged:
                ring = pool.submit(ring_record, evidence, graph, positions, row, dict(features), ring_id, scores.own_templates)
                pending.append((len(clusters), cluster, ring))
                member_frames.append(pd.DataFrame({"account_id": ids, "ring_id": ring_id, "score": float(row.score)}))
                clusters.append(None)  # its reason is the ring's explanation, below
            else:
                clusters.append(Cluster(**cluster, ring_id=None, reason=why_not_flagged(row)))
        for slot, cluster, ring in pending:
            ring = replace(ring.result(), run_id=run_id, algorithm=algorithm, seed=seed)
            rings.append(ring)
            clusters[slot] = Cluster(**cluster, ring_id=ring.ring_id, reason=ring.explanation)
    members = pd.concat(member_frames, ignore_index=True) if member_frames else pd.DataFrame({"account_id": [], "ring_id": [], "score": []})
    members = members.sort_values(["ring_id", "account_id"], kind="stable").reset_index(drop=True)
    return Findings(members=members, rings=rings, clusters=clusters, run_id=run_id, algorithm=algorithm, seed=seed)


#: The features a cluster's record shows, in this order.
_SHOWN_FEATURES = [
    "template_share",
    "lockstep_share",
    "burst_share",
    "accounts_per_card",
    "bin_concentration",
    "organisation_share",
    "cards",
    "bins",
    "ring_bins",
]


def _feature_records(scores: pd.DataFrame) -> list[dict]:
    """Each scored cluster's shown features, in row order: shares rounded to 4 places, counts as integers."""
    names = [n for n in _SHOWN_FEATURES if n in scores.columns]
    columns = []
    for name in names:
        values = scores[name].tolist()
        columns.append([round(float(v), 4) for v in values] if scores[name].dtype.kind == "f" else [int(v) for v in values])
    return [dict(zip(names, values)) for values in zip(*columns)] if names else [{} for _ in range(len(scores))]
