"""The evidence graph built on Spark: who shares what, how rare it is, and the weighted account projection.

The rules are detection's (:mod:`graphsleuth.detection.graph`), called, not copied: the
executors weigh evidence with :func:`~graphsleuth.detection.graph.evidence_weights`, pick
what is projected with :func:`~graphsleuth.detection.graph.projected_evidence` and turn each
piece of evidence into account edges with :func:`~graphsleuth.detection.graph.project_groups`,
a bucket of evidence at a time; Spark does the part that grows with the data: the distinct
(evidence, account) pairs, the degrees, and the edge sums over every pair of accounts.

The driver keeps what detection's later stages read (the evidence nodes, the shared pairs,
the template-hours and lockstep tokens), numbered exactly as the embedded build numbers them
(kind by kind, each value in the order it first appears), so dense blocks, scoring and ring
joining see the same graph as in one process. The projected edges stay in Spark for the
partition and the clustering (:mod:`.partition`, :mod:`.clusters`).

Circulant stand-ins for evidence shared by more than ``CLIQUE_LIMIT`` accounts take their
seeded order from a hash of (seed, evidence, account), one order per piece of evidence, where
the embedded build draws one random number per link: the same kind of graph, not the same
circulant neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..detection.graph import (
    EvidenceGraph,
    circulant_caps,
    creation_tokens,
    evidence_weights,
    lockstep_evidence,
    project_groups,
    projected_evidence,
)
from ..errors import GraphsleuthError
from ..evidence import Evidence, subnet_of
from ..progress import Progress
from ..queries import sql_statement

__all__ = ["SparkGraph", "build_spark_graph", "KIND_ORDER"]

#: The kinds of evidence in the order the embedded build numbers them.
KIND_ORDER = ("card", "bin", "ip", "subnet", "template", "lockstep", "link", "wave_hour", "created")
#: Kinds whose values are whole numbers (lockstep tokens, hours), carried as text through Spark.
_NUMBER_KINDS = ("lockstep", "wave_hour", "created")
#: Evidence is projected in this many buckets (each a task that calls project_groups on its evidence).
PROJECTION_BUCKETS = 64


@dataclass
class SparkGraph:
    """The driver's evidence graph (``graph``, without edges) and the projected edges in Spark.

    ``edges`` is a DataFrame of (src, dst, weight), src < dst, one row per linked pair of
    accounts (account numbers as in ``graph.accounts``), cached for the partition.
    """

    graph: EvidenceGraph
    edges: object
    n_edges: int

    def to_dict(self) -> dict:
        return {"accounts": self.graph.n_accounts, "evidence": int(len(self.graph.evidence)), "edges": self.n_edges}


def _pairs(evidence: Evidence, accounts: pd.Index, tokens: pd.DataFrame | None, created: pd.DataFrame | None) -> list[pd.DataFrame]:
    """Each kind's (kind, value, account, row) pairs as the embedded build reads them, unknown accounts and blanks left out.

    ``row`` orders a kind's pairs as its table does, so that values are numbered in the order they first appear.
    """
    frames = []

    def add(kind: str, positions: np.ndarray, values) -> None:
        values = values if isinstance(values, pd.Series) else pd.Series(values)
        keep = values.notna().to_numpy() & (positions >= 0)
        text = values[keep].astype(str).to_numpy(dtype=object)
        frames.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "value": text,
                    "account": positions[keep].astype(np.int64),
                    "row": np.flatnonzero(keep).astype(np.int64),
                }
            )
        )

    pay, codes = evidence.payments, evidence.account_positions("payments")
    add("card", codes, pay["payment_id"].reset_index(drop=True))
    if "bin" in pay.columns:
        add("bin", codes, pay["bin"].reset_index(drop=True))
    ips, codes = evidence.ips, evidence.account_positions("ips")
    add("ip", codes, ips["ip"].reset_index(drop=True))
    add("subnet", codes, subnet_of(ips["ip"]).reset_index(drop=True) if len(ips) else pd.Series([], dtype=object))
    prompts = evidence.prompts
    if "template_id" in prompts.columns:
        add("template", evidence.account_positions("prompts"), prompts["template_id"].reset_index(drop=True))
    if tokens is not None:
        add("lockstep", tokens["account"].to_numpy(), tokens["token"].reset_index(drop=True))
    links = evidence.links
    link_values = (links["kind"].astype("str") + ":" + links["value"].astype("str")).reset_index(drop=True)
    add("link", evidence.account_positions("links"), link_values)
    if tokens is not None:
        add("wave_hour", tokens["account"].to_numpy(), (tokens["token"] % 10_000_000).reset_index(drop=True))
    if created is not None:
        add("created", created["account"].to_numpy(), created["hour"].reset_index(drop=True))
    return frames


def build_spark_graph(spark, evidence: Evidence, seed: int = 0, progress=None) -> SparkGraph:
    """Build the evidence graph of ``evidence`` with Spark (see the module's docstring); the same seed, the same graph."""
    from pyspark.sql import types as T

    progress = progress or Progress()
    accounts = pd.Index(evidence.accounts["account_id"])
    n_accounts = len(accounts)
    for table in ("payments", "ips", "prompts", "links"):
        evidence.account_positions(table)
    with progress.steps("graph: lockstep and creation tokens (driver)"):
        hours, tokens, names = lockstep_evidence(evidence, accounts)
        created = creation_tokens(evidence)
        frames = [frame for frame in _pairs(evidence, accounts, tokens, created) if len(frame)]
    schema = T.StructType(
        [
            T.StructField("kind", T.StringType(), False),
            T.StructField("value", T.StringType(), False),
            T.StructField("account", T.LongType(), False),
            T.StructField("row", T.LongType(), False),
        ]
    )
    # one hand-over (Arrow batches), not one per kind
    with progress.steps("graph: evidence to Spark"):
        raw = spark.createDataFrame(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=schema.names), schema=schema)
        del frames
        raw.createOrReplaceTempView("gs_raw_pairs")
        pairs = spark.sql(sql_statement("spark_graph", "pairs")).persist()
        pairs.createOrReplaceTempView("gs_pairs")
    with progress.steps("graph: degrees and weights (Spark)"):
        nodes = spark.sql(sql_statement("spark_graph", "nodes"))
        node_schema = (
            "key long, kind string, value string, degree long, first_row long, weight double, cap double, useful boolean, hub boolean"
        )
        nodes = nodes.mapInPandas(_weigher(n_accounts), node_schema).persist()
        nodes.createOrReplaceTempView("gs_nodes")
        # The driver's graph: every node (numbered as the embedded build does) and the shared pairs.
        node_table = nodes.select("key", "kind", "value", "degree", "first_row", "weight", "hub").toPandas()
    with progress.steps("graph: shared pairs to the driver"):
        shared = spark.sql(sql_statement("spark_graph", "shared_pairs")).toPandas()
        graph = _driver_graph(accounts, node_table, shared, hours, tokens, names)

    # The projection, in Spark: each useful piece of evidence's accounts in seeded order, cliques and circulants by
    # detection's own project_groups, bucket by bucket, and the edges of one pair of accounts summed.
    with progress.steps("graph: projection and edge sums (Spark)"):
        links = spark.sql(sql_statement("spark_graph", "projected_links"), args={"seed": int(seed), "buckets": PROJECTION_BUCKETS})
        projected = links.groupBy("bucket").applyInPandas(_projector, "src long, dst long, weight double")
        projected.createOrReplaceTempView("gs_projected")
        edges = spark.sql(sql_statement("spark_graph", "edges")).persist()
        n_edges = edges.count()
    graph.edge_count = n_edges
    pairs.unpersist()
    return SparkGraph(graph, edges, int(n_edges))


