"""Successors of banned rings: new accounts that come back with a banned ring's cards, proxies or prompts.

A banned operator returns with new accounts and reuses what it already has:
its cards and the issuers (BINs) it buys them from in bulk, its proxy IPs and
their subnets, its devices and phones, its prompt templates. An account
created after the ban (after the data the ban was given on) that reuses such
evidence is the banned ring's successor, at once, whether or not the new
accounts are enough to form a ring of their own.

A value is the ring's when at least half of the accounts that used it before
the ban were the ring's (BINs, IPs, subnets and templates also need two of
its accounts: one account's BIN is not a pattern). A card, a device, a phone
or another link is enough on its own; a BIN, an IP or subnet, and a template
each weigh half, so two of those three are needed together.
"""

from __future__ import annotations

import pandas as pd

from ..evidence import Evidence, subnet_of
from .verdicts import Verdict

__all__ = ["find_successors", "successor_summary", "successors_within", "SUCCESSOR_COLUMNS", "RING_HELD_SHARE", "WEIGHTS"]

#: A value is the ring's when at least this share of the accounts that used it before the ban were the ring's.
RING_HELD_SHARE = 0.5
#: What one reused value of each kind weighs; an account weighing 1 or more is a successor.
#: IPs and subnets are one kind (a proxy's IP and its subnet are the same reuse).
WEIGHTS = {"card": 1.0, "link": 1.0, "bin": 0.5, "network": 0.5, "template": 0.5}
#: Kinds that need two of the ring's accounts behind a value before it counts as the ring's.
_PATTERN_KINDS = ("bin", "network", "template")

#: successors.csv: the account, the banned ring, when the account was created, since when accounts count (the
#: data time of the run the ring was banned on), the weight of what it reuses, the kinds and the values reused.
SUCCESSOR_COLUMNS = ["account_id", "successor_of", "created_at", "since", "weight", "kinds", "reused"]


def _evidence_values(evidence: Evidence) -> list[tuple[str, str, pd.DataFrame]]:
    """(weight kind, label, frame of account_id and value) for every kind of evidence the tables hold."""
    out = []
    pay = evidence.payments
    if len(pay):
        out.append(("card", "card", pay[["account_id", "payment_id"]].set_axis(["account_id", "value"], axis=1)))
        if "bin" in pay.columns:
            out.append(("bin", "BIN", pay[["account_id", "bin"]].dropna().set_axis(["account_id", "value"], axis=1)))
    ips = evidence.ips
    if len(ips):
        pairs = ips[["account_id", "ip"]].drop_duplicates()
        out.append(("network", "IP", pairs.set_axis(["account_id", "value"], axis=1)))
        out.append(("network", "subnet", pd.DataFrame({"account_id": pairs["account_id"].to_numpy(), "value": subnet_of(pairs["ip"])})))
    prompts = evidence.prompts
    if len(prompts) and "template_id" in prompts.columns:
        pairs = prompts[["account_id", "template_id"]].dropna().drop_duplicates()
        out.append(("template", "template", pairs.set_axis(["account_id", "value"], axis=1)))
    links = evidence.links
    if len(links):
        for kind in sorted(links["kind"].astype(str).unique()):
            rows = links.loc[links["kind"].astype(str) == kind, ["account_id", "value"]]
            out.append(("link", kind, rows))
    return [(weight, label, frame.astype({"account_id": str, "value": str})) for weight, label, frame in out]


