"""The evidence graph in Neo4j: loading it, writing rings back, reading it again, investigating it.

Every Cypher statement lives in ``graphsleuth/queries/cypher/*.cypher`` under a
``// name: ...`` header and is picked by that name; values always travel as
parameters, and labels or property names come from this code, never from the input.

Graph model::

    (:Account {accountId, createdAt, email, country, extras})
    (:Account)-[:PAID_WITH]->(:PaymentMethod {paymentId, kind})-[:ISSUED_UNDER]->(:Bin {bin})
    (:Account)-[:CONNECTED_FROM {requests, firstSeen, lastSeen}]->(:IpAddress {ip})-[:IN_SUBNET]->(:Subnet {cidr})
    (:Account)-[:SENT {count, firstTs, lastTs}]->(:PromptTemplate {templateId, text})
    (:Account)-[:LINKED_TO]->(:Link:Device {kind, value})      one label per link kind
    (:Account:Suspect)-[:MEMBER_OF {score}]->(:Ring {ringId, runId, score, ...})
    (:Account)-[:IN_CLUSTER]->(:Cluster {clusterId, runId, flagged: false, reason, ...})
    (:Ring {firstSeen, lastSeen, lineage, verdict, ...})-[:FOUND_IN]->(:Run {runId, asOf, ...})-[:FOLLOWS]->(:Run)
    (:Ring)-[:CONTINUES|SPLIT_FROM]->(:Ring of the previous run), (:Ring of the previous run)-[:MERGED_INTO]->(:Ring)

``extras`` holds the accounts table's extra columns as a JSON object, so that
their names (which come from input) never become property names.

:mod:`.session` talks to the server; :mod:`.rows` and :mod:`.steps` turn the
evidence into the rows of each write; :mod:`.load` writes them through Bolt
(:mod:`.writers`), :mod:`.bulk` through neo4j-admin's import; :mod:`.writeback`
writes rings back, :mod:`.readback` reads the evidence out again, and
:mod:`.investigate` runs the investigators' queries; :mod:`.verdicts` sets and reads verdicts on rings.
"""

from .bulk import *  # noqa: F403
from .bulk import __all__ as _bulk
from .investigate import *  # noqa: F403
from .investigate import __all__ as _investigate
from .load import *  # noqa: F403
from .load import __all__ as _load
from .readback import *  # noqa: F403
from .readback import __all__ as _readback
from .rows import *  # noqa: F403
from .rows import __all__ as _rows
from .schema import *  # noqa: F403
from .schema import __all__ as _schema
from .session import *  # noqa: F403
from .session import __all__ as _session
from .summary import *  # noqa: F403
from .summary import __all__ as _summary
from .verdicts import *  # noqa: F403
from .verdicts import __all__ as _verdicts
from .writeback import *  # noqa: F403
from .writeback import __all__ as _writeback
from .writers import has_procedures

__all__ = [*_load, *_bulk, *_writeback, *_readback, *_investigate, *_verdicts, *_summary, *_schema, *_session, *_rows, "has_procedures"]
