"""Measuring detection: suspected rings against the ground truth of a population."""

from .evaluation import *  # noqa: F403
from .evaluation import __all__ as _evaluation
from .over_time import *  # noqa: F403
from .over_time import __all__ as _over_time

__all__ = [*_evaluation, *_over_time]
