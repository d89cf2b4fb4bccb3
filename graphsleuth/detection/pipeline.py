"""Detection on evidence in memory: templates, graph, clusters, scores, joined campaigns, explained rings.

:func:`find_rings` is the whole of detection; reading the evidence and
writing the results around it is :func:`graphsleuth.detect`'s job.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd

from ..errors import GraphsleuthError
from ..evidence import Evidence
from ..progress import Progress
from .blocks import block_clusters
from .campaigns import Campaign, group_campaigns
from .clustering import ALGORITHMS, DEFAULT_RESOLUTION, find_clusters, find_communities
from .cohorts import cohort_clusters, private_template_clusters, template_cohort_clusters
from .explain import ring_record, why_not_flagged
from .findings import Cluster, Findings, Ring, RunStats
from .graph import EvidenceGraph, build_evidence_graph
from .made_together import creation_rank, made_together_clusters
from .organisations import account_domains, seated_accounts
from .rings import join_rings
from .scoring import FLAG_THRESHOLD, MIN_RING_SIZE, ClusterScores, platform_users, ring_id_of, score_clusters

__all__ = ["find_rings", "derive_prompt_templates", "run_id_of", "VIEWS"]

#: Where clusters come from: community detection on the account graph, dense blocks of the evidence graph.
VIEWS = ("clusters", "blocks")
#: Clusters of this many accounts or more are scored as pieces: a ring that shares little but its waves and
#: its BINs comes out of clustering in pieces of a few accounts, which are joined into it (a ring is
#: reported at MIN_RING_SIZE accounts).
PIECE_SIZE = 5


def find_rings(
    evidence: Evidence,
    algorithm: str = "leiden",
    seed: int = 0,
    resolution: float = DEFAULT_RESOLUTION,
    min_size: int = MIN_RING_SIZE,
    threshold: float | None = FLAG_THRESHOLD,
    progress: Progress | None = None,
    views: tuple[str, ...] = VIEWS,
    scored: list | None = None,
    graph: EvidenceGraph | None = None,
    cluster_finder=None,
) -> Findings:
    """Find, score and explain the suspected rings in ``evidence``; the same input and seed give the same rings.

    ``views`` says where clusters come from: ``clusters`` (community detection with
    ``algorithm`` on the account graph, then communities under modularity for the
    accounts no ring holds) and ``blocks`` (dense blocks of the account x
    evidence graph, :mod:`.blocks`, and cohorts of accounts that share two popular items,
    :mod:`.cohorts`; and, last, the accounts no ring holds that share a BIN or a device and
    the templates most of its users send, then those that send templates nobody else sends, then
    those made together that send one toolkit, :mod:`.made_together`),
    one or both. ``scored``, when a list, receives (scores, labels) after every scoring pass:
    what fitting the score learns from.

    Another engine (:mod:`graphsleuth.spark`) hands in the ``graph`` it built and a
    ``cluster_finder`` that stands in for :func:`find_clusters` (same arguments, same
    result: a cluster number per account); every other stage is this one's.
    """
    if algorithm not in ALGORITHMS:
        raise GraphsleuthError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if not views or set(views) - set(VIEWS):
        raise GraphsleuthError(f"--view must be one or both of {', '.join(VIEWS)}, got {', '.join(views) or 'none'}")
    progress = progress or Progress()
    if evidence.raw_prompts:
        progress.step("deriving templates from raw prompts", lambda: derive_prompt_templates(evidence, seed))
    if graph is None:
        graph = progress.step("building the evidence graph", lambda: build_evidence_graph(evidence, seed=seed))
    cluster_finder = cluster_finder or find_clusters
    labels = np.arange(graph.n_accounts)
    scores = ClusterScores.empty()
    steps = (min_size, threshold, progress, scored)
    if "blocks" in views:
        free = np.zeros(graph.n_accounts, dtype=bool)
        labels = progress.step("finding dense blocks", lambda: block_clusters(graph, np.arange(graph.n_accounts), free, min_size, seed))
        in_block = labels != np.arange(graph.n_accounts)
        labels = progress.step("finding cohorts", lambda: cohort_clusters(graph, labels, in_block, min_size, seed))
        scores = progress.step(
            "scoring dense blocks", lambda: score_clusters(evidence, graph, labels, min_size=min_size, threshold=threshold)
        )
        _keep(scored, scores, labels)
        labels, scores = _joined(evidence, graph, labels, scores, min_size, threshold, progress, scored)
    if "clusters" in views:
        finder = _ignoring_taken(partial(cluster_finder, graph, algorithm=algorithm, resolution=resolution, seed=seed))
        labels, scores = _grouped_again(evidence, graph, labels, scores, f"clusters ({algorithm})", finder, *steps)
        # Modularity keeps a large ring tied sparsely by its own evidence, which CPM cuts into pieces too small
        # to flag, in a few large communities (clustering.find_communities).
        finder = _ignoring_taken(partial(find_communities, graph, seed))
        labels, scores = _grouped_again(evidence, graph, labels, scores, "communities (modularity)", finder, *steps)
    if "blocks" in views:
        # What nothing else ties: the users of a rare BIN who all send the same prompts (cohorts.template_cohort_clusters).
        finder = partial(template_cohort_clusters, graph, min_size=min_size, seed=seed)
        labels, scores = _grouped_again(evidence, graph, labels, scores, "template cohorts (BINs, devices)", finder, *steps)
        # Nothing else ties them: the senders of templates nobody else sends (cohorts.private_template_clusters).
        seated = seated_accounts(evidence, graph)
        finder = partial(private_template_clusters, graph, min_size=min_size, seed=seed, seated=seated)
        labels, scores = _grouped_again(evidence, graph, labels, scores, "template cohorts (private templates)", finder, *steps)
        # Made together: a template's senders created far closer together than its senders are (made_together).
        rank = creation_rank(evidence, graph.n_accounts, seed)
        finder = partial(made_together_clusters, graph, rank, min_size=min_size, seated=seated)
        labels, scores = _grouped_again(evidence, graph, labels, scores, "accounts made together (templates)", finder, *steps)
    findings = progress.step("explaining rings", lambda: _findings(evidence, graph, labels, scores, algorithm, seed))
    findings.stats = RunStats(
        accounts=graph.n_accounts, edges=graph.n_edges, clusters_scored=int(len(scores.table)), timings_s=dict(progress.timings)
    )
    return findings


def _keep(scored: list | None, scores: ClusterScores, labels: np.ndarray) -> None:
    if scored is not None:
        scored.append((scores, labels))


def _joined(evidence, graph, labels, scores, min_size, threshold, progress, scored=None):
    """The flagged clusters joined into rings (:func:`join_rings`) and scored again; as they were when none is flagged."""
    if not len(scores.flagged):
        return labels, scores
    is_member = _in_rings(graph, labels, scores)
    pieces = labels
    labels = progress.step(
        "joining the pieces of large rings",
        lambda: join_rings(graph, pieces, scores.flagged, is_member, scores.own_templates, min_size, account_domains(evidence, graph)),
    )
    scores = progress.step(
        "scoring joined rings",
        lambda: score_clusters(evidence, graph, labels, min_size=min_size, threshold=threshold, previous=scores, previous_labels=pieces),
    )
    _keep(scored, scores, labels)
    return labels, scores


def _grouped_again(evidence, graph, labels, scores, what, finder, min_size, threshold, progress, scored=None):
    """The accounts no ring holds grouped again by ``finder`` (``what`` names the grouping), scored and joined
    into rings as the dense blocks are; the rings' accounts keep their labels."""
    taken = _in_rings(graph, labels, scores)
    found = progress.step(f"finding {what}", lambda: finder(labels, taken))
    if np.array_equal(found, labels):
        return labels, scores  # nothing grouped again
    before = labels
    labels = _beside(found, before, taken)
    scores = progress.step(
        f"scoring {what.split(' (')[0]}",
        lambda: score_clusters(
            evidence, graph, labels, min_size=min(min_size, PIECE_SIZE), threshold=threshold, previous=scores, previous_labels=before
        ),
    )
    _keep(scored, scores, labels)
    return _joined(evidence, graph, labels, scores, min_size, threshold, progress, scored)


