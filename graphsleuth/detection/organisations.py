"""Organisations: which email domains are a company's or a university's, and what that explains.

A cluster whose members sit on one organisation's domain is explained as that organisation: its
card, its office network and the days it onboarded its seats are what a company has. The excuse
holds while its seats work as staff (office hours, measured against the population's own
organisation seats; an ordinary account's volume), or while the provider bills it by invoice.
Scoring (:mod:`.scoring`) asks this module for the clusters' organisation share, the excuse, and
the seats among a flagged cluster's members.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..evidence import Evidence, arrow_text
from .features import account_office_hours_share, held_beyond_chance
from .graph import EvidenceGraph

__all__ = [
    "organisation_domains",
    "account_domains",
    "seated_accounts",
    "organisation_share",
    "organisation_excuse",
    "off_hours_organisation",
    "heavy_off_hours",
    "keeps_office_hours",
    "off_hours_line",
    "off_hours_members",
    "network_members",
    "ORGANISATION_NAMED",
    "STAFF_VOLUME",
    "INVOICED_CHECKED",
    "GREW_OVER",
    "grown_organisation",
    "RING_TOOLING",
    "ring_tooling_share",
    "sends_ring_tooling",
    "SEATS_ALIKE",
    "JOB_SEATS",
    "seats_sending",
    "domain_codes",
    "scripted_seats",
    "organisation_jobs",
    "OFF_HOURS",
    "HOURS_KEPT",
    "HOURS_TOLD",
    "FREE_MAIL_PROVIDERS",
]

#: A cluster this much on organisations' email domains is explained as their seats...
ORGANISATION_NAMED = 0.5
#: ...counting a domain when this many of the cluster's members are on it.
ORGANISATION_SEATS = 3
#: An organisation's hours tell only when at least this share of its activity falls outside its busiest two days
#: (its ``working_spread``).
SEEN_WORKING = 0.5
#: An organisation explains seats that work like staff: below this ``volume`` (0 at the population's median
#: account, 1 at a hundred times it; 0.3 is about four times it). A ring dressed as a company sends distillation
#: traffic at many times an ordinary account's, and where the logs' hours say nothing that is what shows.
STAFF_VOLUME = 0.3
#: An organisation billed by invoice for at least this share of its seats is a customer the provider has
#: checked: neither its hours nor its volume contradict its excuse (an evaluation company's nightly suites).
INVOICED_CHECKED = 0.5
#: An organisation whose seats were made over at least this much of a half-year (``creation_spread``: two
#: months) grew as a customer does, and its seats' nights and volume are its scheduled jobs (an evaluation
#: company's nightly suites), no contradiction; a ring dressed as a company makes its seats within weeks.
GREW_OVER = 0.33
#: An organisation whose seats send at least this share of their requests on templates a flagged ring calls its
#: own runs that ring's distillation tooling: its excuse fails. A ring dressed as a company hides a bank's
#: templates under its camouflage (a twentieth of its traffic or more); a company's own tools are nobody else's.
RING_TOOLING = 0.05
#: An organisation that pays for its seats (one card shared by at least :data:`ORGANISATION_SEATS` of them) and
#: whose seats nearly all send a cluster's own templates (at least this share of every account on its domain) is
#: no staff but one script's accounts: a company's people work at different things (an internal tool reaches
#: about half of them), a ring dressed as a company runs the same templates on every seat.
SEATS_ALIKE = 0.8
#: An organisation's cluster whose own templates at most this share of the organisation's seats send is some of
#: its seats running its jobs (an evaluation company's benchmark runners beside its staff): neither their hours
#: nor their volume contradict the excuse (a flagged ring's templates still do). Measured on the hundred tuning
#: seeds: evaluation companies' runners 5% to 43% of their seats, a company's internal tool about half. At half,
#: 396 seats of a company were no longer flagged on the evaluation seeds, but a ring of 342 dressed as a company,
#: 44% of whose seats send its templates, all at night, was lost.
JOB_SEATS = 0.4
#: An organisation's cluster that sends at most this share of its requests in office hours does not keep them,
#: when the population's own organisations say nothing about their hours (see :data:`OFF_HOURS_RATIO`).
OFF_HOURS = 0.2
#: ...otherwise, at most this fraction of the office-hours share of the population's typical organisation
#: seat (the median account on an organisation's domain that three or more accounts share). Where seats work
#: office hours (most of their requests in them) a ring dressed as a company at night stands out, with a
#: third of its requests in them or less; where the logs' times say nothing about working hours, every
#: account sends about a quarter in them, companies too, and only a ring that works at night shows.
OFF_HOURS_RATIO = 0.5
#: Monday to Friday, 08:00 to 18:00, is 50 of the week's 168 hours: the office-hours share of requests sent at
#: any hour alike.
ANY_HOUR_OFFICE_SHARE = 50 / 168
#: Seats keep office hours when at least this many times that share of their requests fall in them...
HOURS_KEPT = 1.5
#: ... and the population's typical organisation seat (:func:`off_hours_line`) sends this many times that share in
#: them at least, so that hours say something there. Lower than the seats' own bar: where the typical seat sends 42%
#: of its requests in office hours, a company whose seats send 80% in them keeps them (at the seats' own 1.5 times, a
#: company of 396 seats made within two weeks was taken for a ring for its internal tool's waves).
HOURS_TOLD = 1.25
#: Accounts on shared organisation domains needed before their hours set the line.
OFF_HOURS_SEATS = 20
#: Well-known free-mail providers: never an organisation's domain, however their users cluster.
FREE_MAIL_PROVIDERS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "zoho.com",
        "mail.com",
    }
)


def organisation_excuse(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per cluster: whether being an organisation explains its card, network and onboarding, and whether it
    works off hours (:func:`off_hours_organisation`, not counted for an organisation billed by invoice).

    The excuse fails when its seats do not work as staff: off hours, or each at :data:`STAFF_VOLUME` where
    their hours do not show they keep office hours (:func:`keeps_office_hours`), or when they send a flagged
    ring's templates (:data:`RING_TOOLING`, the table's ``ring_tooling_share``), or when the seats it pays for
    all run the same templates (:func:`scripted_seats`); their hours and volume do not contradict it when the
    cluster is a few of its seats running its jobs (:func:`organisation_jobs`), and nothing does when the
    provider invoices it (:data:`INVOICED_CHECKED`) or when it grew over months (:func:`grown_organisation`)."""
    organisation = table["organisation_share"] if "organisation_share" in table.columns else 0.0
    off_hours = off_hours_organisation(table)
    jobs = organisation_jobs(table)
    off_hours &= ~jobs
    contradicted = (off_hours | _heavy(table) & ~keeps_office_hours(table)) & ~jobs | sends_ring_tooling(table) | scripted_seats(table)
    checked = grown_organisation(table)
    if "invoiced_share" in table.columns:
        checked |= table["invoiced_share"] >= INVOICED_CHECKED
    contradicted &= ~checked
    off_hours &= ~checked
    return (organisation >= ORGANISATION_NAMED) & ~contradicted, off_hours


