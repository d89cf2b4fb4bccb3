"""The evidence a detection run reads: the input contract, reading it, and checking every value.

The evidence format is a directory of tables (accounts, payments, ips,
prompts, links), each as CSV, gzipped CSV or Parquet; see :mod:`.tables` for
what each must and may hold, :mod:`.reading` for how a directory is read and
:mod:`.values` for how each value is checked.
"""

from .bad_rows import *  # noqa: F403
from .bad_rows import __all__ as _bad_rows
from .networks import *  # noqa: F403
from .networks import __all__ as _networks
from .reading import *  # noqa: F403
from .reading import __all__ as _reading
from .tables import *  # noqa: F403
from .tables import __all__ as _tables
from .values import *  # noqa: F403
from .values import __all__ as _values

__all__ = [*_tables, *_reading, *_values, *_bad_rows, *_networks]