def _ignoring_taken(finder):
    """``finder`` (no arguments) as :func:`_grouped_again` calls it, with the labels and the accounts rings hold."""
    return lambda labels, taken: finder()


def _beside(found: np.ndarray, labels: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """``found``'s clusters for the accounts not ``taken``; the taken ones keep their ``labels`` (numbered apart)."""
    out = found.astype(np.int64).copy()
    if taken.any():
        base = int(found.max(initial=-1)) + 1
        _, ring = np.unique(labels[taken], return_inverse=True)
        out[taken] = base + ring
    return out


def _in_rings(graph: EvidenceGraph, labels: np.ndarray, scores: ClusterScores) -> np.ndarray:
    """Per account: a member of a flagged cluster that shows its signals."""
    members = scores.member_scores
    showing = np.zeros(graph.n_accounts, dtype=bool)
    position = graph.accounts.get_indexer(members.index)
    showing[position[position >= 0]] = members.to_numpy()[position >= 0] > 0
    return showing & np.isin(labels, scores.flagged)


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
    platform = platform_users(ordered).to_numpy() if len(ordered) else np.zeros(0, dtype=bool)
    # Each ring's record reads every table; they are made on a second thread while this one
    # goes on through the clusters (explaining 1M accounts' rings: 2.5 s before, 2.1 s now).
    with ThreadPoolExecutor(1, thread_name_prefix="graphsleuth-explain") as pool:
        for row, features, platform_of_row in zip(ordered.itertuples(index=False), _feature_records(ordered), platform):
            if row.size < MIN_RING_SIZE:
                continue
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
                pending.append((len(clusters), cluster, ring, row.cluster))
                member_frames.append(pd.DataFrame({"account_id": ids, "ring_id": ring_id, "score": float(row.score)}))
                clusters.append(None)  # its reason is the ring's explanation, below
            else:
                clusters.append(Cluster(**cluster, ring_id=None, reason=why_not_flagged(row, bool(platform_of_row))))
        for slot, cluster, ring, _ in pending:
            ring = replace(ring.result(), run_id=run_id, algorithm=algorithm, seed=seed)
            rings.append(ring)
            clusters[slot] = Cluster(**cluster, ring_id=ring.ring_id, reason=ring.explanation)
    rings, campaigns = _with_campaigns(rings, [number for *_, number in pending], scores.own_templates)
    columns = {"account_id": [], "ring_id": [], "score": []}
    members = pd.concat(member_frames, ignore_index=True) if member_frames else pd.DataFrame(columns)
    members["campaign_id"] = members["ring_id"].map({ring.ring_id: ring.campaign_id for ring in rings}).astype(object)
    members = members.sort_values(["ring_id", "account_id"], kind="stable").reset_index(drop=True)
    return Findings(members=members, rings=rings, clusters=clusters, run_id=run_id, algorithm=algorithm, seed=seed, campaigns=campaigns)


def _with_campaigns(rings: list[Ring], numbers: list[int], own_templates: pd.DataFrame) -> tuple[list[Ring], list[Campaign]]:
    """Each ring with the campaign it belongs to (rings whose own templates overlap), and the campaigns."""
    by_cluster = own_templates.groupby("cluster")["template_id"].agg(lambda values: set(map(str, values))) if len(own_templates) else {}
    templates = [by_cluster.get(number, set()) for number in numbers]
    campaign_of, campaigns = group_campaigns([r.ring_id for r in rings], [r.size for r in rings], templates)
    return [replace(ring, campaign_id=campaigns[c].campaign_id) for ring, c in zip(rings, campaign_of)], campaigns


#: The features a cluster's record shows, in this order.
_SHOWN_FEATURES = [
    "template_share",
    "template_exclusivity",
    "template_coordination",
    "lockstep_share",
    "burst_share",
    "accounts_per_card",
    "bin_concentration",
    "network_share",
    "volume",
    "creation_spread",
    "office_hours_share",
    "organisation_share",
    "invoiced_share",
    "cards",
    "bins",
    "ring_bins",
    "signals",
    "signal_strength",
]


def _feature_records(scores: pd.DataFrame) -> list[dict]:
    """Each scored cluster's shown features, in row order: shares rounded to 4 places, counts as integers."""
    names = [n for n in _SHOWN_FEATURES if n in scores.columns]
    columns = []
    for name in names:
        values = scores[name].tolist()
        columns.append([round(float(v), 4) for v in values] if scores[name].dtype.kind == "f" else [int(v) for v in values])
    return [dict(zip(names, values)) for values in zip(*columns)] if names else [{} for _ in range(len(scores))]