def grown_organisation(table: pd.DataFrame) -> pd.Series:
    """Per cluster: on organisations' domains (:data:`ORGANISATION_NAMED`), its seats made over months
    (:data:`GREW_OVER`): a customer that grew, whose seats' shared schedule is its jobs'."""
    if "organisation_share" not in table.columns or "creation_spread" not in table.columns:
        return pd.Series(False, index=table.index)
    return (table["organisation_share"] >= ORGANISATION_NAMED) & (table["creation_spread"] >= GREW_OVER)


def ring_tooling_share(evidence: Evidence, labels: np.ndarray, clusters: np.ndarray, templates: np.ndarray) -> pd.Series:
    """Per cluster of ``clusters`` (numbered as in ``labels``): the share of its members' requests on
    ``templates`` (the characteristic templates of the flagged rings), 0 where it sent none."""
    prompts = evidence.prompts
    out = pd.Series(0.0, index=clusters)
    if len(clusters) == 0 or len(templates) == 0 or "template_id" not in prompts.columns:
        return out
    positions = evidence.account_positions("prompts")
    asked = np.zeros(int(labels.max(initial=0)) + 1, dtype=bool)
    asked[clusters] = True
    seat = np.append(asked[labels], False)  # position -1 (an unknown account) reads the False at the end
    rows = np.flatnonzero(seat[positions])
    cluster = labels[positions[rows]]
    count = prompts["count"].to_numpy()[rows].astype(float) if "count" in prompts.columns else np.ones(len(rows))
    on_ring = prompts["template_id"].iloc[rows].isin(templates).to_numpy()
    sums = pd.DataFrame({"cluster": cluster, "ring": count * on_ring, "all": count}).groupby("cluster").sum()
    out.loc[sums.index] = (sums["ring"] / sums["all"].clip(lower=1e-12)).to_numpy()
    return out


