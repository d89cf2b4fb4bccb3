"""The investigators' queries, the graph's counts, clearing it, and links that open a ring in the Browser."""

from __future__ import annotations

import json

from .. import server
from ..queries import cypher_statement
from .session import open_driver, retried, run_read, store_errors

__all__ = ["investigate", "graph_counts", "clear", "browser_link"]


def investigate(name: str, *, connection: server.Connection | None = None, **params) -> list[dict]:
    """Run the query ``name`` of cypher/investigate.cypher with ``params``; its rows as dicts."""
    cypher = cypher_statement("investigate", name)
    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            return run_read(session, cypher, **params)


def graph_counts(*, connection: server.Connection | None = None) -> dict[str, int]:
    """How many nodes carry each label and relationships each type ({"Account": 12, "PAID_WITH": 9, ...})."""
    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            rows = run_read(session, cypher_statement("load", "count_nodes")) + run_read(
                session, cypher_statement("load", "count_relationships")
            )
    return {r["name"]: int(r["n"]) for r in rows}


def clear(*, connection: server.Connection | None = None) -> None:
    """Delete every node and relationship of the database (keeps the schema). For tests and fresh starts.

    A deadlock with a writer still running (a load killed a moment ago, whose
    statement the server finishes) is retried: the batches deleted before it stay deleted.
    """
    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            # CALL { } IN TRANSACTIONS commits batches itself: it runs in an auto-commit transaction.
            for name in ("clear_relationships", "clear_graph"):
                retried(lambda name=name: session.run(cypher_statement("load", name)).consume())


def _cypher_string(value: str) -> str:
    """A Cypher string literal for ``value`` (JSON escapes are valid Cypher escapes)."""
    return json.dumps(str(value), ensure_ascii=True)


def browser_link(ring_id: str) -> str:
    """A Neo4j Browser URL that opens ring ``ring_id`` with all its evidence, ready to run.

    URLs cannot carry query parameters, so the ring id is bound in a leading
    ``WITH`` as a quoted literal and the query from cypher/investigate.cypher
    (ring_evidence) follows unchanged.
    """
    query = cypher_statement("investigate", "ring_evidence").replace("$ringId", "ringId")
    cypher = f"WITH {_cypher_string(ring_id)} AS ringId\n{query}"
    return server.browser_edit_url(cypher)
