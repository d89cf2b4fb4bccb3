"""The investigator's loop: runs over time with stable ring ids, verdicts carried from run to run,
and the successors of banned rings.

:mod:`.runs` matches a run's rings to the previous run's by their accounts;
:mod:`.verdicts` keeps the investigators' verdicts; :mod:`.successors` finds
new accounts that reuse a banned ring's evidence; :mod:`.tracking` applies
them to a detection run's findings and writes the run's files. Nothing here
changes how rings are detected: it all happens after detection.
"""

from .runs import *  # noqa: F403
from .runs import __all__ as _runs
from .successors import *  # noqa: F403
from .successors import __all__ as _successors
from .tracking import *  # noqa: F403
from .tracking import __all__ as _tracking
from .verdicts import *  # noqa: F403
from .verdicts import __all__ as _verdicts

__all__ = [*_tracking, *_runs, *_verdicts, *_successors]
