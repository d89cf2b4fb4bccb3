"""Shared indicators: a run's rings as a STIX 2.1 bundle that a partner can match against its own traffic.

One Grouping (context ``suspicious-activity``) per ring, its description the
ring's explanation, over one Indicator per piece of evidence the ring holds:
a card, BIN, IP, subnet, template or device that at least two of its accounts
share and that the ring's accounts make up at least half the users of (an
IP the ring shares with thousands of strangers is no indicator). Every value
is a keyed pseudonym (:func:`~.pseudonyms.pseudonym`, the key as
``--pseudonymise`` takes it): no personal data leaves, and a partner holding
the same key computes the same pseudonyms over its own evidence and matches
them. Built and checked with the ``stix2`` library; ids and times follow the
run, so the same run and key give the same bundle.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd

from ..errors import GraphsleuthError, InputError
from ..evidence import Evidence
from .pseudonyms import pseudonym

__all__ = ["indicator_bundle", "write_indicators", "INDICATOR_OBJECT", "HELD_SHARE"]

#: The custom observable type of the indicators' patterns: ``[x-graphsleuth-evidence:kind = 'card' AND ...]``.
INDICATOR_OBJECT = "x-graphsleuth-evidence"
#: A value is the ring's indicator when at least this share of the accounts using it are the ring's.
HELD_SHARE = 0.5
#: At most this many indicators of each kind per ring, the most shared first.
PER_KIND = 50
_NAMESPACE = uuid.UUID("6f1d3c2e-5b1a-4c1e-9a77-67736c757468")
_KIND = {"card": "card", "BIN": "bin", "IP": "ip", "subnet": "subnet", "template": "template"}


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, chr(31).join(parts))}"


def _held_values(evidence: Evidence, members: pd.Index, users: pd.Series) -> pd.DataFrame:
    """kind, value, accounts (the ring's), users (everyone's): the evidence the ring holds, most shared first."""
    from .report_figures import ring_evidence_pairs

    pairs = ring_evidence_pairs(evidence, members)
    if len(pairs) == 0:
        return pd.DataFrame({"kind": [], "value": [], "accounts": [], "users": []})
    held = pairs.groupby(["kind", "value"]).size().rename("accounts").reset_index()
    held["users"] = users.reindex(pd.MultiIndex.from_frame(held[["kind", "value"]])).to_numpy()
    held = held[held["accounts"] >= HELD_SHARE * held["users"]]
    held = held.sort_values(["kind", "accounts", "value"], ascending=[True, False, True])
    return held.groupby("kind", sort=True).head(PER_KIND).reset_index(drop=True)


def indicator_bundle(rings: list[dict], members: pd.DataFrame, evidence: Evidence, key: bytes, run: dict):
    """The STIX 2.1 bundle of ``rings`` (their rings.jsonl records) and their accounts (account_id, ring_id)."""
    import stix2

    when = run.get("as_of") or "1970-01-01T00:00:00Z"
    run_id = str(run.get("run_id") or "")
    identity = stix2.Identity(
        id=_id("identity", "graphsleuth"),
        name="graphsleuth",
        identity_class="system",
        description="Finds rings of fake accounts that share cards, IPs and prompt templates",
        created="2026-01-01T00:00:00Z",
        modified="2026-01-01T00:00:00Z",
    )
    from .report_figures import ring_evidence_pairs

    objects = [identity]
    seen: dict[str, object] = {}
    # How many accounts use each shared value, over the whole evidence, counted once for every ring.
    users = ring_evidence_pairs(evidence, pd.Index(evidence.accounts["account_id"].astype(str))).groupby(["kind", "value"]).size()
    for ring in rings:
        ring_id = ring["ring_id"]
        accounts = pd.Index(members.loc[members["ring_id"] == ring_id, "account_id"].astype(str))
        held = _held_values(evidence, accounts, users)
        refs = []
        for kind, value, count, total in zip(held["kind"], held["value"], held["accounts"], held["users"]):
            stix_kind = _KIND.get(kind, kind)
            hashed = pseudonym(key, value, stix_kind)
            indicator_id = _id("indicator", stix_kind, hashed)
            if indicator_id not in seen:
                seen[indicator_id] = stix2.Indicator(
                    id=indicator_id,
                    created_by_ref=identity.id,
                    created=ring.get("first_seen") or when,
                    modified=when,
                    name=f"{kind} shared by accounts of a ring of fake accounts (keyed pseudonym)",
                    description=f"{int(count)} of the {int(total)} accounts using this {kind} are in ring {ring_id}.",
                    indicator_types=["malicious-activity"],
                    pattern_type="stix",
                    pattern=f"[{INDICATOR_OBJECT}:kind = '{stix_kind}' AND {INDICATOR_OBJECT}:keyed_hash = '{hashed}']",
                    valid_from=ring.get("first_seen") or when,
                    labels=[f"graphsleuth-{stix_kind}"],
                )
            refs.append(indicator_id)
        if not refs:
            continue
        objects.append(
            stix2.Grouping(
                id=_id("grouping", run_id, ring_id),
                created_by_ref=identity.id,
                created=ring.get("first_seen") or when,
                modified=when,
                name=f"graphsleuth ring {ring_id} ({ring.get('size', len(accounts))} accounts, score {ring.get('score', 0):.2f})",
                description=ring.get("explanation") or "",
                context="suspicious-activity",
                object_refs=list(dict.fromkeys(refs)),
                labels=[f"verdict-{ring['verdict']['verdict']}"] if ring.get("verdict") else None,
            )
        )
    objects[1:1] = list(seen.values())
    return stix2.Bundle(id=_id("bundle", run_id, *(r["ring_id"] for r in rings)), objects=objects)


def write_indicators(
    out: str | Path,
    indicators_file: str | Path,
    key: bytes,
    *,
    ring: str | None = None,
    evidence: Evidence | None = None,
) -> int:
    """Write the STIX bundle of the rings of the run in ``out`` (or of ``ring``) to ``indicators_file``; the groupings written."""
    from ..investigation.runs import read_jsonl, read_run_members, read_run_record, run_evidence
    from .report import _write_file

    out = Path(out)
    if not (out / "rings.jsonl").is_file():
        raise InputError(str(out / "rings.jsonl"), "missing file: give the output directory of graphsleuth detect")
    rings = read_jsonl(out / "rings.jsonl")
    if ring is not None:
        rings = [r for r in rings if r.get("ring_id") == ring]
        if not rings:
            raise GraphsleuthError(f"{out}: no ring {ring} in this run (see rings.jsonl)")
    run = read_run_record(out)
    evidence = run_evidence(out, run, evidence)
    bundle = indicator_bundle(rings, read_run_members(out), evidence, key, run)
    _write_file(Path(indicators_file), bundle.serialize(pretty=True) + "\n")
    return sum(1 for o in bundle.objects if o.type == "grouping")
