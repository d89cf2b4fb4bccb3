"""Measuring detection: suspected rings against the ground truth of a population, and whether outcomes
flip on nearly identical inputs (:mod:`.stability`). The robustness harness over sampled populations is
:mod:`.robustness`, a command of its own (``python -m graphsleuth.quality.robustness``), not imported here."""

from .evaluation import *  # noqa: F403
from .evaluation import __all__ as _evaluation
from .over_time import *  # noqa: F403
from .over_time import __all__ as _over_time
from .stability import *  # noqa: F403
from .stability import __all__ as _stability

__all__ = [*_evaluation, *_over_time, *_stability]
