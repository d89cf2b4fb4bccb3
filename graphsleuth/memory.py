"""Keep freed memory in the process, so that the next large array does not fault it in again.

A run over a million accounts allocates and frees arrays of tens to hundreds
of megabytes dozens of times (hash tables, sort orders, edge lists, igraph's
vectors). glibc serves every block above 32 MB with its own ``mmap`` and
gives it back to the kernel when it is freed, so the next array of that size
starts from fresh pages, each one faulted in and zeroed by the kernel again.
At 1M accounts that was about 430,000 extra page faults and 2 to 4 s of system time
in a 45 s detect; at 100k accounts the arrays stay below the limit and glibc
reuses them already. Serving large blocks from the heap and keeping freed
memory there lets each array reuse the last one's pages.

The cost is memory the process holds until it exits: the peak resident size
of a detect at 1M accounts goes from 3.0 to 3.3 GB. So this is done by
``graphsleuth detect``, whose process ends with the command, and not by the
library, whose callers' processes may live on. Generating 1M accounts with it
measured 9.8 to 11.9 s against 9.2 to 10.6 s without, no gain, so ``generate``
leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

#: mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: Free memory at the top of the heap beyond this is still given back (mallopt takes an int).
_TRIM_THRESHOLD = 2**31 - 1


def keep_freed_memory() -> bool:
    """Make glibc serve large blocks from the heap and keep freed memory there for reuse.

    Returns True when the allocator took both settings, False where there is
    no glibc (another C library, another system) and nothing changed.
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
