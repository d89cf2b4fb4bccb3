"""Where and as whom to reach Neo4j: NEO4J_URI and its friends, or the local server."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .config import read_password
from .paths import bolt_port
from .settings import USERNAME

__all__ = ["Connection", "connection", "env"]


@dataclass(frozen=True)
class Connection:
    """Where and as whom to reach Neo4j; ``local`` when it is our own server."""

    uri: str
    username: str
    password: str
    database: str
    local: bool

    def __repr__(self) -> str:  # never show the password in a repr or traceback
        return f"Connection(uri={self.uri!r}, username={self.username!r}, database={self.database!r}, local={self.local})"


def connection() -> Connection:
    """The Neo4j to use: NEO4J_URI/USERNAME/PASSWORD/DATABASE, else the local server."""
    uri = os.environ.get("NEO4J_URI")
    database = os.environ.get("NEO4J_DATABASE") or "neo4j"
    if uri:
        return Connection(
            uri=uri,
            username=os.environ.get("NEO4J_USERNAME", USERNAME),
            password=os.environ.get("NEO4J_PASSWORD", ""),
            database=database,
            local=False,
        )
    return Connection(
        uri=f"neo4j://127.0.0.1:{bolt_port()}",
        username=USERNAME,
        password=read_password(),
        database=database,
        local=True,
    )


def env() -> str:
    """``export`` lines for the local server's NEO4J_* settings (for ``eval $(graphsleuth neo4j env)``)."""
    import shlex

    password = read_password()
    return "\n".join(
        [
            f"export NEO4J_URI={shlex.quote(f'neo4j://127.0.0.1:{bolt_port()}')}",
            f"export NEO4J_USERNAME={USERNAME}",
            f"export NEO4J_PASSWORD={shlex.quote(password)}",
            "export NEO4J_DATABASE=neo4j",
        ]
    )
