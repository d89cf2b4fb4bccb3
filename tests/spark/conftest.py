"""Fixtures for the Spark engine's tests: one Spark session in local[2] for the whole run, and a population.

Spark needs PySpark (``pip install -e '.[test]'`` brings it) and Java 17 or 21. Where either is
missing the Spark tests are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os

import pytest

from graphsleuth.errors import EnvironmentMissing


@pytest.fixture(scope="session")
def spark():
    """A local[2] Spark session shared by every Spark test (starting one takes 10 to 20 s)."""
    from graphsleuth.spark import SparkSettings, spark_session

    try:
        session = spark_session(SparkSettings(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"}))
        active = session.__enter__()
    except EnvironmentMissing as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Spark tests need PySpark and Java 17 or 21 in CI: {exc}", pytrace=False)
        pytest.skip(str(exc))
    yield active
    session.__exit__(None, None, None)


@pytest.fixture(scope="session")
def population_20k(tmp_path_factory):
    """hydra-2026 at 20,000 accounts (four planted rings), generated once for the session."""
    from graphsleuth import generate

    out = tmp_path_factory.mktemp("hydra") / "h20k"
    generate(scenario="hydra-2026", accounts=20_000, seed=1, out=out)
    return out
