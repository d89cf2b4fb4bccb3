"""Runs over time: a run's rings matched to the previous run's by their accounts, so that a ring keeps its id.

Detection names a ring after its accounts, so a ring that gains one account
would get a new id on every run. Here each ring of this run is matched to the
rings the previous run tracked (its flagged rings and the dismissed rings it
held back): a ring *continues* a previous one when they share at least half
their accounts together (Jaccard >= 0.5) or when 70% of the smaller lies in
the larger (containment >= 0.7), or, for a ring still forming whose accounts
change by half from run to run, when the two are each other's largest overlap
and share a third of their accounts together. When several rings continue one previous
ring (a split) or one ring continues several (a merge), the pair with the
largest overlap keeps the id; the others say where they came from in their
lineage. Previous rings whose id nobody kept are *gone*, listed with what
became of their accounts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..detection.findings import Findings, Lineage
from ..errors import GraphsleuthError, InputError
from ..evidence import Evidence

__all__ = [
    "PreviousRun",
    "RingMatch",
    "RingChange",
    "read_previous_run",
    "read_run_members",
    "read_run_record",
    "run_evidence",
    "match_rings",
    "gone_rings",
    "latest_time",
    "given_time",
    "iso_time",
    "CONTINUES_JACCARD",
    "CONTINUES_CONTAINMENT",
    "MUTUAL_JACCARD",
]

#: A ring continues a previous one when their accounts' Jaccard similarity reaches this...
CONTINUES_JACCARD = 0.5
#: ...or when this share of the smaller ring's accounts is in the larger one...
CONTINUES_CONTAINMENT = 0.7
#: ...or when each is the other's largest overlap and their Jaccard similarity reaches this.
MUTUAL_JACCARD = 1 / 3


def iso_time(value) -> str | None:
    """A time as graphsleuth writes it (``2026-03-01T04:05:06Z``); None for a missing one."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def given_time(value: str | None, option: str = "--as-of") -> str | None:
    """A time given by the user, as graphsleuth writes it; a one-line error naming ``option`` when it is not a time."""
    if value is None:
        return None
    try:
        return iso_time(value)
    except (ValueError, TypeError):
        raise GraphsleuthError(f"{option} must be an ISO-8601 time such as 2026-03-01T00:00:00Z, got {value!r}") from None


def latest_time(evidence: Evidence) -> str | None:
    """The latest time the evidence holds (accounts created, IPs seen, prompts sent): the run's ``as_of``.

    It depends on the data alone, so the same evidence gives the same run
    record and the same ring times whenever and wherever it is run.
    """
    candidates = []
    for table, column in (("accounts", "created_at"), ("ips", "first_seen"), ("ips", "last_seen"), ("prompts", "ts")):
        frame = evidence.table(table)
        if column in frame.columns and len(frame):
            value = frame[column].max()
            if not pd.isna(value):
                candidates.append(pd.Timestamp(value))
    return iso_time(max(candidates)) if candidates else None


@dataclass(frozen=True)
class RingChange:
    """A ring of the previous run that no ring of this run continues, and what became of its accounts.

    ``change`` is ``merged_into`` (its accounts are now mostly in ``into``, which kept another id)
    or ``gone``; ``accounts_now`` counts its accounts by where they are now.
    """

    ring_id: str
    change: str
    into: tuple[str, ...]
    accounts: int
    first_seen: str | None
    last_seen: str | None
    accounts_now: dict

    def to_dict(self) -> dict:
        return {
            "ring_id": self.ring_id,
            "change": self.change,
            "into": list(self.into),
            "accounts": self.accounts,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "accounts_now": self.accounts_now,
        }


@dataclass(frozen=True)
class PreviousRun:
    """What a later run needs of an earlier one's output: its tracked rings' accounts, their times, its verdicts.

    ``members`` (account_id, ring_id) holds the accounts of every ring the run
    tracked: those it flagged and the dismissed ones it held back.
    """

    out: Path
    run_id: str
    as_of: str | None
    members: pd.DataFrame
    first_seen: dict[str, str | None]
    verdicts: list = field(default_factory=list)
    record: dict = field(default_factory=dict)


def read_run_members(out: Path) -> pd.DataFrame:
    """The members table a detect run wrote (members.csv, .parquet or .jsonl) as account_id, ring_id text."""
    for name in ("members.csv", "members.parquet", "members.jsonl"):
        path = out / name
        if not path.is_file():
            continue
        if name.endswith(".csv"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif name.endswith(".parquet"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True, dtype={"account_id": str, "ring_id": str})
        for column in ("account_id", "ring_id"):
            if column not in frame.columns and len(frame):
                raise InputError(str(path), f"missing column {column}", column=column)
        if len(frame) == 0:
            return pd.DataFrame({"account_id": pd.Series([], dtype=str), "ring_id": pd.Series([], dtype=str)})
        return pd.DataFrame({"account_id": frame["account_id"].astype(str), "ring_id": frame["ring_id"].astype(str)})
    raise InputError(str(out / "members.csv"), "missing file: not the output of graphsleuth detect")


def read_run_record(out: Path) -> dict:
    """run.json of the detect run in ``out`` ({} for a run written before there was one); not JSON is bad input."""
    path = out / "run.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not a JSON record: {exc.msg}") from None


