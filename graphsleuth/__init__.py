"""graphsleuth: find rings of fake accounts that extract an AI model through its API.

Accounts, payment methods, IPs and prompt templates become a graph; community
detection finds clusters of linked accounts; each cluster is scored and
explained; suspected rings are exported, and can be explored in Neo4j.

The names below are what the ``graphsleuth`` command line wraps (one function
per command, :mod:`graphsleuth.api`) and the results they return. They are
imported on first use, so ``import graphsleuth`` stays light (the pytest plugin
imports it without pulling in pandas, pyarrow or Faker).
"""

from __future__ import annotations

from importlib import import_module

from .errors import EnvironmentMissing, GraphsleuthError, InputError, ScenarioError, StoreError

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "detect": "graphsleuth.api",
    "evaluate": "graphsleuth.api",
    "generate": "graphsleuth.api",
    "load": "graphsleuth.api",
    "verdict": "graphsleuth.api",
    "report": "graphsleuth.api",
    "indicators": "graphsleuth.api",
    "ingest": "graphsleuth.api",
    "IngestSummary": "graphsleuth.ingest.pipeline",
    "Findings": "graphsleuth.detection.findings",
    "Ring": "graphsleuth.detection.findings",
    "Cluster": "graphsleuth.detection.findings",
    "Lineage": "graphsleuth.detection.findings",
    "TrackedFindings": "graphsleuth.investigation.tracking",
    "Verdict": "graphsleuth.investigation.verdicts",
    "Evaluation": "graphsleuth.quality.evaluation",
    "Evidence": "graphsleuth.evidence.tables",
    "read_evidence": "graphsleuth.evidence.reading",
    "Scenario": "graphsleuth.synth.scenario",
    "load_scenario": "graphsleuth.synth.scenario",
    "SyntheticPopulation": "graphsleuth.synth.population",
    "LoadSummary": "graphsleuth.store.summary",
    "Progress": "graphsleuth.progress",
}

__all__ = [
    "__version__",
    *_LAZY,
    "EnvironmentMissing",
    "GraphsleuthError",
    "InputError",
    "ScenarioError",
    "StoreError",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphsleuth' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
