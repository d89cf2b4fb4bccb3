"""Clustering the pieces of the account graph on the executors, with detection's own clustering.

Each task gets the edges of a few pieces (:mod:`.partition`) and runs
:func:`graphsleuth.detection.clustering.find_clusters` (Leiden, its finer split and the merging
back of parts that are not well separated) on them, in ``applyInPandas``. Pieces share no edge,
so clustering several in one task gives what clustering each alone gives (CPM decomposes over
components); packing them into tasks saves a Python call per piece where there are tens of
thousands of small ones. The driver numbers the clusters of all tasks into one labelling, with
every account linked to nobody in a cluster of its own, as the embedded clustering does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..detection.clustering import find_clusters
from ..detection.graph import EvidenceGraph
from .partition import Partition

__all__ = ["cluster_edges", "pack_pieces", "SparkClusters", "spark_cluster_finder"]

#: Tasks per core the pieces are packed into (more tasks than cores: a slow one does not hold the others up).
TASKS_PER_CORE = 4


def cluster_edges(frame: pd.DataFrame, algorithm: str, resolution: float, seed: int) -> pd.DataFrame:
    """Clusters of the accounts of one task's edges (columns src, dst, weight; global account numbers).

    Returns columns account and label (labels numbered within the task).
    """
    if len(frame) == 0:
        return pd.DataFrame({"account": np.zeros(0, np.int64), "label": np.zeros(0, np.int64)})
    ends = np.concatenate([frame["src"].to_numpy(np.int64), frame["dst"].to_numpy(np.int64)])
    accounts, local = np.unique(ends, return_inverse=True)
    n = len(frame)
    empty = pd.DataFrame({"account": np.zeros(0, np.int64), "evidence": np.zeros(0, np.int64)})
    nodes = pd.DataFrame({"kind": [], "value": [], "degree": [], "weight": [], "hub": []})
    graph = EvidenceGraph(pd.Index(accounts), empty, nodes, local[:n], local[n:], frame["weight"].to_numpy(float))
    labels = find_clusters(graph, algorithm=algorithm, resolution=resolution, seed=seed)
    return pd.DataFrame({"account": accounts, "label": labels.astype(np.int64)})


def pack_pieces(edges_per_piece: np.ndarray, tasks: int) -> np.ndarray:
    """The task of each piece: the largest first, each onto the task with the fewest edges so far."""
    order = np.argsort(-edges_per_piece, kind="stable")
    load = np.zeros(max(tasks, 1))
    task = np.zeros(len(edges_per_piece), dtype=np.int64)
    big = order[: len(load) * 4]  # the large pieces one by one; the long tail of small ones round-robin
    for p in big:
        t = int(np.argmin(load))
        task[p] = t
        load[t] += edges_per_piece[p]
    rest = order[len(big) :]
    task[rest] = np.arange(len(rest)) % len(load)
    return task


@dataclass
class SparkClusters:
    """What clustering on the executors did: the partition's figures and the number of tasks."""

    partition: Partition
    tasks: int

    def to_dict(self) -> dict:
        return {**self.partition.to_dict(), "tasks": self.tasks}


def spark_cluster_finder(spark, edges, partition: Partition, record: list | None = None):
    """A stand-in for :func:`find_clusters` (same arguments) that clusters ``partition``'s pieces of ``edges`` on the executors."""

    def finder(graph: EvidenceGraph, algorithm: str = "leiden", resolution: float = 0.35, seed: int = 0) -> np.ndarray:
        from pyspark.sql import functions as F

        n = graph.n_accounts
        piece = partition.piece
        linked = np.flatnonzero(piece >= 0)
        n_pieces = int(piece.max(initial=-1)) + 1
        per_piece = np.bincount(piece[linked], minlength=n_pieces).astype(float)  # accounts stand in for the work
        tasks = max(1, min(n_pieces, spark.sparkContext.defaultParallelism * TASKS_PER_CORE))
        task_of_piece = pack_pieces(per_piece, tasks)
        where = pd.DataFrame({"account": linked.astype(np.int64), "piece": piece[linked], "task": task_of_piece[piece[linked]]})
        where_df = spark.createDataFrame(where)
        a = where_df.select(F.col("account").alias("src"), F.col("piece").alias("piece_src"), F.col("task"))
        b = where_df.select(F.col("account").alias("dst"), F.col("piece").alias("piece_dst"))
        inside = edges.join(a, "src").join(b, "dst").where(F.col("piece_src") == F.col("piece_dst"))
        inside = inside.select("task", "src", "dst", "weight").repartition(tasks, "task")

        def run(frame: pd.DataFrame) -> pd.DataFrame:
            out = cluster_edges(frame, algorithm, resolution, seed)
            out.insert(0, "task", int(frame["task"].iloc[0]) if len(frame) else -1)
            return out

        found = inside.groupBy("task").applyInPandas(run, "task long, account long, label long").toPandas()
        if record is not None:
            record.append(SparkClusters(partition, tasks))
        return _labels(found, n)

    return finder


def _labels(found: pd.DataFrame, n_accounts: int) -> np.ndarray:
    """One cluster number per account from the tasks' (task, account, label) rows; every other account alone."""
    out = np.empty(n_accounts, dtype=np.int64)
    alone = np.ones(n_accounts, dtype=bool)
    # clusters in the order of their smallest account, as one process numbers them from its own order
    key = found["task"].to_numpy(np.int64) * (n_accounts + 1) + found["label"].to_numpy(np.int64)
    first = pd.Series(found["account"].to_numpy()).groupby(key).transform("min").to_numpy()
    _, number = np.unique(first, return_inverse=True)
    account = found["account"].to_numpy(np.int64)
    out[account] = number
    alone[account] = False
    out[alone] = int(number.max(initial=-1)) + 1 + np.arange(int(alone.sum()))
    return out
