"""A suspected ring's record, and why it was flagged (or why a cluster was not), in plain words.

The wording follows the same constants as the score (:mod:`.scoring`): a
signal is named in an explanation from the level at which it counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..evidence import Evidence, subnet_of
from .findings import PeakDay, Ring, SharedEvidence, SharedValue
from .graph import EvidenceGraph
from .model import ring_model
from .organisations import ORGANISATION_NAMED, organisation_excuse, scripted_seats, sends_ring_tooling
from .scoring import SIGNAL_LEVELS, SIGNALS_NEEDED, WEAK_COORDINATION, platform_users

__all__ = ["ring_record", "why_not_flagged", "explain_ring"]

_NOTHING_SHARED = SharedEvidence(0, 0, ())


def _top(values: pd.Series, limit: int = 5) -> tuple[SharedValue, ...]:
    counts = values.value_counts()
    counts = counts[counts >= 2].head(limit)
    return tuple(SharedValue(str(k), int(v)) for k, v in counts.items())


def _shared(frame: pd.DataFrame, column: str, rows: np.ndarray | None = None) -> SharedEvidence:
    """Distinct values of ``column`` among a ring's ``rows`` (a mask; None: all), how many are shared, and the top ones."""
    pair = ["account_id", column]  # only the two columns are taken: a ring's rows of every column cost 3 times as much
    sub = (frame[pair] if rows is None else frame.loc[rows, pair]).drop_duplicates(pair)
    values = sub[column].dropna().astype(str)
    counts = values.value_counts()
    return SharedEvidence(int(len(counts)), int((counts >= 2).sum()), _top(values))


def _ring_rows(evidence: Evidence, name: str, in_ring: np.ndarray) -> np.ndarray:
    """Mask of the rows of table ``name`` whose account is in the ring (``in_ring``: one flag per account position)."""
    positions = evidence.account_positions(name)
    return (positions >= 0) & in_ring[positions]


def ring_record(evidence: Evidence, graph: EvidenceGraph, positions: np.ndarray, row, features: dict, ring_id: str, own_templates) -> Ring:
    """The record of one suspected ring: shared evidence, time spans, plain-words reason.

    ``positions`` are the members' positions in the graph's accounts, whose rows
    in each table are found through the tables' account positions rather than by
    looking millions of account ids up again for every ring. ``row`` is the
    ring's row of the cluster scores.
    """
    pay, ips, prompts, links = evidence.payments, evidence.ips, evidence.prompts, evidence.links
    in_ring = np.zeros(graph.n_accounts, dtype=bool)
    in_ring[positions] = True
    pay_rows = _ring_rows(evidence, "payments", in_ring)
    shared = {"cards": _shared(pay, "payment_id", pay_rows)}
    if "bin" in pay.columns:
        shared["bins"] = _shared(pay, "bin", pay_rows)
    ip_rows = _ring_rows(evidence, "ips", in_ring)
    shared["ips"] = _shared(ips, "ip", ip_rows)
    ring_ips = ips.loc[ip_rows, ["account_id", "ip"]]
    shared["subnets"] = _shared(ring_ips.assign(subnet=subnet_of(ring_ips["ip"])), "subnet") if len(ring_ips) else _NOTHING_SHARED
    prompt_rows = _ring_rows(evidence, "prompts", in_ring)
    if "template_id" in prompts.columns:
        shared["templates"] = _shared(prompts, "template_id", prompt_rows)
    link_rows = _ring_rows(evidence, "links", in_ring)
    for kind in sorted(links["kind"].astype(str).unique()) if len(links) else []:
        shared[kind] = _shared(links, "value", link_rows & (links["kind"] == kind).to_numpy())
    if "created_at" in evidence.accounts.columns:
        created = evidence.accounts.loc[_ring_rows(evidence, "accounts", in_ring), "created_at"]
    else:
        created = pd.Series(dtype="datetime64[ns, UTC]")
    activity = prompts.loc[prompt_rows, [c for c in ("count", "ts") if c in prompts.columns]]
    created_from, created_to = _iso(created.min()), _iso(created.max())
    n_own = 0
    if own_templates is not None and len(own_templates):
        n_own = int((own_templates["cluster"] == row.cluster).sum())
    explanation, reasons = explain_ring(row, int(len(positions)), created_from, created_to, n_own)
    return Ring(
        ring_id=ring_id,
        size=int(len(positions)),
        score=float(row.score),
        evidence=shared,
        created_from=created_from,
        created_to=created_to,
        creation_burst_share=round(float(row.burst_share), 4),
        requests=int(activity["count"].sum()) if len(activity) else 0,
        active_from=_iso(activity["ts"].min()) if "ts" in activity.columns else None,
        active_to=_iso(activity["ts"].max()) if "ts" in activity.columns else None,
        peak_day=_peak_day(activity),
        features=features,
        explanation=explanation,
        reasons=reasons,
    )


