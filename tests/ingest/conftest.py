"""A small generated population, as request logs and as evidence tables, shared by the ingest tests."""

from __future__ import annotations

import pytest

from graphsleuth import generate

#: Small on purpose: about 150,000 requests (the machine is shared).
ACCOUNTS = 120
SEED = 5


@pytest.fixture(scope="session")
def population(tmp_path_factory):
    """The population of the log bundle (its tables as the generator made them)."""
    return generate("demo", seed=SEED, accounts=ACCOUNTS)


@pytest.fixture(scope="session")
def log_bundle(tmp_path_factory):
    """``generate --logs``: logs/ of daily Parquet files, accounts and payments beside them."""
    out = tmp_path_factory.mktemp("bundle") / "pop"
    generate("demo", seed=SEED, accounts=ACCOUNTS, out=out, logs=True)
    return out
