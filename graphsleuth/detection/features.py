"""Features of a cluster measured against the population it lives in, for scoring and explanations.

Each feature is a share between 0 and 1 that says how unlike the population at
large a cluster is in one respect, so that a fitted score (:mod:`.model`) can
weigh them and an explanation can name them:

* ``network_share``: members on IP addresses or subnets that the cluster holds,
  many more of whose users are its members than its size predicts (a binomial
  test; a VPN exit thousands use is held by no cluster of a few dozen);
* ``template_exclusivity``: of the senders of the cluster's own templates, the
  share that are its members (a ring's private templates: all of them; a
  hackathon's starter kit, which ordinary users send too: few);
* ``template_coordination``: of the senders of the cluster's own templates, the
  share that send them in lockstep with others (a ring's templates, private or
  from a shared bank, go out in its operators' waves; an agent framework's or a
  starter kit's are sent by thousands of people, each at their own time);
* ``volume``: how many more requests its members make than the population's
  median account (0 at the median, 1 at a hundred times it);
* ``event_share``: of its members' hours on its own templates, the share in its
  busiest two days (a hackathon's starter kit is sent during the event;
  distillation and coursework go on for weeks);
* ``after_event_share``: of all its members' hours (any template), the share
  outside those two days (an event's participants stay on as ordinary users; a
  ring's accounts that worked one blitz do nothing else);
* ``created_at_event``: its members created from the day before those two days
  to their end (a hackathon's participants sign up for it; a ring's accounts
  that sent two waves in two days were made weeks before, in their own bursts);
* ``working_spread``: of all its members' hours (any template), the share outside its busiest two
  consecutive days (a company seen working two days, a weekend maybe, says nothing by its hours);
* ``creation_spread``: how many months its members' accounts were created over
  (0: within a day, 1: half a year or more);
* ``office_hours_share``: its requests sent on weekdays between 08:00 and 18:00
  in the members' countries (company seats work then; an operator's jobs run
  when it likes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom

from ..evidence import Evidence, subnet_of
from .graph import EvidenceGraph

__all__ = [
    "population_features",
    "on_held_network",
    "held_beyond_chance",
    "account_office_hours_share",
    "known_creation_times",
    "UTC_OFFSET_HOURS",
    "HELD_CHANCE",
    "HELD_LIFT",
]

#: An item is held by a cluster when chance (each user a member with the cluster's share of all accounts)
#: gives as many members among its users at most this often...
HELD_CHANCE = 1e-6
#: ...and their share of its users is at least this many times their share of all accounts.
HELD_LIFT = 2.0
#: Standard time offsets of the countries accounts most often give (hours east of UTC); others count as UTC.
UTC_OFFSET_HOURS = {
    "US": -6,
    "CA": -5,
    "MX": -6,
    "BR": -3,
    "AR": -3,
    "CO": -5,
    "CL": -4,
    "GB": 0,
    "IE": 0,
    "PT": 0,
    "DE": 1,
    "FR": 1,
    "ES": 1,
    "IT": 1,
    "NL": 1,
    "BE": 1,
    "PL": 1,
    "SE": 1,
    "NO": 1,
    "DK": 1,
    "CH": 1,
    "AT": 1,
    "CZ": 1,
    "FI": 2,
    "UA": 2,
    "RO": 2,
    "GR": 2,
    "IL": 2,
    "EG": 2,
    "ZA": 2,
    "TR": 3,
    "RU": 3,
    "SA": 3,
    "AE": 4,
    "PK": 5,
    "IN": 5.5,
    "BD": 6,
    "TH": 7,
    "VN": 7,
    "ID": 7,
    "CN": 8,
    "SG": 8,
    "MY": 8,
    "PH": 8,
    "HK": 8,
    "TW": 8,
    "JP": 9,
    "KR": 9,
    "AU": 10,
    "NZ": 12,
    "NG": 1,
    "KE": 3,
}
_DAY_S = 86_400.0

#: A template is characteristic of a cluster when its members use it this many times more than accounts at large.
CHARACTERISTIC_LIFT = 10.0


def population_features(
    evidence: Evidence,
    graph: EvidenceGraph,
    cluster_of: np.ndarray,
    clusters: np.ndarray,
    own_templates: pd.DataFrame,
    on_held: np.ndarray,
) -> pd.DataFrame:
    """The features above for each of ``clusters`` (``cluster_of``: each account's cluster, -1 when not scored;
    ``on_held``: per account, on a network its cluster holds, :func:`on_held_network`)."""
    out = pd.DataFrame(index=pd.Index(clusters, name="cluster"))
    scored = cluster_of >= 0
    network_share = pd.Series(on_held[scored]).groupby(cluster_of[scored]).mean()
    out["network_share"] = network_share.reindex(clusters).fillna(0.0).to_numpy()
    out["template_exclusivity"] = _template_exclusivity(own_templates, graph).reindex(clusters).fillna(0.0).to_numpy()
    out["template_coordination"] = _template_coordination(own_templates, graph).reindex(clusters).fillna(0.0).to_numpy()
    created_day = graph.derived("created_day", lambda: _created_day(evidence, graph.n_accounts))
    events = _event_features(own_templates, graph, cluster_of, created_day).reindex(clusters)
    out["event_share"] = events["event_share"].fillna(0.0).to_numpy()
    out["after_event_share"] = events["after_event_share"].fillna(1.0).to_numpy()
    out["created_at_event"] = events["created_at_event"].to_numpy()  # NaN when unknown: nothing against an event
    out["working_spread"] = _working_spread(graph, cluster_of).reindex(clusters).fillna(0.0).to_numpy()
    requests = graph.derived("requests_per_account", lambda: _requests_per_account(evidence, graph.n_accounts))
    out["volume"] = _volume(requests, cluster_of).reindex(clusters).fillna(0.0).to_numpy()
    out["creation_spread"] = _creation_spread(evidence, cluster_of).reindex(clusters).fillna(1.0).to_numpy()
    out["office_hours_share"] = _office_hours_share(office_rows(evidence, graph), cluster_of).reindex(clusters).fillna(0.5).to_numpy()
    return out


def on_held_network(graph: EvidenceGraph, cluster_of: np.ndarray, widely: int) -> tuple[np.ndarray, np.ndarray]:
    """Per account: whether it is on an IP address or subnet that its cluster holds (shared by 2+ members,
    and by more of them than the cluster's size predicts, :data:`HELD_CHANCE`), and on how many of its IP
    addresses the cluster holds: held addresses that at least ``widely`` members share, or any address in a
    subnet it holds. A piece of seven of a ring of two thousand that rotates through a datacenter pool shares
    few of the pool's addresses among its own members, but all of them sit in the pool's subnets, which it
    holds. False and 0 outside clusters."""
    on_held = np.zeros(graph.n_accounts, dtype=bool)
    held_ips = np.zeros(graph.n_accounts, dtype=np.int64)
    if graph.shared is None:
        return on_held, held_ips
    account, item = graph.shared
    keep = graph.of_kind("ip", "subnet")[item] & (cluster_of[account] >= 0)
    account, item = account[keep].astype(np.int64), item[keep].astype(np.int64)
    cluster = cluster_of[account]
    n_items = len(graph.evidence)
    sizes = np.bincount(cluster_of[cluster_of >= 0], minlength=int(cluster_of.max(initial=-1)) + 1)
    inverse, key = pd.factorize(cluster * n_items + item)  # a hash: the order of the distinct keys does not matter
    count = np.bincount(inverse, minlength=len(key))
    c, e = key // n_items, key % n_items
    degree = graph.evidence["degree"].to_numpy()[e]
    held = held_beyond_chance(count, degree, sizes[c] / graph.n_accounts)
    mine = held[inverse]
    on_held[account[mine]] = True
    is_ip = graph.of_kind("ip")[item]
    wide = mine & (count[inverse] >= widely) & is_ip
    wide |= _in_held_subnet(graph, cluster, item, is_ip, c[held], e[held])
    held_ips += np.bincount(account[wide], minlength=graph.n_accounts)
    return on_held, held_ips


def held_beyond_chance(inside: np.ndarray, users: np.ndarray, member_share: float | np.ndarray, lift: float = HELD_LIFT) -> np.ndarray:
    """Per item: whether its members hold it. ``inside`` of its ``users`` are members (2 or more), chance (each
    user a member with ``member_share``, one for all items or one per item) gives as many at most
    :data:`HELD_CHANCE` often (binomial tail), and they are at least ``lift`` times that share of its users.
    A cluster's addresses, flagged pieces' BINs and waves, an organisation's seats in one cluster all ask this."""
    share = np.broadcast_to(member_share, np.shape(inside))
    held = (inside >= 2) & (inside >= lift * share * users)
    rows = np.flatnonzero(held)
    held[rows] = binom.sf(inside[rows] - 1, users[rows], share[rows]) <= HELD_CHANCE
    return held


def _in_held_subnet(
    graph: EvidenceGraph, cluster: np.ndarray, item: np.ndarray, is_ip: np.ndarray, held_cluster: np.ndarray, held_item: np.ndarray
) -> np.ndarray:
    """Per (account's cluster, item) row: whether the item is an IP address in a subnet that cluster holds."""
    subnet = graph.derived("subnet_of_ip", lambda: _subnet_items(graph))
    n_items = len(subnet)
    out = np.zeros(len(item), dtype=bool)
    rows = np.flatnonzero(is_ip)
    rows = rows[subnet[item[rows]] >= 0]
    held = np.unique(held_cluster * n_items + held_item)
    if len(rows) == 0 or len(held) == 0:
        return out
    key = cluster[rows] * n_items + subnet[item[rows]]
    at = np.minimum(np.searchsorted(held, key), len(held) - 1)
    out[rows] = held[at] == key
    return out


def _subnet_items(graph: EvidenceGraph) -> np.ndarray:
    """Per evidence item: the item of its subnet when it is an IP address that accounts share (-1 otherwise:
    an address of one account never ties it to a cluster)."""
    kind = graph.evidence["kind"].to_numpy()
    values = graph.evidence["value"]
    out = np.full(len(kind), -1, dtype=np.int64)
    ips = np.flatnonzero((kind == "ip") & (graph.evidence["degree"].to_numpy() >= 2))
    subnets = np.flatnonzero(kind == "subnet")
    if len(ips) == 0 or len(subnets) == 0:
        return out
    position = pd.Index(values.iloc[subnets].astype(str)).get_indexer(subnet_of(values.iloc[ips]).astype(str))
    found = position >= 0
    out[ips[found]] = subnets[position[found]]
    return out


def _template_exclusivity(own_templates: pd.DataFrame, graph: EvidenceGraph) -> pd.Series:
    """Per cluster: of the senders of its own templates, the share that are its members (weighted by its requests)."""
    if own_templates is None or len(own_templates) == 0:
        return pd.Series(dtype=float)
    senders = graph.sharers("template").reindex(own_templates["template_id"]).to_numpy(dtype=float)
    inside = own_templates["accounts"].to_numpy(dtype=float) / np.maximum(senders, 1.0)
    weight = own_templates["requests"].to_numpy(dtype=float)
    frame = pd.DataFrame({"cluster": own_templates["cluster"].to_numpy(), "x": np.clip(inside, 0, 1) * weight, "w": weight})
    total = frame.groupby("cluster")[["x", "w"]].sum()
    return total["x"] / total["w"].clip(lower=1e-12)


def _template_coordination(own_templates: pd.DataFrame, graph: EvidenceGraph) -> pd.Series:
    """Per cluster: of the senders of its own templates, the share that send them in lockstep (weighted by its requests)."""
    if own_templates is None or len(own_templates) == 0 or graph.lockstep is None or graph.template_hours is None:
        return pd.Series(dtype=float)
    share = graph.derived("lockstep_senders", lambda: _lockstep_senders(graph))
    template_ids = pd.Index(graph.template_names) if graph.template_names is not None else None
    if template_ids is None:
        return pd.Series(dtype=float)
    per_template = pd.Series(share, index=template_ids)
    value = per_template.reindex(own_templates["template_id"].astype(str)).fillna(0.0).to_numpy()
    weight = own_templates["requests"].to_numpy(dtype=float)
    frame = pd.DataFrame({"cluster": own_templates["cluster"].to_numpy(), "x": value * weight, "w": weight})
    total = frame.groupby("cluster")[["x", "w"]].sum()
    return total["x"] / total["w"].clip(lower=1e-12)


#: The event share counts this many more hours, as if spread over weeks: a piece of a ring that came
#: together in one wave has a few hours, all in two days, and says nothing yet about events.
EVENT_PRIOR_HOURS = 30


_EVENT_COLUMNS = ["event_share", "after_event_share", "created_at_event"]


def _event_features(own_templates: pd.DataFrame, graph: EvidenceGraph, cluster_of: np.ndarray, created_day: np.ndarray) -> pd.DataFrame:
    """Per cluster: ``event_share``, of its members' (account, own template, hour) triples the share in its busiest
    two consecutive days (with :data:`EVENT_PRIOR_HOURS` more triples outside them); ``after_event_share``, of
    all its members' triples (any template) the share outside those two days; ``created_at_event``, of its
    members whose creation is known the share created from the day before those two days to their end
    (``created_day``: each account's day of creation, NaN when unknown)."""
    hours = graph.template_hours
    if own_templates is None or len(own_templates) == 0 or hours is None or len(hours) == 0 or graph.template_names is None:
        return pd.DataFrame(columns=_EVENT_COLUMNS, dtype=float)
    own = own_templates[own_templates["characteristic"]] if "characteristic" in own_templates.columns else own_templates
    n_templates = len(graph.template_names)
    number = pd.Index(graph.template_names).get_indexer(own["template_id"].astype(str))
    own_keys = own["cluster"].to_numpy(dtype=np.int64)[number >= 0] * n_templates + number[number >= 0]
    cluster = cluster_of[hours["account"].to_numpy()]
    rows = np.flatnonzero(cluster >= 0)  # the members' triples
    cluster = cluster[rows].astype(np.int64)
    day = hours["h"].to_numpy()[rows] // 24
    mine = np.isin(cluster * n_templates + hours["t"].to_numpy()[rows], own_keys)
    if not mine.any():
        return pd.DataFrame(columns=_EVENT_COLUMNS, dtype=float)
    busiest = _busiest_two_days(cluster[mine], day[mine])
    out = pd.DataFrame(index=busiest.index)
    out["event_share"] = busiest["two_days"] / (busiest["total"] + EVENT_PRIOR_HOURS)
    first = np.full(int(cluster.max()) + 1, np.nan)
    first[busiest.index.to_numpy()] = busiest["day"].to_numpy()
    outside = ~((day >= first[cluster]) & (day <= first[cluster] + 1))
    triples = np.bincount(cluster, minlength=len(first))[busiest.index.to_numpy()]
    out["after_event_share"] = np.bincount(cluster[outside], minlength=len(first))[busiest.index.to_numpy()] / triples
    known = np.flatnonzero((cluster_of >= 0) & ~np.isnan(created_day))
    known_cluster = cluster_of[known].astype(np.int64)
    event_day = np.full(len(known), np.nan)
    timed = known_cluster < len(first)
    event_day[timed] = first[known_cluster[timed]]
    made_for_it = (created_day[known] >= event_day - 1) & (created_day[known] <= event_day + 1)
    n = max(len(first), int(known_cluster.max(initial=-1)) + 1)
    made = np.bincount(known_cluster[made_for_it], minlength=n)[busiest.index.to_numpy()]
    accounts = np.bincount(known_cluster, minlength=n)[busiest.index.to_numpy()]
    out["created_at_event"] = np.divide(made, accounts, out=np.full(len(made), np.nan), where=accounts > 0)
    return out


def _created_day(evidence: Evidence, n_accounts: int) -> np.ndarray:
    """Each account's day of creation (days since the epoch), NaN when unknown."""
    day = np.full(n_accounts, np.nan)
    position, created = known_creation_times(evidence)
    day[position] = created // (86_400 * 10**9)
    return day


def known_creation_times(evidence: Evidence) -> tuple[np.ndarray, np.ndarray]:
    """The accounts whose creation time is known (their positions in the accounts table) and those times
    (nanoseconds since the epoch)."""
    accounts = evidence.accounts
    if "created_at" not in accounts.columns:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    created = accounts["created_at"]
    known = created.notna().to_numpy()
    return evidence.account_positions("accounts")[known], created[known].astype("int64").to_numpy()


def _working_spread(graph: EvidenceGraph, cluster_of: np.ndarray) -> pd.Series:
    """Per cluster: of its members' (account, template, hour) triples, the share outside its busiest two
    consecutive days (clusters without timed prompts are left out)."""
    hours = graph.template_hours
    if hours is None or len(hours) == 0:
        return pd.Series(dtype=float)
    cluster = cluster_of[hours["account"].to_numpy()]
    member = cluster >= 0
    busiest = _busiest_two_days(cluster[member], hours["h"].to_numpy()[member] // 24)
    return 1.0 - busiest["two_days"] / busiest["total"]


def _busiest_two_days(cluster: np.ndarray, day: np.ndarray) -> pd.DataFrame:
    """Per cluster, of its (account, template, hour) triples falling on ``day``: the first of its two consecutive
    days that hold the most (``day``), how many they hold (``two_days``) and how many all its days hold (``total``)."""
    per_day = pd.DataFrame({"cluster": cluster, "day": day}).value_counts().rename("n").reset_index()
    following = per_day.assign(day=per_day["day"] - 1)  # each day's count added to the day before it
    pairs = per_day.merge(following, on=["cluster", "day"], how="left", suffixes=("", "_next")).fillna({"n_next": 0})
    pairs["two_days"] = pairs["n"] + pairs["n_next"]
    busiest = pairs.loc[pairs.groupby("cluster")["two_days"].idxmax(), ["cluster", "day", "two_days"]].set_index("cluster")
    busiest["total"] = per_day.groupby("cluster")["n"].sum()
    return busiest


def _lockstep_senders(graph: EvidenceGraph) -> np.ndarray:
    """Per template number: the share of its senders (with timed prompts) that send it in lockstep."""
    hours, tokens = graph.template_hours, graph.lockstep
    n_templates = int(hours["t"].to_numpy().max(initial=-1)) + 1
    # distinct (account, template) pairs by hash, not by sorting tens of millions of them
    senders = np.bincount(pd.unique(hours["account"].to_numpy() * n_templates + hours["t"].to_numpy()) % n_templates, minlength=n_templates)
    template_of_token = tokens["token"].to_numpy() // 10_000_000
    in_step = np.bincount(pd.unique(tokens["account"].to_numpy() * n_templates + template_of_token) % n_templates, minlength=n_templates)
    return in_step / np.maximum(senders, 1)


def _requests_per_account(evidence: Evidence, n_accounts: int) -> np.ndarray:
    prompts = evidence.prompts
    positions = evidence.account_positions("prompts")
    known = positions >= 0
    counts = prompts["count"].to_numpy(dtype=np.float64) if "count" in prompts.columns else np.ones(len(prompts))
    return np.bincount(positions[known], weights=counts[known], minlength=n_accounts)


def _volume(requests: np.ndarray, cluster_of: np.ndarray) -> pd.Series:
    """Per cluster: log10 of its members' median requests over the population's median, over 2, in [0, 1]."""
    active = requests > 0
    typical = float(np.median(requests[active])) if active.any() else 1.0
    scored = (cluster_of >= 0) & active
    median = pd.Series(requests[scored]).groupby(cluster_of[scored]).median()
    return (np.log10(median / max(typical, 1.0)) / 2.0).clip(0.0, 1.0)


def _creation_spread(evidence: Evidence, cluster_of: np.ndarray) -> pd.Series:
    """Per cluster: the span between its 10th and 90th percentile creation times, in half-years, at most 1."""
    if "created_at" not in evidence.accounts.columns:
        return pd.Series(dtype=float)
    positions, created = known_creation_times(evidence)
    cluster = cluster_of[positions]
    keep = cluster >= 0
    grouped = pd.Series(created[keep] / 1e9).groupby(cluster[keep])
    span = (grouped.quantile(0.9) - grouped.quantile(0.1)) / (182 * _DAY_S)
    return span.clip(0.0, 1.0)


def _office_hours_share(rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None, cluster_of: np.ndarray) -> pd.Series:
    """Per cluster: the share of its timed requests sent Monday to Friday, 08:00 to 18:00, in the senders' countries
    (``rows``: the population's timed prompt rows, :func:`_office_rows`)."""
    if rows is None:
        return pd.Series(dtype=float)
    position, office, count = rows
    cluster = cluster_of[position]
    scored = cluster >= 0
    frame = pd.DataFrame({"cluster": cluster[scored], "office": office[scored] * count[scored], "all": count[scored]})
    total = frame.groupby("cluster")[["office", "all"]].sum()
    return total["office"] / total["all"].clip(lower=1e-12)


def account_office_hours_share(evidence: Evidence, n_accounts: int, graph: EvidenceGraph | None = None) -> np.ndarray:
    """Per account position: the share of its timed requests sent in office hours (NaN: none timed); with
    ``graph``, from the timed prompt rows it keeps (:func:`office_rows`)."""
    rows = office_rows(evidence, graph) if graph is not None else _office_rows(evidence)
    if rows is None:
        return np.full(n_accounts, np.nan)
    position, office, count = rows
    timed = np.bincount(position, weights=count, minlength=n_accounts)
    in_office = np.bincount(position, weights=office * count, minlength=n_accounts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(timed > 0, in_office / timed, np.nan)


def office_rows(evidence: Evidence, graph: EvidenceGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`_office_rows`, worked out once per graph however many scoring passes ask."""
    return graph.derived("office_rows", lambda: _office_rows(evidence))


def _office_rows(evidence: Evidence) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The timed prompt rows of known accounts: account position, sent in office hours (local), request count."""
    prompts = evidence.prompts
    if "ts" not in prompts.columns or len(prompts) == 0:
        return None
    positions = evidence.account_positions("prompts")
    timed = prompts["ts"].notna().to_numpy() & (positions >= 0)
    if not timed.any():
        return None
    offset_h = _account_offsets(evidence)[positions[timed]]
    local = prompts["ts"][timed].astype("int64").to_numpy() // 1_000_000_000 + (offset_h * 3600).astype(np.int64)
    hour = (local // 3600) % 24
    weekday = ((local // 86_400) + 3) % 7  # 1970-01-01 was a Thursday: 0 is Monday
    office = ((weekday < 5) & (hour >= 8) & (hour < 18)).astype(np.float64)
    count = prompts["count"].to_numpy(dtype=np.float64)[timed] if "count" in prompts.columns else np.ones(int(timed.sum()))
    return positions[timed], office, count


def _account_offsets(evidence: Evidence) -> np.ndarray:
    """Each account's UTC offset in hours, from its country (0 where none is given or known)."""
    accounts = evidence.accounts
    offsets = np.zeros(len(accounts))
    if "country" in accounts.columns:
        country = accounts["country"].astype("str").str.upper().to_numpy()
        offsets = pd.Series(country).map(UTC_OFFSET_HOURS).fillna(0.0).to_numpy()
    by_position = np.zeros(len(accounts))
    by_position[evidence.account_positions("accounts")] = offsets
    return by_position
