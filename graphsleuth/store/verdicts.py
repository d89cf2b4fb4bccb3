"""Verdicts on rings kept in the graph: set from the Browser (or here), read back for the next run to carry."""

from __future__ import annotations

from .. import server
from ..queries import cypher_statement, cypher_statements
from .session import open_driver, run_read, store_errors

__all__ = ["read_verdicts_from_neo4j", "set_verdict_in_neo4j"]


def read_verdicts_from_neo4j(*, connection: server.Connection | None = None) -> list:
    """Every verdict set on a :Ring in Neo4j, with the ring's accounts then, as :class:`~graphsleuth.investigation.Verdict`."""
    from ..investigation.runs import iso_time
    from ..investigation.verdicts import Verdict

    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            rows = run_read(session, cypher_statements("findings")["read_verdicts"])
    return [
        Verdict.from_dict(
            {**row, "at": iso_time(row["at"]), "as_of": iso_time(row["as_of"]), "members": sorted(row["members"]), "source": "neo4j"},
            file="neo4j:read_verdicts",
        )
        for row in rows
    ]


def set_verdict_in_neo4j(
    ring_id: str, verdict: str, *, by: str = "", note: str = "", connection: server.Connection | None = None
) -> dict | None:
    """Set a verdict on ring ``ring_id`` in Neo4j, as the Browser guide's query does; the ring's new verdict, or None."""
    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            rows = session.execute_write(
                lambda tx: [
                    r.data()
                    for r in tx.run(cypher_statement("investigate", "set_verdict"), ringId=ring_id, verdict=verdict, by=by, note=note)
                ]
            )
    return rows[0] if rows else None
