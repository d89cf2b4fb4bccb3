"""Detection: from evidence to scored, explained suspected rings.

Raw prompts get their templates derived (:mod:`.templates`); accounts and the
evidence they share become a weighted graph (:mod:`.graph`); community
detection finds clusters (:mod:`.clustering`), beside dense blocks (:mod:`.blocks`) and
cohorts of accounts that share two popular items (:mod:`.cohorts`) and accounts made together that send
one toolkit (:mod:`.made_together`); each is scored
(:mod:`.scoring`, its payments in :mod:`.payments`, on tables numbered once per graph (:mod:`.numbered`), with what an organisation explains in :mod:`.organisations` and what an event does in :mod:`.events`); flagged pieces of one large ring are joined
(:mod:`.rings`), and rings that share tooling make campaigns (:mod:`.campaigns`); each ring is explained in plain words (:mod:`.explain`)
and returned as typed records (:mod:`.findings`). :mod:`.pipeline` runs them
in order. Nothing here reads files, writes files or talks to Neo4j.
"""

from .campaigns import *  # noqa: F403
from .campaigns import __all__ as _campaigns
from .clustering import *  # noqa: F403
from .clustering import __all__ as _clustering
from .events import *  # noqa: F403
from .events import __all__ as _events
from .explain import *  # noqa: F403
from .explain import __all__ as _explain
from .findings import *  # noqa: F403
from .findings import __all__ as _findings
from .graph import *  # noqa: F403
from .graph import __all__ as _graph
from .organisations import *  # noqa: F403
from .organisations import __all__ as _organisations
from .pipeline import *  # noqa: F403
from .pipeline import __all__ as _pipeline
from .scoring import *  # noqa: F403
from .scoring import __all__ as _scoring
from .templates import *  # noqa: F403
from .templates import __all__ as _templates

__all__ = [*_pipeline, *_findings, *_graph, *_clustering, *_scoring, *_organisations, *_events, *_campaigns, *_explain, *_templates]
