"""Reading the evidence graph back out of Neo4j, as the tables it was loaded from."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import server
from ..evidence import Evidence
from ..queries import cypher_statement
from .session import open_driver, run_read, store_errors

__all__ = ["read_evidence_from_neo4j"]


def _times(values: list) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601").astype("datetime64[ns, UTC]")


def _strings(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def read_evidence_from_neo4j(*, connection: server.Connection | None = None) -> Evidence:
    """The evidence graph in Neo4j as an :class:`Evidence`, as :func:`load` stored it.

    Tables hold what the graph holds: ips one row per account x IP (requests
    summed, first/last seen), prompts one row per account x template (``count``
    summed, ``ts`` the first time), accounts' extra columns from ``extras``.
    """
    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            raw = {
                name: run_read(session, cypher_statement("load", f"read_{name}"))
                for name in ("accounts", "payments", "ips", "prompts", "links")
            }
    accounts = pd.DataFrame(
        {
            "account_id": _strings([r["account_id"] for r in raw["accounts"]]),
            "created_at": _times([r["created_at"] for r in raw["accounts"]]),
            "email": _strings([r["email"] for r in raw["accounts"]]),
            "country": _strings([r["country"] for r in raw["accounts"]]),
        }
    )
    extras = [json.loads(r["extras"]) if r["extras"] else {} for r in raw["accounts"]]
    for name in sorted({k for e in extras for k in e}):
        accounts[name] = _strings([e.get(name) for e in extras])
    payments = pd.DataFrame({k: _strings([r[k] for r in raw["payments"]]) for k in ("account_id", "payment_id", "kind", "bin")})
    ips = pd.DataFrame(
        {
            "account_id": _strings([r["account_id"] for r in raw["ips"]]),
            "ip": _strings([r["ip"] for r in raw["ips"]]),
            "first_seen": _times([r["first_seen"] for r in raw["ips"]]),
            "last_seen": _times([r["last_seen"] for r in raw["ips"]]),
            "requests": pd.array([r["requests"] for r in raw["ips"]], dtype="Int64"),
        }
    )
    prompts = pd.DataFrame(
        {
            "account_id": _strings([r["account_id"] for r in raw["prompts"]]),
            "template_id": _strings([r["template_id"] for r in raw["prompts"]]),
            "ts": _times([r["ts"] for r in raw["prompts"]]),
            "count": pd.Series([int(r["count"]) for r in raw["prompts"]], dtype="int64"),
        }
    )
    links = pd.DataFrame({k: _strings([r[k] for r in raw["links"]]) for k in ("account_id", "kind", "value")})
    return Evidence(
        directory=Path(f"neo4j:{conn.uri}/{conn.database}"),
        accounts=accounts,
        payments=payments,
        ips=ips,
        prompts=prompts,
        links=links,
        rejects=pd.DataFrame(columns=["file", "row", "column", "reason", "value"]),
        files={},
    )
