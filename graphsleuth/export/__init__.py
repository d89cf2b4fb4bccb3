"""Exporting what detection found: result files written atomically, keyed pseudonyms, the terminal summary, case files, shared indicators."""

from .files import *  # noqa: F403
from .files import __all__ as _files
from .indicators import *  # noqa: F403
from .indicators import __all__ as _indicators
from .pseudonyms import *  # noqa: F403
from .pseudonyms import __all__ as _pseudonyms
from .report import *  # noqa: F403
from .report import __all__ as _report
from .summary import *  # noqa: F403
from .summary import __all__ as _summary

__all__ = [*_files, *_pseudonyms, *_summary, *_report, *_indicators]
