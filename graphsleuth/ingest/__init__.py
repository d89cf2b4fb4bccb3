"""From request logs to the evidence tables: ``graphsleuth ingest``.

:mod:`.sources` finds the log files and their side tables, :mod:`.engine` runs
the SQL of ``graphsleuth/queries/sql`` on DuckDB, :mod:`.forms` derives
templates from raw prompt text on distinct normal forms only, :mod:`.checks`
finds and locates bad requests, and :mod:`.pipeline` puts them together.
"""

from .pipeline import *  # noqa: F403
from .pipeline import __all__ as _pipeline
from .sources import *  # noqa: F403
from .sources import __all__ as _sources

__all__ = [*_pipeline, *_sources]