def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _peak_day(activity: pd.DataFrame) -> PeakDay | None:
    if "ts" not in activity.columns or activity["ts"].isna().all() or len(activity) == 0:
        return None
    per_day = activity.groupby(activity["ts"].dt.floor("D"))["count"].sum()
    day = per_day.idxmax()
    return PeakDay(day.strftime("%Y-%m-%d"), int(per_day.max()), round(float(per_day.max() / per_day.sum()), 4))


#: A feature is named as a reason from this level (the level at which it counts as a signal, or at
#: which a member shows it); below, saying it would claim more than the data shows.
NAMED_FROM = {
    "template_share": WEAK_COORDINATION,
    "template_coordination": SIGNAL_LEVELS["lockstep_share"],
    "lockstep_share": WEAK_COORDINATION,
    "burst_share": SIGNAL_LEVELS["burst_share"],
    "card_sharing": 1e-9,
    "bin_concentration": SIGNAL_LEVELS["payment"],
    "network_share": SIGNAL_LEVELS["network"],
    "volume": 0.25,
}
#: The model's inputs that a named feature's reason stands for, when more than the feature itself.
MODEL_TERMS = {"network_share": ("network_share", "network_without_organisation", "network_at_scale")}
#: Event share from which a cluster not flagged is said to look like an event's participants.
EVENT_NAMED = 0.75
#: Template exclusivity from which a ring's own templates are said to be sent by few accounts outside it.
FEW_OUTSIDE = 0.5


def explain_ring(row, size: int, created_from: str | None, created_to: str | None, own_templates: int) -> tuple[str, tuple[str, ...]]:
    """Why the cluster ``row`` was flagged: the whole explanation, and its reasons alone.

    The reasons are the features that added to the fitted score, the largest term
    first, each said only from the level at which it counts (:data:`NAMED_FROM`);
    features that lowered the score (an organisation's domain, accounts created
    over months) are said after them.
    """
    model = ring_model()
    table = pd.DataFrame([row._asdict()])
    terms = model.contributions(table).iloc[0]
    reasons = []
    for name, level in NAMED_FROM.items():
        value = float(getattr(row, name, 0.0))
        term = sum(terms.get(input_name, 0.0) for input_name in MODEL_TERMS.get(name, (name,)))
        if value >= level and term > 0:
            reasons.append((term, _reason(name, row, created_from, created_to, own_templates)))
    reasons.sort(key=lambda r: -r[0])
    said = tuple(r[1] for r in reasons)
    text = f"{size} linked accounts (score {row.score:.2f}): " + "; ".join(said)
    excused, off_hours = (flag.iloc[0] for flag in organisation_excuse(table))
    if row.organisation_share >= ORGANISATION_NAMED and not excused:  # off hours is never excused
        text += f"; {row.organisation_share:.0%} are on organisations' email domains, yet {_unlike_staff(row, table, off_hours)}"
    elif any(terms.get(name, 0.0) < 0 for name in ("organisation_share", "organisation_long_lived", "organisation_office_hours")):
        text += f"; {row.organisation_share:.0%} are on organisations' email domains, which lowered the score"
    if terms.get("invoiced_share", 0.0) < 0:
        text += f"; {row.invoiced_share:.0%} are billed by invoice, which lowered the score"
    if any(terms.get(name, 0.0) < 0 for name in ("one_event", "event_then_ordinary", "activity_in_two_days")):
        text += (
            f"; {row.event_share:.0%} of their template use and {1.0 - row.after_event_share:.0%} of all their activity "
            f"fell within two days{_made_for_it(row)}, as at an event, which lowered the score"
        )
    return text + ".", said