def _weigher(n_accounts: int):
    """A mapInPandas function that adds detection's weight, projected and hub flags to nodes."""

    def weigh(batches):
        for batch in batches:
            kinds = batch["kind"].to_numpy(dtype=object)
            degree = batch["degree"].to_numpy(dtype=np.int64)
            batch["weight"] = evidence_weights(kinds, degree, n_accounts)
            batch["cap"] = circulant_caps(kinds)
            useful, hub = projected_evidence(kinds, degree, n_accounts)
            batch["useful"] = useful
            batch["hub"] = hub
            yield batch

    return weigh


def _projector(frame: pd.DataFrame) -> pd.DataFrame:
    """One bucket of projected links (key, account, weight, cap, shuffle) as account edges (src < dst), by detection's rule."""
    frame = frame.sort_values(["key", "shuffle", "account"], kind="stable")
    _, ev = np.unique(frame["key"].to_numpy(), return_inverse=True)
    src, dst, wt = project_groups(
        ev.astype(np.int64), frame["account"].to_numpy(np.int64), frame["weight"].to_numpy(float), frame["cap"].to_numpy(float)
    )
    return pd.DataFrame({"src": np.minimum(src, dst), "dst": np.maximum(src, dst), "weight": wt})


def _driver_graph(accounts, nodes: pd.DataFrame, shared: pd.DataFrame, hours, tokens, names) -> EvidenceGraph:
    """The EvidenceGraph detection's stages read, numbered as the embedded build: by kind, then by first appearance."""
    if nodes["key"].duplicated().any():  # two evidence values with one 64-bit hash: numbering would be a guess
        raise GraphsleuthError("two pieces of evidence share one 64-bit key on Spark; run this input with the embedded engine")
    kind_rank = nodes["kind"].map({kind: i for i, kind in enumerate(KIND_ORDER)}).to_numpy()
    order = np.lexsort((nodes["first_row"].to_numpy(), kind_rank))
    nodes = nodes.iloc[order].reset_index(drop=True)
    values = nodes["value"].to_numpy(dtype=object).copy()
    numeric = nodes["kind"].isin(_NUMBER_KINDS).to_numpy()
    values[numeric] = nodes.loc[numeric, "value"].astype(np.int64).to_numpy()
    table = pd.DataFrame(
        {
            "kind": pd.Series(nodes["kind"].to_numpy(dtype=object), dtype=object),
            "value": pd.Series(values, dtype=object),
            "degree": nodes["degree"].to_numpy(dtype=np.int64),
            "weight": nodes["weight"].to_numpy(dtype=float),
            "hub": nodes["hub"].to_numpy(dtype=bool),
        }
    )
    item = pd.Index(nodes["key"].to_numpy()).get_indexer(shared["key"].to_numpy())
    # the embedded build lists shared pairs kind by kind, each in the order its rows first give the pair
    pair_kind = table["kind"].map({kind: i for i, kind in enumerate(KIND_ORDER)}).to_numpy()[item]
    order = np.lexsort((shared["account"].to_numpy(), shared["first_row"].to_numpy(), pair_kind))
    account, item = shared["account"].to_numpy()[order], item[order]
    useful, _ = projected_evidence(table["kind"].to_numpy(dtype=object), table["degree"].to_numpy(), len(accounts))
    in_links = useful[item]
    links = pd.DataFrame({"account": account[in_links].astype(np.int64), "evidence": item[in_links].astype(np.int64)})
    empty = np.zeros(0, dtype=np.int64)
    return EvidenceGraph(
        accounts,
        links,
        table,
        empty,
        empty,
        np.zeros(0),
        template_hours=hours,
        lockstep=tokens,
        shared=(account.astype(np.int32), item.astype(np.int32)),
        template_names=names,
    )
