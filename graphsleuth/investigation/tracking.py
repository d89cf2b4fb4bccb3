"""One run followed from the last: ring ids kept, lineage, verdicts applied, successors found, and the run's files.

:func:`follow_rings` runs after detection, on its :class:`Findings`: it
matches the rings to the previous run's (:mod:`.runs`), gives each the id it
goes by, its first and last times and its lineage, attaches the verdict in
force (:mod:`.verdicts`), holds back the dismissed rings that did not change
materially, and reports the successors of banned rings (:mod:`.successors`).
:func:`write_run_files` writes what it found beside the rings: ``run.json``,
``changes.jsonl``, ``verdicts.jsonl``, ``dismissed.jsonl`` and ``successors.csv``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from ..detection.findings import Findings, Lineage, Ring
from ..evidence import Evidence
from .runs import PreviousRun, RingChange, gone_rings, latest_time, match_rings
from .successors import SUCCESSOR_COLUMNS, find_successors, successor_summary, successors_within
from .verdicts import Verdict, latest_verdicts, merge_verdicts, what_changed

__all__ = ["TrackedFindings", "DismissedRing", "follow_rings", "write_run_files", "changes_summary", "RUN_FILES"]

#: The files a run writes beside members, rings.jsonl and clusters.jsonl.
RUN_FILES = ("run.json", "changes.jsonl", "verdicts.jsonl", "dismissed.jsonl", "successors.csv")


@dataclass(frozen=True)
class DismissedRing:
    """A ring found again that stays dismissed: not flagged, but tracked with its id and accounts."""

    ring_id: str
    size: int
    score: float
    first_seen: str | None
    last_seen: str | None
    lineage: Lineage
    verdict: dict
    account_ids: tuple[str, ...]

    def to_dict(self) -> dict:
        """The dismissed.jsonl record."""
        return {
            "ring_id": self.ring_id,
            "size": self.size,
            "score": self.score,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "lineage": self.lineage.to_dict(),
            "verdict": dict(self.verdict),
            "account_ids": list(self.account_ids),
        }


@dataclass
class TrackedFindings(Findings):
    """A detection run's findings followed from the previous run.

    Besides :class:`Findings`: ``as_of`` (the data time of the run, the latest
    time in its evidence unless given), the previous run, the previous rings
    gone (``changes``), the dismissed rings held back, every verdict carried,
    and the successors of banned rings (:data:`~.successors.SUCCESSOR_COLUMNS`).
    """

    as_of: str | None = None
    evidence_path: str = ""
    pseudonymised: bool = False
    previous_run_id: str | None = None
    previous_out: str | None = None
    changes: list[RingChange] = field(default_factory=list)
    dismissed: list[DismissedRing] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    successors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUCCESSOR_COLUMNS))

    def run_record(self) -> dict:
        """run.json: what later commands (report, evaluate, the next detect) need to know of this run."""
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "evidence": self.evidence_path,
            "algorithm": self.algorithm,
            "seed": self.seed,
            "pseudonymised": self.pseudonymised,
            "previous": None if self.previous_out is None else {"run_id": self.previous_run_id, "out": self.previous_out},
            "rings": len(self.rings),
            "dismissed_rings_held": len(self.dismissed),
            "rings_gone": len(self.changes),
            "successors": int(len(self.successors)),
            "verdicts": len(self.verdicts),
        }


def follow_rings(
    findings: Findings,
    evidence: Evidence,
    previous: PreviousRun | None = None,
    *,
    as_of: str | None = None,
    verdicts: list[Verdict] | None = None,
    evidence_path: str = "",
) -> TrackedFindings:
    """Follow ``findings`` from the ``previous`` run: ids kept, lineage, verdicts in force, successors.

    ``verdicts`` are verdicts given elsewhere (in the Neo4j Browser) to add to
    the previous run's; ``as_of`` defaults to the latest time in ``evidence``.
    """
    from .runs import iso_time

    as_of = iso_time(as_of) if as_of is not None else latest_time(evidence)
    carried = merge_verdicts(list(previous.verdicts) if previous else [], list(verdicts or []))
    match = match_rings(findings.members[["account_id", "ring_id"]].astype(str), previous.members if previous else None)
    ids = match.ids
    members = findings.members.assign(ring_id=findings.members["ring_id"].astype(str).map(ids))
    in_force = latest_verdicts(carried)
    rings: list[Ring] = []
    held: list[DismissedRing] = []
    member_sets = members.groupby("ring_id")["account_id"].agg(lambda s: tuple(sorted(map(str, s))))
    for ring in findings.rings:
        ring_id = ids[ring.ring_id]
        came_from = match.came_from[ring.ring_id]
        seen_before = [previous.first_seen.get(r) for r in came_from] if previous else []
        first_seen = min([t for t in seen_before if t], default=as_of)
        ring = replace(ring, ring_id=ring_id, first_seen=first_seen, last_seen=as_of, lineage=match.lineage[ring.ring_id])
        verdict = in_force.get(ring_id)
        if verdict is not None:
            record = verdict.summary()
            if verdict.verdict == "dismissed":
                changed = what_changed(verdict, member_sets.get(ring_id, ()), ring.score)
                if changed is None:
                    held.append(
                        DismissedRing(ring_id, ring.size, ring.score, first_seen, as_of, ring.lineage, record, member_sets.get(ring_id, ()))
                    )
                    continue
                record["changed_since"] = changed
            ring = replace(ring, verdict=record)
        rings.append(ring)
    held_ids = {h.ring_id for h in held}
    held_members = members[members["ring_id"].isin(held_ids)][["account_id", "ring_id"]]
    members = members[~members["ring_id"].isin(held_ids)].reset_index(drop=True)
    clusters = []
    for cluster in findings.clusters:
        if cluster.ring_id is None:
            clusters.append(cluster)
            continue
        ring_id = ids.get(cluster.ring_id, cluster.ring_id)
        if ring_id in held_ids:
            verdict = in_force[ring_id]
            note = f" ({verdict.note})" if verdict.note else ""
            reason = (
                f"dismissed by {verdict.by or 'an investigator'} on {verdict.at[:10]}{note}; "
                "not flagged again while it does not change materially"
            )
            clusters.append(replace(cluster, ring_id=ring_id, flagged=False, reason=reason))
        else:
            clusters.append(replace(cluster, ring_id=ring_id))
    banned = [v for v in in_force.values() if v.verdict == "banned"]
    successors = find_successors(evidence, banned)
    rings = [
        replace(
            ring, successors=successor_summary(successors, ring.ring_id) or successors_within(successors, member_sets.get(ring.ring_id, ()))
        )
        for ring in rings
    ]
    tracked = TrackedFindings(
        members=members,
        rings=rings,
        clusters=clusters,
        run_id=findings.run_id,
        algorithm=findings.algorithm,
        seed=findings.seed,
        stats=findings.stats,
        rejects=findings.rejects,
        campaigns=[replace(c, ring_ids=tuple(ids.get(r, r) for r in c.ring_ids)) for c in findings.campaigns],
        as_of=as_of,
        evidence_path=evidence_path,
        previous_run_id=previous.run_id if previous else None,
        previous_out=str(previous.out.resolve()) if previous else None,
        dismissed=held,
        verdicts=carried,
        successors=successors,
    )
    if previous is not None:
        tracked.changes = gone_rings(match, previous, tracked, evidence, held_members)
    return tracked


def write_run_files(tracked: Findings, directory: Path, key: bytes | None = None) -> None:
    """Write run.json, changes.jsonl, verdicts.jsonl, dismissed.jsonl and successors.csv into ``directory``.

    Plain :class:`Findings` (detection alone) get none of them. With ``key``
    the evidence successors reuse is written as keyed pseudonyms.
    """
    from ..export.files import neutralise_formulas, write_jsonl

    if not isinstance(tracked, TrackedFindings):
        return
    (directory / "run.json").write_text(json.dumps(tracked.run_record(), indent=2) + "\n", encoding="utf-8")
    write_jsonl(tracked.changes, directory / "changes.jsonl")
    write_jsonl(tracked.verdicts, directory / "verdicts.jsonl")
    write_jsonl(tracked.dismissed, directory / "dismissed.jsonl")
    successors = tracked.successors.copy()
    if key is not None and len(successors):
        successors["reused"] = successors["reused"].map(lambda text: _pseudonymised_reuse(text, key))
    for column in ("account_id", "successor_of", "kinds", "reused"):
        if len(successors):
            successors[column] = neutralise_formulas(successors[column])
    successors.to_csv(directory / "successors.csv", index=False)


def _pseudonymised_reuse(text: str, key: bytes) -> str:
    """``card pm_1; template t9`` with personal values (all but BINs and templates) as keyed pseudonyms."""
    from ..export.pseudonyms import pseudonym

    kinds = {"card": "card", "IP": "ip", "subnet": "subnet"}
    parts = []
    for part in text.split("; "):
        label, _, value = part.partition(" ")
        if label in ("BIN", "template"):
            parts.append(part)
        else:
            parts.append(f"{label} {pseudonym(key, value, kinds.get(label, label))}")
    return "; ".join(parts)


def changes_summary(tracked: Findings) -> str:
    """What changed since the previous run, in a few lines for the terminal."""
    if not isinstance(tracked, TrackedFindings) or tracked.previous_out is None:
        return ""
    changes: dict[str, int] = {}
    for ring in tracked.rings:
        if ring.lineage is not None:
            changes[ring.lineage.change] = changes.get(ring.lineage.change, 0) + 1
    for ring in tracked.dismissed:
        changes[ring.lineage.change] = changes.get(ring.lineage.change, 0) + 1
    kept = sum(n for change, n in changes.items() if change in ("same", "grown", "shrunk", "merged_from"))
    said = ", ".join(f"{n} {change.replace('_', ' ')}" for change, n in sorted(changes.items()))
    lines = [f"since run {tracked.previous_run_id} ({tracked.previous_out}): {kept} rings kept their ids ({said})"]
    if tracked.changes:
        gone = ", ".join(f"{c.ring_id} {c.change.replace('_', ' ')}{' ' + ' '.join(c.into) if c.into else ''}" for c in tracked.changes)
        lines.append(f"{len(tracked.changes)} rings of the previous run are gone: {gone} (changes.jsonl)")
    if tracked.dismissed:
        lines.append(
            f"{len(tracked.dismissed)} dismissed rings found again and not flagged: {', '.join(r.ring_id for r in tracked.dismissed)}"
        )
    if len(tracked.successors):
        per_ring = tracked.successors.groupby("successor_of").size()
        lines.append("successors of banned rings: " + ", ".join(f"{n} of {ring}" for ring, n in per_ring.items()) + " (successors.csv)")
    return "\n".join(lines)
