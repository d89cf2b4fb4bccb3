"""Measuring detection: suspected rings against the ground truth of a population."""

from .evaluation import *  # noqa: F403
from .evaluation import __all__ as _evaluation

__all__ = [*_evaluation]