def seats_sending(
    domain_codes: np.ndarray,
    labels: np.ndarray,
    clusters: np.ndarray,
    own_templates: pd.DataFrame,
    prompts: pd.DataFrame,
    positions: np.ndarray,
) -> pd.Series:
    """Per cluster of ``clusters`` (numbered as in ``labels``): the share of its organisation's seats, every
    account on the email domain most of its members are on, that send one of its own templates (``own_templates``:
    cluster, template_id); 0 where it has no such domain or no templates. ``domain_codes`` numbers each account
    position's domain (-1: none; :func:`domain_codes`), ``positions`` is the account position of each of
    ``prompts``' rows."""
    out = pd.Series(0.0, index=clusters)
    in_scope = np.isin(labels, clusters) & (domain_codes >= 0)
    if not in_scope.any() or len(own_templates) == 0 or "template_id" not in prompts.columns:
        return out
    per_cluster = pd.DataFrame({"cluster": labels[in_scope], "code": domain_codes[in_scope]}).value_counts()
    main = per_cluster.reset_index().drop_duplicates("cluster").set_index("cluster")["code"]  # value_counts sorts by count
    rows = np.flatnonzero(positions >= 0)
    rows = rows[np.isin(domain_codes[positions[rows]], main.to_numpy())]
    sent = pd.DataFrame({"position": positions[rows], "template_id": prompts["template_id"].iloc[rows].to_numpy()})
    sent["code"] = domain_codes[sent["position"].to_numpy()]
    own = own_templates.loc[own_templates["cluster"].isin(main.index), ["cluster", "template_id"]]
    own = own.assign(code=main.reindex(own["cluster"]).to_numpy())
    senders = sent.merge(own, on=["template_id", "code"])[["cluster", "position"]].drop_duplicates()["cluster"].value_counts()
    seats = np.bincount(domain_codes[domain_codes >= 0])
    out.loc[senders.index] = senders.to_numpy() / seats[main.reindex(senders.index).to_numpy()]
    return out


