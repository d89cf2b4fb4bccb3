"""The synthetic generator: populations with planted rings, hard negatives and ground truth.

A scenario file (:mod:`.scenario`) says what population to build; the plan
(:mod:`.plan`) lays out its accounts; one module per table draws the evidence
(:mod:`.accounts`, :mod:`.payments`, :mod:`.ips`, :mod:`.prompts`,
:mod:`.links`, :mod:`.truth`), :mod:`.prompt_text` writes raw prompt text from
templates, and :mod:`.population` puts it together and writes it out.
"""

from .kinds import KINDS
from .population import *  # noqa: F403
from .population import __all__ as _population
from .sampler import *  # noqa: F403
from .sampler import __all__ as _sampler
from .scenario import *  # noqa: F403
from .scenario import __all__ as _scenario
from .scenario_toml import *  # noqa: F403
from .scenario_toml import __all__ as _scenario_toml

__all__ = [*_population, *_scenario, *_sampler, *_scenario_toml, "KINDS"]
