"""The Spark engine: the same detection as the embedded one, on a Spark cluster (or Spark in local mode).

``graphsleuth detect DATA --engine spark`` and ``graphsleuth.detect(..., engine="spark")`` run it.
Spark builds the evidence graph and its account projection (:mod:`.graph`), divides the account
graph into pieces (:mod:`.partition`) and clusters each piece on an executor (:mod:`.clusters`);
every other stage is detection's own, on the driver (:mod:`.engine`). Needs PySpark and Java 17
or 21 (:mod:`.java`): ``pip install 'graphsleuth[spark]'``. Evidence tables at any URI Spark reads are
read by Spark (:mod:`.reading`); request logs are aggregated into evidence tables on Spark, by
the same SQL as ``graphsleuth ingest`` where the dialects allow (:mod:`.ingest`).
"""

from .clusters import *  # noqa: F403
from .clusters import __all__ as _clusters
from .engine import *  # noqa: F403
from .engine import __all__ as _engine
from .graph import *  # noqa: F403
from .graph import __all__ as _graph
from .ingest import *  # noqa: F403
from .ingest import __all__ as _ingest
from .java import *  # noqa: F403
from .java import __all__ as _java
from .partition import *  # noqa: F403
from .partition import __all__ as _partition
from .reading import *  # noqa: F403
from .reading import __all__ as _reading
from .session import *  # noqa: F403
from .session import __all__ as _session

__all__ = [*_engine, *_session, *_java, *_reading, *_ingest, *_graph, *_partition, *_clusters]