def domain_codes(domains: np.ndarray) -> np.ndarray:
    """A number per distinct domain of ``domains`` (per account; -1 where None), for counting seats by domain."""
    codes, _ = pd.factorize(pd.Series(domains, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64)


def scripted_seats(table: pd.DataFrame) -> pd.Series:
    """Per cluster: an organisation that pays for its seats (a card shared by :data:`ORGANISATION_SEATS` or more)
    whose seats nearly all send the cluster's own templates (:data:`SEATS_ALIKE`): one script's accounts, not a
    staff (False where not measured)."""
    if "seats_sending" not in table.columns or "accounts_per_card" not in table.columns:
        return pd.Series(False, index=table.index)
    return (table["seats_sending"] >= SEATS_ALIKE) & (table["accounts_per_card"] >= ORGANISATION_SEATS)


def organisation_jobs(table: pd.DataFrame) -> pd.Series:
    """Per cluster: on organisations' domains (:data:`ORGANISATION_NAMED`), with own templates that only a few of
    the organisation's seats send (:data:`JOB_SEATS`): some seats running the organisation's jobs beside its
    staff (False where not measured)."""
    if "seats_sending" not in table.columns or "organisation_share" not in table.columns:
        return pd.Series(False, index=table.index)
    sending = table["seats_sending"]
    return (table["organisation_share"] >= ORGANISATION_NAMED) & (sending > 0) & (sending <= JOB_SEATS)


def sends_ring_tooling(table: pd.DataFrame) -> pd.Series:
    """Per cluster: its requests on flagged rings' templates reach :data:`RING_TOOLING` (False where not measured)."""
    if "ring_tooling_share" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["ring_tooling_share"] >= RING_TOOLING


def heavy_off_hours(table: pd.DataFrame) -> pd.Series:
    """Per cluster: an organisation off hours (:func:`off_hours_organisation`) whose seats each send at least
    :data:`STAFF_VOLUME`, and which the provider does not bill by invoice (:data:`INVOICED_CHECKED`). The ring
    score (:mod:`.model`) counts the addresses its seats share as a network of their own, not an office's: a
    class that studies at night sends at an ordinary account's rate, an evaluation company's nightly suites are
    invoiced or come from seats made over months (which the score weighs apart), and a ring dressed as a
    company sends its distillation traffic at night through its proxies."""
    _, off_hours = organisation_excuse(table)
    return off_hours & _heavy(table)


def _heavy(table: pd.DataFrame) -> pd.Series | bool:
    """Per cluster: its seats each send at least :data:`STAFF_VOLUME` (False where volume was not measured)."""
    return table["volume"] >= STAFF_VOLUME if "volume" in table.columns else False


def keeps_office_hours(table: pd.DataFrame) -> pd.Series:
    """Per cluster: its requests fall in office hours as the population's own organisation seats' do, and theirs
    say something: its share at least :data:`HOURS_KEPT` times :data:`ANY_HOUR_OFFICE_SHARE`, the typical seat's at
    least :data:`HOURS_TOLD` times it. An organisation whose seats keep office hours shows it by its hours, and
    sending much (an evaluation company's suites) does not contradict it; where the times say nothing about
    working hours, volume is what shows."""
    if "office_hours_share" not in table.columns or "off_hours_line" not in table.columns:
        return pd.Series(False, index=table.index)
    typical = table["off_hours_line"] / OFF_HOURS_RATIO
    kept = table["office_hours_share"] >= HOURS_KEPT * ANY_HOUR_OFFICE_SHARE
    return kept & (typical >= HOURS_TOLD * ANY_HOUR_OFFICE_SHARE)


def off_hours_organisation(table: pd.DataFrame) -> pd.Series:
    """Per cluster: mostly on organisations' domains (:func:`organisation_share`), yet sending no more of its
    requests in its countries' office hours than its ``off_hours_line`` (:func:`off_hours_line`; :data:`OFF_HOURS` where the table has none),
    over more than two days of work (:data:`SEEN_WORKING`)."""
    if "organisation_share" not in table.columns or "office_hours_share" not in table.columns:
        return pd.Series(False, index=table.index)
    line = table["off_hours_line"] if "off_hours_line" in table.columns else OFF_HOURS
    off_hours = (table["organisation_share"] >= ORGANISATION_NAMED) & (table["office_hours_share"] <= line)
    if "working_spread" in table.columns:  # two days of work may be a weekend: its hours say nothing
        off_hours &= table["working_spread"] >= SEEN_WORKING
    return off_hours


def off_hours_line(evidence: Evidence, graph: EvidenceGraph) -> float:
    """The office-hours share at or under which an organisation's cluster, or seat, does not keep office hours:
    :data:`OFF_HOURS_RATIO` of the population's typical organisation seat (:data:`OFF_HOURS` when the
    population has fewer than :data:`OFF_HOURS_SEATS` seats with timed requests)."""
    return graph.derived("off_hours_line", lambda: _off_hours_line(evidence, graph))


def _off_hours_line(evidence: Evidence, graph: EvidenceGraph) -> float:
    if "email" not in evidence.accounts.columns:
        return OFF_HOURS
    office = graph.derived("account_office_hours", lambda: account_office_hours_share(evidence, graph.n_accounts, graph))
    seat = seated_accounts(evidence, graph) & ~np.isnan(office)
    if seat.sum() < OFF_HOURS_SEATS:
        return OFF_HOURS
    return float(OFF_HOURS_RATIO * np.median(office[seat]))


def _email_domains(email: pd.Series) -> np.ndarray:
    """The lower-cased part after the last @ of each address (None where there is no @)."""
    text = arrow_text(email)
    has_at = pc.match_substring(text, "@")
    after = pc.replace_substring_regex(text, r"(?s)^.*@", "")
    return pc.if_else(has_at, pc.utf8_lower(after), pa.scalar(None, pa.string())).to_numpy(zero_copy_only=False)


def organisation_share(domains: np.ndarray, labels: np.ndarray, size: pd.Series) -> pd.Series:
    """Per cluster: the share of members on organisations' email domains, each with
    :data:`ORGANISATION_SEATS` or more of them (several companies' seats that share an office
    building's address or a corporate card issuer are as explained as one company's).

    A domain is an organisation's when it is not a well-known free-mail
    provider and its users sit together: a quarter of them in one cluster, or
    all of them in few clusters (a company's seats), or so many in one cluster
    that chance would put them there at most :data:`.features.HELD_CHANCE` of the time (a
    class of 130 students of a university whose 750 students are spread over
    the population). The users of a free-mail or ISP domain are spread over
    countless clusters; the largest providers are listed because in a small
    population even their users can look clustered.

    ``domains`` and ``labels`` are per account (:func:`organisation_domains`:
    None where an account has no organisation's address).
    """
    frame = pd.DataFrame({"domain": domains, "label": labels}).dropna(subset=["domain"])
    per_label = frame.groupby(["domain", "label"]).size()
    users = per_label.groupby(level="domain").sum()
    largest = per_label.groupby(level="domain").max()
    spread = per_label.groupby(level="domain").size() / users
    organisations = users.index[(users >= ORGANISATION_SEATS) & ((largest >= 0.25 * users) | (spread <= 0.7))]
    frame = frame[frame["label"].isin(size.index)]
    counts = frame.groupby(["label", "domain"]).size()
    if len(counts) == 0:
        return pd.Series(0.0, index=size.index)
    label_of, domain_of = counts.index.get_level_values("label"), counts.index.get_level_values("domain")
    share_of_all = size.reindex(label_of).to_numpy(dtype=float) / max(len(labels), 1)
    seats = counts.to_numpy()
    held = (seats >= ORGANISATION_SEATS) & held_beyond_chance(seats, users.reindex(domain_of).to_numpy(), share_of_all, lift=0.0)
    counts = counts[np.asarray(domain_of.isin(organisations)) | held]
    if len(counts) == 0:
        return pd.Series(0.0, index=size.index)
    seated = counts[counts >= ORGANISATION_SEATS].groupby(level="label").sum()
    share = seated / size.reindex(seated.index).to_numpy()
    share = share.where(share >= 0.3, 0.0)
    return share.reindex(size.index, fill_value=0.0)


def off_hours_members(evidence: Evidence, graph: EvidenceGraph, cluster_of: np.ndarray, organisation: pd.Series) -> np.ndarray:
    """Per account: 1 when it sits in a cluster that is an organisation's (``organisation``: each cluster's
    :func:`organisation_share`, one company's seats or several's) and sends at most :func:`off_hours_line` of
    its own requests in office hours: a seat of a "company" that does not work as one. (The cluster-level
    counterpart is :func:`off_hours_organisation`.)"""
    out = np.zeros(graph.n_accounts, dtype=int)
    scored = cluster_of >= 0
    if not scored.any():
        return out
    is_organisation = np.zeros(int(cluster_of.max()) + 1, dtype=bool)
    mine = organisation.reindex(np.unique(cluster_of[scored])).fillna(0.0)
    is_organisation[mine.index.to_numpy()] = mine.to_numpy() >= ORGANISATION_NAMED
    office = graph.derived("account_office_hours", lambda: account_office_hours_share(evidence, graph.n_accounts, graph))
    candidate = scored & is_organisation[np.maximum(cluster_of, 0)]
    out[candidate & (office <= off_hours_line(evidence, graph))] = 1
    return out


def network_members(evidence: Evidence, graph: EvidenceGraph, held_ips: np.ndarray, addresses: int) -> np.ndarray:
    """Per account: 1 when it is on at least ``addresses`` IP addresses that its cluster holds, each shared by
    enough members (``held_ips``, :func:`.features.on_held_network`), and it is no organisation's seat (its
    email is free mail or none)."""
    out = (held_ips >= addresses).astype(int)
    out[pd.notna(account_domains(evidence, graph))] = 0
    return out


def organisation_domains(email: pd.Series) -> np.ndarray:
    """Per address: its lower-cased domain, None where there is no @ or it is a free-mail provider's."""
    domain = _email_domains(email)
    domain[pd.Series(domain).isin(FREE_MAIL_PROVIDERS).to_numpy()] = None
    return domain


def account_domains(evidence: Evidence, graph: EvidenceGraph) -> np.ndarray:
    """Per account position of ``graph``: :func:`organisation_domains` of its email (None without one), found
    once per graph however many scoring passes ask."""
    return graph.derived("organisation_domains", lambda: _organisation_domains(evidence, graph.n_accounts))


def seated_accounts(evidence: Evidence, graph: EvidenceGraph) -> np.ndarray:
    """Per account position of ``graph``: on an organisation's email domain (:func:`account_domains`) that
    :data:`ORGANISATION_SEATS` or more accounts share; found once per graph."""
    return graph.derived("seated_accounts", lambda: _seated_accounts(evidence, graph))


def _seated_accounts(evidence: Evidence, graph: EvidenceGraph) -> np.ndarray:
    domain = pd.Series(account_domains(evidence, graph))
    return domain.notna().to_numpy() & (domain.map(domain.value_counts()).fillna(0).to_numpy() >= ORGANISATION_SEATS)


def _organisation_domains(evidence: Evidence, n_accounts: int) -> np.ndarray:
    domain = np.full(n_accounts, None, dtype=object)
    if "email" in evidence.accounts.columns:
        domain[evidence.account_positions("accounts")] = organisation_domains(evidence.accounts["email"])
    return domain