def run_evidence(out: Path, run: dict, evidence: Evidence | None) -> Evidence:
    """``evidence`` when given, else the evidence directory the run in ``out`` read (run.json says where), read leniently."""
    if evidence is not None:
        return evidence
    from ..evidence import read_evidence

    where = run.get("evidence")
    if not where or not Path(where).is_dir():
        raise InputError(
            str(out / "run.json"), f"the run's evidence directory {where!r} is not there: give the evidence", column="evidence"
        )
    return read_evidence(where, lenient=True)


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file graphsleuth wrote; a bad line is an error naming file and row."""
    records = []
    if not path.is_file():
        return records
    with open(path, encoding="utf-8") as fh:
        for row, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(str(path), f"not a JSON record: {exc.msg}", row=row) from None
            if not isinstance(record, dict):
                raise InputError(str(path), "not a JSON object", row=row)
            records.append(record)
    return records


def read_previous_run(out: str | Path) -> PreviousRun:
    """Read the output directory of an earlier ``graphsleuth detect`` run, for ``--previous``."""
    from .verdicts import read_verdicts

    out = Path(out)
    if not out.is_dir():
        raise InputError(str(out), "no such directory: --previous takes the output directory of an earlier detect run")
    members = read_run_members(out)
    record = read_run_record(out)
    as_of = record.get("as_of")
    first_seen = {}
    run_id = record.get("run_id", "")
    for row, ring in enumerate(read_jsonl(out / "rings.jsonl"), start=1):
        if "ring_id" not in ring:
            raise InputError(str(out / "rings.jsonl"), "missing field ring_id", row=row, column="ring_id")
        first_seen[str(ring["ring_id"])] = ring.get("first_seen") or as_of
        run_id = run_id or str(ring.get("run_id", ""))
    held = []
    for row, ring in enumerate(read_jsonl(out / "dismissed.jsonl"), start=1):
        if "ring_id" not in ring or not isinstance(ring.get("account_ids"), list):
            raise InputError(str(out / "dismissed.jsonl"), "expected ring_id and account_ids", row=row)
        first_seen[str(ring["ring_id"])] = ring.get("first_seen") or as_of
        held.append(pd.DataFrame({"account_id": [str(a) for a in ring["account_ids"]], "ring_id": str(ring["ring_id"])}))
    if held:
        members = pd.concat([members, *held], ignore_index=True)
    return PreviousRun(
        out=out,
        run_id=run_id,
        as_of=as_of,
        members=members,
        first_seen=first_seen,
        verdicts=read_verdicts(out / "verdicts.jsonl"),
        record=record,
    )


@dataclass(frozen=True)
class RingMatch:
    """How this run's rings (by detection's id) relate to the previous run's.

    ``ids`` gives each ring the id it goes by (a previous id it continues, or its
    own); ``lineage`` says where it came from; ``gone`` lists the previous rings
    no ring continues, ``into`` the rings (by the id they go by) that took their accounts.
    """

    ids: dict[str, str]
    lineage: dict[str, Lineage]
    came_from: dict[str, tuple[str, ...]]
    gone: tuple[str, ...]
    into: dict[str, tuple[str, ...]]


def match_rings(current: pd.DataFrame, previous: pd.DataFrame | None) -> RingMatch:
    """Match this run's rings to the previous run's by their accounts (both: account_id, ring_id)."""
    now_size = current.groupby("ring_id").size()
    if previous is None or len(previous) == 0:
        lineage = {r: Lineage("new", (), int(n), 0) for r, n in now_size.items()}
        return RingMatch({r: r for r in now_size.index}, lineage, {r: () for r in now_size.index}, (), {})
    before_size = previous.groupby("ring_id").size()
    pairs = (
        current.merge(previous, on="account_id", suffixes=("_now", "_before"))
        .groupby(["ring_id_now", "ring_id_before"])
        .size()
        .rename("overlap")
        .reset_index()
    )
    now = now_size.reindex(pairs["ring_id_now"]).to_numpy()
    before = before_size.reindex(pairs["ring_id_before"]).to_numpy()
    overlap = pairs["overlap"].to_numpy()
    pairs["jaccard"] = overlap / (now + before - overlap)
    pairs["containment"] = overlap / np.minimum(now, before)
    strict = pairs[(pairs["jaccard"] >= CONTINUES_JACCARD) | (pairs["containment"] >= CONTINUES_CONTAINMENT)]
    # A ring still forming changes half its accounts from run to run: where a ring and a previous
    # ring are each other's largest overlap and share a third of their accounts, it continues too.
    best_now = pairs.sort_values(["overlap", "ring_id_before"], ascending=[False, True]).drop_duplicates("ring_id_now")
    best_before = pairs.sort_values(["overlap", "ring_id_now"], ascending=[False, True]).drop_duplicates("ring_id_before")
    mutual = best_now.merge(best_before[["ring_id_now", "ring_id_before"]], on=["ring_id_now", "ring_id_before"])
    links = pd.concat([strict, mutual[mutual["jaccard"] >= MUTUAL_JACCARD]]).drop_duplicates(["ring_id_now", "ring_id_before"])
    # The largest overlap keeps the id; ties go to the closer pair, then to the ids' order.
    links = links.sort_values(["overlap", "jaccard", "ring_id_before", "ring_id_now"], ascending=[False, False, True, True])
    kept: dict[str, str] = {}  # ring now -> previous id it keeps
    taken: set[str] = set()
    for now_id, before_id in zip(links["ring_id_now"], links["ring_id_before"]):
        if now_id not in kept and before_id not in taken:
            kept[now_id] = before_id
            taken.add(before_id)
    linked: dict[str, list[str]] = {}
    for now_id, before_id in zip(links["ring_id_now"], links["ring_id_before"]):
        linked.setdefault(now_id, []).append(before_id)
    overlap_of = {(a, b): int(n) for a, b, n in zip(pairs["ring_id_now"], pairs["ring_id_before"], pairs["overlap"])}
    ids, lineage, came_from = {}, {}, {}
    for now_id, size in now_size.items():
        size = int(size)
        own = kept.get(now_id)
        others = [b for b in linked.get(now_id, []) if b != own]
        if own is not None:
            merged = [b for b in others if b not in taken]
            rings = (own, *sorted(merged))
            change = "merged_from" if merged else None
        else:
            rings = tuple(sorted(linked.get(now_id, [])))
            change = "split_from" if rings else "new"
        inside = sum(overlap_of.get((now_id, b), 0) for b in rings)
        added = size - inside
        removed = int(sum(before_size[b] for b in rings)) - inside
        if change is None:
            change = "same" if added == removed == 0 else ("grown" if added >= removed else "shrunk")
        ids[now_id] = own if own is not None else now_id
        lineage[now_id] = Lineage(change, rings, int(added), int(removed))
        came_from[now_id] = rings
    gone = tuple(sorted(set(before_size.index) - taken))
    into = {}
    for before_id in gone:
        targets = links.loc[links["ring_id_before"] == before_id, "ring_id_now"]
        into[before_id] = tuple(ids[t] for t in targets)
    return RingMatch(ids, lineage, came_from, gone, into)


def gone_rings(
    match: RingMatch,
    previous: PreviousRun,
    findings: Findings,
    evidence: Evidence,
    held: pd.DataFrame | None = None,
) -> list[RingChange]:
    """The previous run's rings that no ring continues, with what became of their accounts.

    ``findings`` is this run's, ring ids already as they go by; ``held``
    (account_id, ring_id) the accounts of dismissed rings this run held back.
    """
    if not match.gone:
        return []
    before = previous.members[previous.members["ring_id"].isin(match.gone)]
    where = before[["account_id", "ring_id"]].rename(columns={"ring_id": "before"})
    now = findings.members[["account_id", "ring_id"]].rename(columns={"ring_id": "ring"})
    where = where.merge(now, on="account_id", how="left")
    if held is not None and len(held):
        where = where.merge(held.rename(columns={"ring_id": "dismissed"}), on="account_id", how="left")
    else:
        where["dismissed"] = np.nan
    unflagged = [c for c in findings.clusters if not c.flagged]
    if unflagged:
        in_cluster = np.concatenate([np.asarray(c.account_ids, dtype=object) for c in unflagged])
        where["in_cluster"] = where["account_id"].isin(pd.unique(in_cluster))
    else:
        where["in_cluster"] = False
    where["in_evidence"] = where["account_id"].isin(evidence.accounts["account_id"].astype(str))
    changes = []
    for ring_id, group in where.groupby("before", sort=True):
        in_rings = group["ring"].dropna().value_counts()
        dismissed = group["dismissed"].dropna().value_counts()
        rest = group[group["ring"].isna() & group["dismissed"].isna()]
        accounts_now = {
            "in_rings": {str(k): int(v) for k, v in sorted(in_rings.items())},
            "in_dismissed_rings": {str(k): int(v) for k, v in sorted(dismissed.items())},
            "in_clusters_not_flagged": int((rest["in_cluster"] & rest["in_evidence"]).sum()),
            "in_no_cluster": int((~rest["in_cluster"] & rest["in_evidence"]).sum()),
            "no_longer_in_evidence": int((~rest["in_evidence"]).sum()),
        }
        into = match.into.get(ring_id, ())
        changes.append(
            RingChange(
                ring_id=str(ring_id),
                change="merged_into" if into else "gone",
                into=tuple(into),
                accounts=int(len(group)),
                first_seen=previous.first_seen.get(ring_id),
                last_seen=previous.as_of,
                accounts_now=accounts_now,
            )
        )
    return changes