def _unlike_staff(row, table: pd.DataFrame, off_hours: bool) -> str:
    """What contradicts the excuse of a cluster on organisations' domains (:func:`.organisations.organisation_excuse`),
    said as what a company's staff or tools do not do: its hours, every seat on the same templates, a flagged
    ring's templates, or its volume (``table``: the row as a one-row table, as the rules read it)."""
    if off_hours:
        return (
            f"only {row.office_hours_share:.0%} of their requests fall in office hours in their countries, "
            "which a company's staff do not do"
        )
    if scripted_seats(table).iloc[0]:
        return (
            f"{row.seats_sending:.0%} of the seats their organisation pays for send the group's own templates, all alike, "
            "which a company's staff do not do"
        )
    if sends_ring_tooling(table).iloc[0]:
        return (
            f"{row.ring_tooling_share:.0%} of their requests use templates that other suspected rings send as their own, "
            "which a company's own tools are not"
        )
    # in office hours, with its own tools: its volume contradicts it
    return f"their typical account sends {10 ** (2 * row.volume):.0f} times the requests of a typical account, which a company's staff do not do"


def _made_for_it(row) -> str:
    """How many of a group's accounts were created for the two days it was busiest (said when most were)."""
    share = getattr(row, "created_at_event", float("nan"))
    return f", for which {share:.0%} of the accounts were created" if share >= 0.5 else ""


def _reason(name: str, row, created_from: str | None, created_to: str | None, own_templates: int) -> str:
    """One reason in plain words: what the cluster does that the population at large does not."""
    if name == "template_share":
        few = (
            " that few accounts outside the group send"
            if row.template_exclusivity >= FEW_OUTSIDE
            else " far more than accounts at large do"
        )
        return f"{row.template_share:.0%} of their requests use {own_templates} prompt templates{few}"
    if name == "template_coordination":
        return f"{row.template_coordination:.0%} of the accounts that send their templates send them in waves: the same template in the same hour from many accounts"
    if name == "lockstep_share":
        return f"{row.lockstep_share:.0%} of their activity came in lockstep: the same template in the same hour from several of them"
    if name == "burst_share":
        return (
            f"{row.burst_share:.0%} of the accounts were created in bursts, within hours of many others "
            f"(between {(created_from or '')[:10]} and {(created_to or '')[:10]})"
        )
    if name == "card_sharing":
        return f"they pay with {int(row.cards)} cards, {row.accounts_per_card:.1f} accounts per card"
    if name == "bin_concentration":
        return f"{row.bin_concentration:.0%} of their {int(row.cards)} cards come from {int(row.ring_bins)} issuer BINs that few other accounts use"
    if name == "network_share":
        return f"{row.network_share:.0%} of them connect from IP addresses or subnets that few accounts outside the group use"
    if name == "volume":
        return f"their typical account sends {10 ** (2 * row.volume):.0f} times the requests of a typical account"
    raise ValueError(name)


def why_not_flagged(row, platform: bool | None = None) -> str:
    """Why a cluster was seen but not flagged, in plain words (``platform``: whether its accounts are a platform's
    users, :func:`.scoring.platform_users`, when the caller found it for many clusters at once)."""
    if row.organisation_share >= ORGANISATION_NAMED:
        return f"{row.organisation_share:.0%} are on organisations' email domains and coordination is weak (score {row.score:.2f})"
    if row.event_share >= EVENT_NAMED:
        return (
            f"{row.event_share:.0%} of their template use fell within two days{_made_for_it(row)} and "
            f"{row.after_event_share:.0%} of their activity came outside them, as at an event (score {row.score:.2f})"
        )
    if platform is None:
        platform = row.signals < 2 and bool(platform_users(pd.DataFrame([row._asdict()])).iloc[0])
    if row.signals < 2 and platform:
        return (
            f"templates of their own from addresses of their own, but the accounts were made one by one over half a year "
            f"or more, with no lockstep, burst or payment pattern, as a platform's users are (score {row.score:.2f})"
        )
    parts = []
    if (
        row.template_share < WEAK_COORDINATION
        and row.lockstep_share < WEAK_COORDINATION
        and row.template_coordination < SIGNAL_LEVELS["lockstep_share"]
    ):
        parts.append("no templates of their own and no lockstep activity")
    if row.burst_share < SIGNAL_LEVELS["burst_share"]:
        parts.append("accounts created over time, not in bursts")
    if row.payment < SIGNAL_LEVELS["payment"]:
        parts.append("ordinary payment pattern")
    strength = getattr(row, "signal_strength", float(row.signals))
    if row.score >= ring_model().threshold and (row.signals < 1 or strength < SIGNALS_NEEDED):
        detail = "; ".join(parts) if parts else "the one kind of signal it shows has innocent explanations"
        return f"score {row.score:.2f}, but its signals are worth {strength:.1f} of the two kinds a ring needs: {detail}"
    if row.signals < 2 and not parts:
        parts.append("one kind of signal only")
    detail = "; ".join(parts) if parts else "signals too weak together"
    return f"score {row.score:.2f} below the threshold: {detail}"
