"""graphsleuth: find rings of fake accounts that extract an AI model through its API.

Accounts, payment methods, IPs and prompt templates become a graph; community
detection finds clusters of linked accounts; each cluster is scored and
explained; suspected rings are exported. The public functions below are what
the ``graphsleuth`` command line wraps, one function per command.
"""

__version__ = "0.1.0"

from .errors import GraphsleuthError, InputError, ScenarioError, StoreError  # noqa: E402
from .evidence import Evidence, read_evidence  # noqa: E402
from .scenario import Scenario, load_scenario  # noqa: E402
from .synthetic import SyntheticPopulation, generate  # noqa: E402

__all__ = [
    "__version__",
    "Evidence",
    "GraphsleuthError",
    "InputError",
    "Scenario",
    "ScenarioError",
    "StoreError",
    "SyntheticPopulation",
    "generate",
    "load_scenario",
    "read_evidence",
]
