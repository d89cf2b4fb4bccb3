"""The evidence graph built on Spark against the embedded NumPy build, on small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from graphsleuth.detection.graph import CLIQUE_LIMIT, build_evidence_graph
from graphsleuth.evidence import read_evidence
from graphsleuth.spark import build_spark_graph

from helpers import REPO

pytestmark = pytest.mark.spark


def _edges(edges_df):
    frame = edges_df.toPandas().sort_values(["src", "dst"]).reset_index(drop=True)
    return frame["src"].to_numpy(), frame["dst"].to_numpy(), frame["weight"].to_numpy()


@pytest.fixture(scope="session")
def demo():
    return read_evidence(REPO / "seeds" / "demo")


def test_spark_numbers_weighs_and_shares_the_evidence_as_the_embedded_build(spark, demo):
    embedded = build_evidence_graph(demo, seed=0)
    built = build_spark_graph(spark, demo, seed=0).graph
    for column in ("kind", "degree", "hub"):
        assert built.evidence[column].tolist() == embedded.evidence[column].tolist(), column
    assert built.evidence["value"].astype(str).tolist() == embedded.evidence["value"].astype(str).tolist()
    np.testing.assert_allclose(built.evidence["weight"].to_numpy(), embedded.evidence["weight"].to_numpy(), rtol=0, atol=1e-12)
    assert np.array_equal(built.shared[0], embedded.shared[0]) and np.array_equal(built.shared[1], embedded.shared[1])
    assert built.links.equals(embedded.links)
    assert built.sharers("template").to_dict() == embedded.sharers("template").to_dict()
    assert built.lockstep.equals(embedded.lockstep)


def test_spark_projection_gives_the_embedded_edges_where_evidence_makes_cliques(spark, demo):
    """Every edge between two accounts that share only evidence of at most CLIQUE_LIMIT accounts is the embedded one."""
    embedded = build_evidence_graph(demo, seed=0)
    links = embedded.links
    large = embedded.evidence["degree"].to_numpy()[links["evidence"].to_numpy()] > CLIQUE_LIMIT
    in_circulant = np.zeros(embedded.n_accounts, dtype=bool)
    in_circulant[links["account"].to_numpy()[large]] = True
    spark_graph = build_spark_graph(spark, demo, seed=0)
    src, dst, weight = _edges(spark_graph.edges)
    mine = ~in_circulant[src] & ~in_circulant[dst]
    theirs = ~in_circulant[embedded.source] & ~in_circulant[embedded.target]
    assert mine.sum() > 1000, "most of this input's edges come from cliques"
    order = np.lexsort((embedded.target[theirs], embedded.source[theirs]))
    assert np.array_equal(src[mine], embedded.source[theirs][order]) and np.array_equal(dst[mine], embedded.target[theirs][order])
    np.testing.assert_allclose(weight[mine], embedded.weight[theirs][order], rtol=1e-12)


def test_spark_circulants_carry_the_same_weight_from_every_piece_of_evidence(spark, population_20k):
    evidence = read_evidence(population_20k)
    embedded = build_evidence_graph(evidence, seed=0)
    degree = embedded.evidence["degree"].to_numpy()[embedded.links["evidence"].to_numpy()]
    assert degree.max() > CLIQUE_LIMIT, "this input is meant to hold circulants"
    spark_graph = build_spark_graph(spark, evidence, seed=0)
    src, dst, weight = _edges(spark_graph.edges)
    assert (src < dst).all()
    assert weight.sum() == pytest.approx(embedded.weight.sum(), rel=1e-9)
    # the circulants' neighbours differ (a seeded order per piece of evidence), the number of ties hardly
    assert abs(len(weight) - len(embedded.weight)) <= 0.01 * len(embedded.weight)
    again = build_spark_graph(spark, evidence, seed=0)
    assert np.array_equal(_edges(again.edges)[2], weight), "the same seed gives the same graph"
