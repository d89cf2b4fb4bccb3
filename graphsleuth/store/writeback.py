"""Writing a detection run's rings and clusters back into the graph."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import server
from ..detection.findings import Findings
from ..queries import cypher_statements
from .rows import column_or_missing, is_missing, records, text_values
from .schema import apply_schema
from .session import open_driver, store_errors

__all__ = ["WriteSummary", "write_findings"]


@dataclass
class WriteSummary:
    """What :func:`write_findings` did for one run."""

    run_id: str
    rings: int
    members: int
    clusters: int
    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    labels_removed: int = 0

    def describe(self) -> str:
        return (
            f"run {self.run_id}: wrote {self.rings} rings ({self.members} members) and "
            f"{self.clusters} unflagged clusters; {self.nodes_deleted} old nodes replaced"
        )


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, (set, tuple, np.ndarray)):
        return list(value)
    return str(value)


def _time_text(value):
    if is_missing(value):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _number(value):
    return None if is_missing(value) else float(value)


def _findings_params(findings: Findings) -> dict:
    rings = [
        {
            "ring_id": str(r.ring_id),
            "score": _number(r.score),
            "size": int(r.size),
            "explanation": r.explanation,
            "evidence": json.dumps({name: group.to_dict() for name, group in r.evidence.items()}, default=_jsonable, sort_keys=True),
            "created_from": _time_text(r.created_from),
            "created_to": _time_text(r.created_to),
        }
        for r in findings.rings
    ]
    members_frame = findings.members
    members = records(
        {
            "account_id": text_values(members_frame["account_id"]),
            "ring_id": text_values(members_frame["ring_id"]),
            "score": [_number(s) for s in column_or_missing(members_frame, "score")],
        }
    )
    clusters = [
        {
            "cluster_id": str(c.cluster_id),
            "reason": c.reason,
            "score": _number(c.score),
            "size": int(c.size),
            "account_ids": [str(a) for a in c.account_ids],
        }
        for c in findings.clusters
        if not c.flagged
    ]
    return {"rings": rings, "members": members, "clusters": clusters}


def _run_params(findings: Findings) -> tuple[dict, list[dict], list[dict]]:
    """The run's record, each ring's times, lineage and verdict, and the previous rings merged into this run's."""
    run = {
        "asOf": getattr(findings, "as_of", None),
        "evidence": getattr(findings, "evidence_path", "") or "",
        "previousRunId": getattr(findings, "previous_run_id", None) or "",
        "dismissedHeld": [ring.ring_id for ring in getattr(findings, "dismissed", [])],
        "successors": int(len(getattr(findings, "successors", ()))),
    }
    rings = []
    for r in findings.rings:
        verdict = r.verdict or {}
        rings.append(
            {
                "ring_id": str(r.ring_id),
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
                "change": None if r.lineage is None else r.lineage.change,
                "rings": [] if r.lineage is None else list(r.lineage.rings),
                "added": None if r.lineage is None else r.lineage.added,
                "removed": None if r.lineage is None else r.lineage.removed,
                "successors": None if not r.successors else json.dumps(r.successors, sort_keys=True),
                "verdict": verdict.get("verdict"),
                "verdict_at": verdict.get("at"),
                "verdict_by": verdict.get("by"),
                "verdict_note": verdict.get("note"),
            }
        )
    merges = [
        {"from": change.ring_id, "into": into}
        for change in getattr(findings, "changes", [])
        if change.change == "merged_into"
        for into in change.into
    ]
    return run, rings, merges


def write_findings(findings: Findings, *, connection: server.Connection | None = None) -> WriteSummary:
    """Write a detection run's rings and unflagged clusters to Neo4j, replacing that run's.

    One transaction: deletes the run's old :Ring and :Cluster nodes, creates
    the new ones with MEMBER_OF / IN_CLUSTER relationships, labels ring members
    :Suspect and removes :Suspect from accounts no ring of any run still holds.
    The run becomes a (:Run) that FOLLOWS the previous run's; its rings are
    FOUND_IN it, carry their times, lineage and verdict, and CONTINUES,
    SPLIT_FROM or (the previous ring) MERGED_INTO link them to the previous run's rings.
    """
    params = _findings_params(findings)
    run = {"runId": str(findings.run_id), "algorithm": str(findings.algorithm), "seed": int(findings.seed)}
    run_record, ring_history, merges = _run_params(findings)
    cypher = cypher_statements("findings")
    summary = WriteSummary(
        run_id=run["runId"], rings=len(params["rings"]), members=len(params["members"]), clusters=len(params["clusters"])
    )

    def work(tx):
        steps = [
            ("delete_run_rings", {"runId": run["runId"]}),
            ("delete_run_clusters", {"runId": run["runId"]}),
            ("create_rings", {**run, "rings": params["rings"]}),
            ("link_ring_members", {"runId": run["runId"], "members": params["members"]}),
            ("create_clusters", {"runId": run["runId"], "algorithm": run["algorithm"], "clusters": params["clusters"]}),
            ("clear_unjustified_suspects", {}),
            ("merge_run", {**run, **run_record}),
            ("link_rings_to_run", {"runId": run["runId"], "previousRunId": run_record["previousRunId"], "rings": ring_history}),
            ("link_merged_rings", {"runId": run["runId"], "previousRunId": run_record["previousRunId"], "merges": merges}),
        ]
        totals = []
        for name, values in steps:
            totals.append(tx.run(cypher[name], **values).consume().counters)
        return totals

    with open_driver(connection) as (driver, conn), store_errors(conn):
        with driver.session(database=conn.database) as session:
            apply_schema(session)
            for counters in session.execute_write(work):
                summary.nodes_created += counters.nodes_created
                summary.nodes_deleted += counters.nodes_deleted
                summary.relationships_created += counters.relationships_created
                summary.labels_removed += counters.labels_removed
    return summary
