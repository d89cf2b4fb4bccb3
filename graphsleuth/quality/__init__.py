"""Measuring detection: suspected rings against the ground truth of a population, on a family of
sampled populations (:mod:`.robustness`), and whether outcomes flip on nearly identical inputs
(:mod:`.stability`)."""

from .evaluation import *  # noqa: F403
from .evaluation import __all__ as _evaluation
from .robustness import *  # noqa: F403
from .robustness import __all__ as _robustness
from .stability import *  # noqa: F403
from .stability import __all__ as _stability

__all__ = [*_evaluation, *_robustness, *_stability]
