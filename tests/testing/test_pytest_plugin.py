"""The pytest plugin: any test suite gets a generated population with ground truth from a fixture."""

from __future__ import annotations

import json

import pytest
from faker import Faker

from graphsleuth.synth.accounts import NAME_LOCALES

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module", autouse=True)
def _import_name_locales_once():
    """Import Faker's locale modules before pytester snapshots sys.modules, so that every
    inner session reuses them instead of importing (and assertion-rewriting) them again."""
    Faker(NAME_LOCALES)


# A user's test module: it records what it was given so the outer test can compare runs.
USER_TESTS = """
import hashlib, json
from pathlib import Path

import pandas as pd
import pytest


def _record(pytestconfig, name, population):
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(population.path.iterdir())}
    out = Path(str(pytestconfig.rootpath)) / f"digest-{name}.json"
    out.write_text(json.dumps({"files": digest, "seed": population.manifest["seed"]}))


def test_default_population_has_rings(graphsleuth_population, pytestconfig):
    population = graphsleuth_population
    truth = population.truth
    assert (population.path / "accounts.csv").exists()
    assert set(truth.columns) >= {"account_id", "ring_id", "kind", "group_id"}
    rings = truth.loc[truth.ring_id != "", "ring_id"]
    assert rings.nunique() >= 2
    assert population.ring_accounts == set(truth.loc[truth.ring_id != "", "account_id"])
    accounts = pd.read_csv(population.path / "accounts.csv", dtype=str)
    assert set(accounts.account_id) == set(truth.account_id)
    assert population.manifest["rings"] == rings.value_counts().to_dict()
    _record(pytestconfig, "default", population)


class TestOtherSeed:
    @pytest.fixture
    def graphsleuth_seed(self):
        return 12345

    def test_overridden_seed_is_used(self, graphsleuth_population, pytestconfig):
        assert graphsleuth_population.manifest["seed"] == 12345
        assert graphsleuth_population.ring_accounts
        _record(pytestconfig, "seed12345", graphsleuth_population)
"""


def _run(pytester) -> dict[str, dict]:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    return {name: json.loads((pytester.path / f"digest-{name}.json").read_text()) for name in ("default", "seed12345")}


def test_fixture_gives_rings_the_seed_override_changes_them_and_the_same_seed_repeats(pytester):
    digests = _run(pytester)
    assert digests["default"]["seed"] == 0
    assert digests["seed12345"]["seed"] == 12345
    default, other = digests["default"]["files"], digests["seed12345"]["files"]
    assert set(default) == set(other) >= {"accounts.csv", "truth.csv", "prompts.csv", "manifest.json"}
    # Overriding graphsleuth_seed changes the data...
    for name in ("accounts.csv", "payments.csv", "ips.csv", "prompts.csv", "links.csv", "truth.csv"):
        assert default[name] != other[name], name
    # ...and the same seeds give the same files in a fresh session, where nothing is cached.
    for path in pytester.path.glob("digest-*.json"):
        path.unlink()
    assert _run(pytester) == digests


def test_overrides_from_conftest_apply_to_every_test(pytester):
    pytester.makeconftest(
        """
import pytest

@pytest.fixture
def graphsleuth_accounts():
    return 800

@pytest.fixture
def graphsleuth_prompts():
    return "raw"
"""
    )
    pytester.makepyfile(
        test_raw="""
def test_raw_small(graphsleuth_population):
    assert graphsleuth_population.manifest["accounts"] == 800
    assert graphsleuth_population.manifest["prompts"] == "raw"
    assert (graphsleuth_population.path / "truth_prompts.csv").exists()
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_sample_seed_gives_a_population_of_the_family_with_its_rings_traits(pytester):
    pytester.makepyfile(
        test_family="""
import pytest

@pytest.fixture(params=[100_020, 100_021])
def graphsleuth_sample_seed(request):
    return request.param

@pytest.fixture
def graphsleuth_accounts():
    return 1200

def test_sampled(graphsleuth_population, graphsleuth_sample_seed):
    population = graphsleuth_population
    assert population.manifest["sample_seed"] == graphsleuth_sample_seed
    assert population.manifest["scenario"] == f"sampled-{graphsleuth_sample_seed}"
    assert "campaign_id" in population.truth.columns
    assert {r["ring_id"] for r in population.rings} == set(population.truth.ring_id) - {""}
    assert all("bursty_creation" in r["traits"] for r in population.rings)
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
