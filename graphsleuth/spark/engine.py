"""Detection on Spark: detection's own stages, with the graph, the partition and the clustering on Spark.

The stage order is detection's (:func:`graphsleuth.detection.pipeline.find_rings`): dense
blocks, scoring, joining, Leiden on the accounts no ring holds, scoring, joining, explaining.
This engine hands it the evidence graph Spark built (:mod:`.graph`) and a clustering that runs
on the executors, piece by piece (:mod:`.partition`, :mod:`.clusters`); dense blocks, scoring,
ring joining, campaigns and explanations run on the driver through detection's functions, so
whatever detection becomes, this engine gives the same. The output is detection's
:class:`~graphsleuth.detection.findings.Findings`, written by the same code as the embedded run's.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np

from ..detection.clustering import DEFAULT_RESOLUTION
from ..detection.findings import Findings
from ..detection.pipeline import VIEWS, derive_prompt_templates, find_rings
from ..detection.scoring import FLAG_THRESHOLD, MIN_RING_SIZE
from ..evidence import Evidence
from ..progress import Progress
from .clusters import SparkClusters, spark_cluster_finder
from .graph import build_spark_graph
from .partition import Partition, divide
from .session import SparkSettings, spark_session

__all__ = ["find_rings_spark", "SparkRun"]


@dataclass
class SparkRun:
    """What the Spark engine measured besides the findings: the graph's size, the partition, the clustering's tasks."""

    settings: SparkSettings
    graph: dict = field(default_factory=dict)
    #: The graph's connected components, undivided (what clustering one component per task would face).
    components: Partition | None = None
    partition: Partition | None = None
    clusters: SparkClusters | None = None

    def to_dict(self) -> dict:
        return {
            "settings": self.settings.to_dict(),
            "graph": dict(self.graph),
            "components": self.components.to_dict() if self.components is not None else None,
            "partition": self.partition.to_dict() if self.partition is not None else None,
            "clustering": self.clusters.to_dict() if self.clusters is not None else None,
        }


def find_rings_spark(
    evidence: Evidence,
    algorithm: str = "leiden",
    seed: int = 0,
    resolution: float = DEFAULT_RESOLUTION,
    min_size: int = MIN_RING_SIZE,
    threshold: float | None = FLAG_THRESHOLD,
    progress: Progress | None = None,
    views: tuple[str, ...] = VIEWS,
    settings: SparkSettings | None = None,
    spark=None,
    run: list | None = None,
) -> Findings:
    """Find, score and explain the suspected rings in ``evidence`` with the Spark engine (see the module's docstring).

    ``spark`` is a session to use (else one is started from ``settings`` and stopped after);
    ``run``, when a list, receives the :class:`SparkRun` with the partition's figures.
    """
    progress = progress or Progress()
    settings = settings or SparkSettings()
    settings.piece_limits()  # a bad limit fails before Spark starts
    if spark is None:
        with ExitStack() as stack:
            with progress.steps("starting Spark"):
                active = stack.enter_context(spark_session(settings))
            return find_rings_spark(
                evidence, algorithm, seed, resolution, min_size, threshold, progress, views, settings, spark=active, run=run
            )
    record = SparkRun(settings)
    if run is not None:
        run.append(record)
    if evidence.raw_prompts:
        progress.step("deriving templates from raw prompts", lambda: derive_prompt_templates(evidence, seed))
    built = progress.step("building the evidence graph on Spark", lambda: build_spark_graph(spark, evidence, seed=seed, progress=progress))
    record.graph = built.to_dict()
    finder = None
    if "clusters" in views:
        record.components, partition = progress.step("dividing the account graph", lambda: _divide(built, settings))
        record.partition = partition
        progress.note(
            f"graphsleuth: {partition.pieces:,} pieces; the largest holds {partition.max_edge_share:.1%} of the edges and "
            f"{partition.max_account_share:.1%} of the linked accounts; {partition.cut_edge_share:.1%} of the edges are cut"
        )
        done: list = []
        base = spark_cluster_finder(spark, built.edges, partition, done)

        def finder(*args, **kwargs):
            labels = base(*args, **kwargs)
            record.clusters = done[-1] if done else None
            return labels

    try:
        return find_rings(
            evidence,
            algorithm=algorithm,
            seed=seed,
            resolution=resolution,
            min_size=min_size,
            threshold=threshold,
            progress=progress,
            views=views,
            graph=built.graph,
            cluster_finder=finder,
        )
    finally:
        built.edges.unpersist()


def _divide(built, settings: SparkSettings) -> tuple[Partition, Partition]:
    """The components of Spark's edges, undivided, and the partition into capped pieces.

    The edge list comes to the driver as three Arrow columns (20 bytes an edge); the pieces go back to Spark.
    """
    edges = built.edges.toPandas()
    src, dst, weight = edges["src"].to_numpy(np.int64), edges["dst"].to_numpy(np.int64), edges["weight"].to_numpy(float)
    del edges
    share, min_edges = settings.piece_limits()
    n = built.graph.n_accounts
    return divide(src, dst, weight, n, max_share=1.0, min_edges=0), divide(src, dst, weight, n, max_share=share, min_edges=min_edges)
