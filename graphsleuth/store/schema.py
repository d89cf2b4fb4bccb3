"""The graph's constraints and indexes (cypher/schema.cypher), created before any write."""

from __future__ import annotations

from ..queries import cypher_statements
from .session import run_write

__all__ = ["apply_schema"]


def apply_schema(session) -> None:
    """Create the constraints and indexes of cypher/schema.cypher (all IF NOT EXISTS)."""
    for _name, cypher in cypher_statements("schema").items():
        run_write(session, cypher)
