"""pytest plugin: a small generated population with ground truth for any test suite.

Installed with graphsleuth and registered through the ``pytest11`` entry
point, so a test only asks for the fixture::

    def test_my_detector_finds_rings(graphsleuth_population):
        evidence_dir = graphsleuth_population.path       # accounts.csv, payments.csv, ...
        truth = graphsleuth_population.truth             # account_id, ring_id, kind, group_id
        ...

Override ``graphsleuth_seed``, ``graphsleuth_scenario``, ``graphsleuth_accounts``
or ``graphsleuth_prompts`` in a conftest.py or a test module to change what
is generated; override ``graphsleuth_sample_seed`` (or parametrize it) to get a
population of the sampled family instead of a scenario's (see
``graphsleuth generate --sample-scenario``), so a test can hold over many
populations rather than one. ``graphsleuth_population.rings`` holds each planted
ring's traits (truth_rings.json). Every test gets a population built from its own fixtures; the
same values give the same files, so tests stay deterministic. Populations are
cached per session by (scenario, seed, accounts, prompts): treat the files
as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the plugin loads in every pytest run: pandas only when a population is asked for
    import pandas as pd

__all__ = ["GeneratedPopulation"]


@dataclass(frozen=True)
class GeneratedPopulation:
    """A population written to ``path`` in the evidence format, with its truth."""

    path: Path
    truth: pd.DataFrame
    manifest: dict
    #: Each planted ring's record in truth_rings.json: its traits, planted keys and measured figures.
    rings: tuple[dict, ...] = ()

    @property
    def ring_accounts(self) -> set[str]:
        return set(self.truth.loc[self.truth["ring_id"] != "", "account_id"])


@pytest.fixture
def graphsleuth_seed() -> int:
    """Seed of the generated population (override to vary it)."""
    return 0


@pytest.fixture
def graphsleuth_scenario() -> str:
    """Scenario name or path (override to use your own scenario file)."""
    return "demo"


@pytest.fixture
def graphsleuth_accounts() -> int | None:
    """Total accounts; None keeps the scenario's size. Small by default to keep tests fast."""
    return 1500


@pytest.fixture
def graphsleuth_prompts() -> str:
    """``template`` (template ids) or ``raw`` (prompt text)."""
    return "template"


@pytest.fixture
def graphsleuth_sample_seed() -> int | None:
    """A sample seed: the population's scenario is drawn from the sampled family (graphsleuth_scenario is
    then not used). None (the default): the scenario's population."""
    return None


@pytest.fixture(scope="session")
def _graphsleuth_cache(tmp_path_factory) -> dict:
    return {"root": tmp_path_factory.mktemp("graphsleuth-populations"), "built": {}}


@pytest.fixture
def graphsleuth_population(
    _graphsleuth_cache, graphsleuth_scenario, graphsleuth_seed, graphsleuth_accounts, graphsleuth_prompts, graphsleuth_sample_seed
) -> GeneratedPopulation:
    """A generated population with planted rings, written to a directory, with its truth."""
    import json

    import pandas as pd

    from ..synth import generate

    sampled = graphsleuth_sample_seed is not None
    key = (
        None if sampled else str(graphsleuth_scenario),
        int(graphsleuth_seed),
        graphsleuth_accounts,
        graphsleuth_prompts,
        graphsleuth_sample_seed,
    )
    built = _graphsleuth_cache["built"]
    if key not in built:
        out = Path(_graphsleuth_cache["root"]) / f"population-{len(built)}"
        population = generate(
            None if sampled else graphsleuth_scenario,
            seed=graphsleuth_seed,
            out=out,
            accounts=graphsleuth_accounts,
            prompts=graphsleuth_prompts,
            sample_seed=graphsleuth_sample_seed,
        )
        truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
        rings = tuple(json.loads((out / "truth_rings.json").read_text())["rings"])
        built[key] = GeneratedPopulation(out, truth, population.manifest, rings)
    return built[key]
