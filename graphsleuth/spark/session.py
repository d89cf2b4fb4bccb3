"""The Spark session the engine runs in: the user's master and settings, or sensible local ones.

``--spark-master`` and ``--spark-conf KEY=VALUE`` are what ``spark-submit`` users expect;
``SPARK_HOME`` and ``PYSPARK_PYTHON`` are read by PySpark itself, and left alone when set.
Run under ``spark-submit`` or in a notebook that has a session (Databricks), the engine
takes the session that is there and leaves it running; otherwise it starts one, in local
mode on every core when no master is given, and stops it when detection is done.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import GraphsleuthError
from .java import find_java, require_pyspark

__all__ = ["SparkSettings", "spark_session", "parse_conf"]

#: Settings for a session the engine starts in local mode, unless the user gives their own. The
#: driver is the executor in local mode: it holds the evidence graph's arrays while Spark shuffles.
LOCAL_DEFAULTS = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
}
#: Settings the engine needs on any cluster: Arrow between pandas and Spark (every hand-over is columnar).
REQUIRED = {
    "spark.sql.session.timeZone": "UTC",  # the evidence format's times are UTC, and so are hours since the epoch
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
}


#: Settings of graphsleuth's own, given like Spark's (--spark-conf KEY=VALUE): the partition's limits.
PIECE_SHARE_KEY = "spark.graphsleuth.maxPieceShare"
PIECE_EDGES_KEY = "spark.graphsleuth.minPieceEdges"


@dataclass(frozen=True)
class SparkSettings:
    """Where and how the Spark engine runs: the master URL (None: the session's, or local[*]) and extra settings."""

    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    #: Largest piece of the account graph clustered by one task, as a share of all edges (see :mod:`.partition`).
    max_piece_share: float = 0.05
    #: ...but a piece is never cut below this many edges (one task clusters 100,000 edges in about a second).
    min_piece_edges: int = 100_000

    def piece_limits(self) -> tuple[float, int]:
        """The partition's limits: ``spark.graphsleuth.maxPieceShare`` and ``spark.graphsleuth.minPieceEdges`` when set."""
        try:
            share = float(self.conf.get(PIECE_SHARE_KEY, self.max_piece_share))
            edges = int(self.conf.get(PIECE_EDGES_KEY, self.min_piece_edges))
        except ValueError:
            raise GraphsleuthError(
                f"--spark-conf {PIECE_SHARE_KEY} takes a share such as 0.05 and {PIECE_EDGES_KEY} a whole number"
            ) from None
        if not 0 < share <= 1 or edges < 0:
            raise GraphsleuthError(f"--spark-conf {PIECE_SHARE_KEY} must be in (0, 1] and {PIECE_EDGES_KEY} at least 0")
        return share, edges

    def to_dict(self) -> dict:
        share, edges = self.piece_limits()
        return {"master": self.master, "conf": dict(self.conf), "max_piece_share": share, "min_piece_edges": edges}


def parse_conf(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict; a pair without ``=`` or with an empty key is a usage error."""
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise GraphsleuthError(f"--spark-conf takes KEY=VALUE (such as spark.executor.memory=8g), got {pair!r}")
        conf[key.strip()] = value
    return conf


@contextmanager
def spark_session(settings: SparkSettings | None = None) -> Iterator:
    """A SparkSession for the engine; one it started is stopped on the way out.

    Checks PySpark and Java first (one line and exit code 5 when either is missing).
    """
    settings = settings or SparkSettings()
    require_pyspark()
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and settings.master is None:
        for key, value in {**REQUIRED, **settings.conf}.items():
            active.conf.set(key, value)
        yield active
        return
    launched = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started us: its JVM, master and settings hold
    if not launched:
        find_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors in local mode run this Python
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = settings.master or (None if launched else "local[*]")
    builder = SparkSession.builder.appName("graphsleuth")
    if master is not None:
        builder = builder.master(master)
    defaults = LOCAL_DEFAULTS if (master or "").startswith("local") else {}
    for key, value in {**defaults, **REQUIRED, **settings.conf}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM would not start: a bad master URL, a setting Spark refuses
        raise GraphsleuthError(f"Spark would not start ({master or 'the submitted master'}): {str(exc).strip().splitlines()[0]}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()
