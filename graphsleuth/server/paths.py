"""Where the local server keeps its files, and the ports and URLs it answers on."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from ..errors import StoreError
from .settings import USERNAME

__all__ = ["home", "neo4j_home", "bolt_port", "http_port", "guide_port", "browser_url", "guide_url", "style_url", "browser_edit_url"]


def home() -> Path:
    """The folder graphsleuth keeps its local server in: ``$GRAPHSLEUTH_HOME``, else the user's data
    folder (``~/.local/share/graphsleuth`` on Linux, as platformdirs says), never the installed package."""
    configured = os.environ.get("GRAPHSLEUTH_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return platformdirs.user_data_path("graphsleuth", appauthor=False)


def neo4j_home() -> Path:
    """The Neo4j home folder (lib/, conf/, data/, logs/, run/) under :func:`home`."""
    return home() / "neo4j"


def lib_folder() -> Path:
    return neo4j_home() / "lib"


def password_file() -> Path:
    return neo4j_home() / "password"


def pid_file(name: str) -> Path:
    return neo4j_home() / "run" / f"{name}.pid"


def _port(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StoreError(f"{variable}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StoreError(f"{variable}={raw!r} is not a port number (1-65535)")
    return port


def bolt_port() -> int:
    """Bolt port of the local server (GRAPHSLEUTH_NEO4J_BOLT_PORT, default 7687)."""
    return _port("GRAPHSLEUTH_NEO4J_BOLT_PORT", 7687)


def http_port() -> int:
    """HTTP port of the local server, serving the Browser (GRAPHSLEUTH_NEO4J_HTTP_PORT, default 7474)."""
    return _port("GRAPHSLEUTH_NEO4J_HTTP_PORT", 7474)


def guide_port() -> int:
    """Port of the small static server for the Browser guide (GRAPHSLEUTH_GUIDE_PORT, default 7480)."""
    return _port("GRAPHSLEUTH_GUIDE_PORT", 7480)


def browser_url() -> str:
    """The local Neo4j Browser, pre-filled to connect to the local Bolt port."""
    dbms = urllib.parse.quote(f"neo4j://{USERNAME}@127.0.0.1:{bolt_port()}", safe="")
    return f"http://127.0.0.1:{http_port()}/browser/?dbms={dbms}"


def guide_url() -> str:
    """URL of the investigators' guide, for `:play` in the Browser (localhost is allow-listed)."""
    return f"http://localhost:{guide_port()}/guide/graphsleuth.html"


def style_url() -> str:
    """URL of the GraSS stylesheet, for `:style` in the Browser."""
    return f"http://localhost:{guide_port()}/style.grass"


def browser_edit_url(cypher: str) -> str:
    """A Browser URL that opens with ``cypher`` in the editor (Browser's ``cmd=edit``)."""
    arg = urllib.parse.quote(cypher, safe="")
    return f"{browser_url()}&cmd=edit&arg={arg}"
