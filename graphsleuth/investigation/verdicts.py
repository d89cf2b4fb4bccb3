"""Investigators' verdicts on rings: confirmed, dismissed or banned, kept with who, when and why, run after run.

A verdict is one record in ``verdicts.jsonl`` (or on the ring's node in
Neo4j, set from the Browser): the ring's id, the verdict, when and by whom it
was given, the note, and the ring as it was then (its accounts, size, score
and the data time of the run it was judged on). Each run copies every
verdict into its own output, so verdicts survive reruns; the latest verdict
on a ring is the one in force.

A dismissed ring is not flagged again unless it changed materially since it
was dismissed: a fifth more accounts joined it, or its score rose by 0.1.
When it is flagged again its record says what changed.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import GraphsleuthError, InputError
from ..interrupts import interrupts_deferred

__all__ = [
    "Verdict",
    "VERDICTS",
    "read_verdicts",
    "write_verdicts",
    "latest_verdicts",
    "merge_verdicts",
    "record_verdict",
    "what_changed",
    "MATERIAL_GROWTH",
    "MATERIAL_SCORE_RISE",
]

#: What an investigator can say of a ring.
VERDICTS = ("confirmed", "dismissed", "banned")
#: A dismissed ring is flagged again when the accounts that joined it since make up this share of its size then...
MATERIAL_GROWTH = 0.2
#: ...or when its score rose by this much.
MATERIAL_SCORE_RISE = 0.1


@dataclass(frozen=True)
class Verdict:
    """One verdict on one ring, as given, with the ring as it was when judged."""

    ring_id: str
    verdict: str
    at: str
    by: str
    note: str
    run_id: str
    as_of: str | None
    size: int
    score: float | None
    members: tuple[str, ...]
    source: str = "verdicts.jsonl"

    def to_dict(self) -> dict:
        """The verdicts.jsonl record."""
        return {
            "ring_id": self.ring_id,
            "verdict": self.verdict,
            "at": self.at,
            "by": self.by,
            "note": self.note,
            "run_id": self.run_id,
            "as_of": self.as_of,
            "size": self.size,
            "score": self.score,
            "members": list(self.members),
            "source": self.source,
        }

    def summary(self) -> dict:
        """The verdict as a ring record shows it (without the accounts)."""
        record = self.to_dict()
        del record["members"]
        return record

    @classmethod
    def from_dict(cls, record: dict, file: str = "verdicts.jsonl", row: int | None = None) -> Verdict:
        for name in ("ring_id", "verdict", "at"):
            if not record.get(name):
                raise InputError(file, f"missing field {name}", row=row, column=name)
        if record["verdict"] not in VERDICTS:
            raise InputError(file, f"verdict must be one of {', '.join(VERDICTS)}, got {record['verdict']!r}", row=row, column="verdict")
        members = record.get("members") or []
        if not isinstance(members, list):
            raise InputError(file, "members must be a list of account ids", row=row, column="members")
        score = record.get("score")
        return cls(
            ring_id=str(record["ring_id"]),
            verdict=str(record["verdict"]),
            at=str(record["at"]),
            by=str(record.get("by") or ""),
            note=str(record.get("note") or ""),
            run_id=str(record.get("run_id") or ""),
            as_of=record.get("as_of"),
            size=len(members) if record.get("size") is None else int(record["size"]),
            score=None if score is None else float(score),
            members=tuple(str(a) for a in members),
            source=str(record.get("source") or "verdicts.jsonl"),
        )


def read_verdicts(path: str | Path) -> list[Verdict]:
    """Every verdict in ``path`` (a verdicts.jsonl), in the order given; none when the file is absent."""
    from .runs import read_jsonl

    path = Path(path)
    return [Verdict.from_dict(record, str(path), row) for row, record in enumerate(read_jsonl(path), start=1)]


def write_verdicts(verdicts: list[Verdict], path: str | Path) -> None:
    """Write ``verdicts`` to ``path``, one JSON line each, replacing the file in one step."""
    from ..export.files import to_json

    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8") as fh:
        for verdict in verdicts:
            fh.write(to_json(verdict.to_dict()) + "\n")
    with interrupts_deferred():
        os.replace(partial, path)


def latest_verdicts(verdicts: list[Verdict]) -> dict[str, Verdict]:
    """The verdict in force on each ring: the latest given (by time, then by order of record)."""
    latest: dict[str, Verdict] = {}
    for verdict in sorted(enumerate(verdicts), key=lambda item: (item[1].at, item[0])):
        latest[verdict[1].ring_id] = verdict[1]
    return latest


def merge_verdicts(kept: list[Verdict], more: list[Verdict]) -> list[Verdict]:
    """``kept`` followed by the verdicts of ``more`` it does not hold yet (same ring, verdict and time)."""
    seen = {(v.ring_id, v.verdict, v.at) for v in kept}
    return [*kept, *(v for v in more if (v.ring_id, v.verdict, v.at) not in seen)]


def what_changed(verdict: Verdict, members_now, score_now: float | None) -> str | None:
    """In plain words, what changed materially in a dismissed ring since its verdict; None when nothing did."""
    then = set(verdict.members)
    now = set(members_now)
    joined, left = len(now - then), len(then - now)
    grew = then and joined >= MATERIAL_GROWTH * len(then)
    rose = verdict.score is not None and score_now is not None and score_now - verdict.score >= MATERIAL_SCORE_RISE
    if not grew and not rose:
        return None
    parts = [f"{joined} accounts joined and {left} left since it was dismissed on {verdict.at[:10]} (then {len(then)} accounts)"]
    if rose:
        parts.append(f"its score rose from {verdict.score:.2f} to {score_now:.2f}")
    return "; ".join(parts)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_verdict(
    out: str | Path,
    ring_id: str,
    verdict: str,
    *,
    note: str = "",
    by: str | None = None,
    at: str | None = None,
) -> Verdict:
    """Add a verdict on ring ``ring_id`` of the run in ``out`` to ``out``/verdicts.jsonl, and return it."""
    from .runs import given_time, read_jsonl, read_run_members, read_run_record

    out = Path(out)
    if verdict not in VERDICTS:
        raise GraphsleuthError(f"a verdict is one of {', '.join(VERDICTS)}, got {verdict!r}")
    if not (out / "rings.jsonl").is_file():
        raise InputError(str(out / "rings.jsonl"), "missing file: give the output directory of graphsleuth detect")
    ring = next((r for r in read_jsonl(out / "rings.jsonl") if r.get("ring_id") == ring_id), None)
    members: list[str]
    if ring is not None:
        table = read_run_members(out)
        members = sorted(table.loc[table["ring_id"] == ring_id, "account_id"])
    else:
        ring = next((r for r in read_jsonl(out / "dismissed.jsonl") if r.get("ring_id") == ring_id), None)
        if ring is None:
            raise GraphsleuthError(f"{out}: no ring {ring_id} in this run (see rings.jsonl)")
        members = sorted(str(a) for a in ring.get("account_ids", []))
    run = read_run_record(out)
    at = given_time(at, "--at")
    record = Verdict(
        ring_id=ring_id,
        verdict=verdict,
        at=at or _now(),
        by=by if by is not None else _user(),
        note=note or "",
        run_id=str(run.get("run_id") or ring.get("run_id") or ""),
        as_of=run.get("as_of"),
        size=len(members),
        score=ring.get("score"),
        members=tuple(members),
    )
    write_verdicts([*read_verdicts(out / "verdicts.jsonl"), record], out / "verdicts.jsonl")
    return record


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return ""