def find_successors(evidence: Evidence, banned: list[Verdict]) -> pd.DataFrame:
    """The successors of each banned ring in ``evidence``: one row per account and ring (:data:`SUCCESSOR_COLUMNS`).

    ``banned`` are the verdicts in force that banned a ring; each holds the
    ring's accounts and the data time (``as_of``) of the run it was banned on.
    ``reused`` says what each successor reuses (up to three values of each kind),
    e.g. ``card pm_1a2b; template t9f``; ``kinds`` names every kind it reuses.
    """
    if not banned or len(evidence.accounts) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in SUCCESSOR_COLUMNS})
    accounts = evidence.accounts
    ids = accounts["account_id"].astype(str)
    if "created_at" in accounts.columns:
        created = pd.Series(pd.to_datetime(accounts["created_at"], utc=True).to_numpy(), index=ids.to_numpy())
    else:
        created = pd.Series(pd.NaT, index=ids.to_numpy(), dtype="datetime64[ns, UTC]")
    values = _evidence_values(evidence)
    found = []
    for verdict in banned:
        since = pd.Timestamp(verdict.as_of or verdict.at)
        since = since.tz_localize("UTC") if since.tzinfo is None else since
        members = pd.Index(verdict.members)
        after = created.index[(created > since).to_numpy()].difference(members)
        if len(after) == 0:
            continue
        before = created.index[~(created > since).to_numpy()]  # an account without a creation time counts as older
        reuse = []
        for weight, label, frame in values:
            ring_rows = frame["account_id"].isin(members)
            ring_values = pd.unique(frame.loc[ring_rows, "value"])
            if len(ring_values) == 0:
                continue
            rows = frame[frame["value"].isin(ring_values)].drop_duplicates()
            older = rows[rows["account_id"].isin(before)]
            users = older.groupby("value").size()
            ring_users = older[older["account_id"].isin(members)].groupby("value").size().reindex(users.index, fill_value=0)
            least = 2 if weight in _PATTERN_KINDS else 1
            held = users.index[(ring_users >= least) & (ring_users >= RING_HELD_SHARE * users)]
            taken = rows[rows["account_id"].isin(after) & rows["value"].isin(held)]
            if len(taken):
                reuse.append(taken.assign(kind=weight, label=label))
        if not reuse:
            continue
        reuse = pd.concat(reuse, ignore_index=True).sort_values(["account_id", "kind", "label", "value"])
        weight = reuse.drop_duplicates(["account_id", "kind"]).assign(w=lambda f: f["kind"].map(WEIGHTS)).groupby("account_id")["w"].sum()
        successors = weight.index[weight >= 1.0 - 1e-9]
        if len(successors) == 0:
            continue
        reuse = reuse[reuse["account_id"].isin(successors)]
        shown = reuse.groupby(["account_id", "label"], sort=False).head(3)  # up to three values of each kind
        said = (shown["label"] + " " + shown["value"]).groupby(shown["account_id"]).agg("; ".join)
        kinds = reuse.drop_duplicates(["account_id", "label"]).groupby("account_id")["label"].agg(",".join)
        found.append(
            pd.DataFrame(
                {
                    "account_id": successors.to_numpy(),
                    "successor_of": verdict.ring_id,
                    "created_at": [_iso(created[a]) for a in successors],
                    "since": verdict.as_of or verdict.at,
                    "weight": weight.reindex(successors).round(2).to_numpy(),
                    "kinds": kinds.reindex(successors).to_numpy(),
                    "reused": said.reindex(successors).to_numpy(),
                }
            )
        )
    if not found:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in SUCCESSOR_COLUMNS})
    return (
        pd.concat(found, ignore_index=True).sort_values(["successor_of", "created_at", "account_id"], kind="stable").reset_index(drop=True)
    )


def successor_summary(successors: pd.DataFrame, ring_id: str, limit: int = 10) -> dict | None:
    """What a banned ring's record says of its successors: how many, since when, what they reuse, the first few."""
    mine = successors[successors["successor_of"] == ring_id]
    if len(mine) == 0:
        return None
    counts = mine["kinds"].str.split(",").explode().value_counts().sort_index()
    return {
        "accounts": int(len(mine)),
        "since": str(mine["since"].iloc[0]),
        "reusing": {str(k): int(v) for k, v in counts.items()},
        "first": mine.sort_values(["created_at", "account_id"])["account_id"].head(limit).tolist(),
    }


def successors_within(successors: pd.DataFrame, account_ids) -> dict | None:
    """For a ring most of whose accounts are a banned ring's successors: which ring, and how many of them."""
    inside = successors[successors["account_id"].isin(pd.Index(account_ids))]
    if len(inside) == 0:
        return None
    per_ring = inside.groupby("successor_of").size().sort_values(ascending=False, kind="stable")
    if per_ring.iloc[0] < 0.5 * len(account_ids):
        return None
    return {"successor_of": str(per_ring.index[0]), "accounts": int(per_ring.iloc[0])}


def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
