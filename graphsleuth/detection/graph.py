"""The account-evidence graph: accounts tied by the cards, IPs and templates they share.

Each piece of shared evidence (a card, its BIN, an IP, its subnet, a prompt
template, a template sent in the same hour by several accounts, a device or
phone) is a node that accounts attach to.
Evidence is weighted by how rare it is: a card shared by three accounts says
much, a mobile carrier's CGNAT IP shared by thousands says little, and a
template that everybody sends says nothing. Hubs (evidence shared by more
than 5% of all accounts, or by more than 500) are dropped.

For clustering, the bipartite graph is projected onto accounts. A piece of
evidence shared by ``d`` accounts would give ``d*(d-1)/2`` edges; above a
small size it is replaced by a sparse circulant graph over a seeded shuffle of
its accounts whose total weight equals the clique's, so the projection stays
linear in the number of account-evidence links.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..evidence import Evidence, subnet_of

__all__ = [
    "EvidenceGraph",
    "build_evidence_graph",
    "template_hours",
    "lockstep_tokens",
    "evidence_weights",
    "projected_evidence",
    "project_groups",
    "circulant_caps",
    "lockstep_evidence",
    "creation_tokens",
    "EVIDENCE_KINDS",
]

#: Evidence kinds and how much a shared one counts relative to its rarity.
#: BINs, subnets and email domains follow from a card, an IP or an address,
#: so they count for less than the card or IP itself.
EVIDENCE_KINDS = {
    "card": 1.0,
    "bin": 0.4,
    "ip": 1.0,
    "subnet": 0.4,
    "template": 1.0,
    "lockstep": 1.0,
    "created": 0.6,
    "link": 1.0,
}
#: Evidence that ties accounts only through what the flagged pieces hold (rings.py), never in the
#: projection: the hours in which an account sent in lockstep (its operator's waves).
#: Nor templates: operators share distillation tooling, and clusters must not be made of prompt content;
#: templates weigh in when clusters are scored, and make campaigns.
NOT_PROJECTED = frozenset({"wave_hour", "template"})
#: Accounts created in one hour far above the population's rate (this many times) share a creation token.
CREATION_LIFT = 8.0
#: Evidence shared by more than this share of all accounts is a hub and glues nothing...
HUB_SHARE = 0.05
#: ...and so is evidence shared by more than this many accounts, whatever the population's
#: size. A VPN exit, a carrier's CGNAT address or an everyday template shared by hundreds of
#: strangers cannot say who belongs together; projected onto accounts it only adds heavy edges
#: between strangers, and a limit that grew with the population (it was 0.2% of it) let such
#: evidence in at 1M accounts that 100k kept out: a quarter of the edges and a third of
#: Leiden's time, with no gain in recall. Large rings are held together by their lockstep
#: tokens and identifiers in the graph, and joined by their templates afterwards
#: (graphsleuth.campaigns). Below 10,000 accounts HUB_SHARE is the tighter limit.
HUB_LIMIT = 500
#: Up to this many accounts, shared evidence becomes a full clique.
CLIQUE_LIMIT = 24
#: Neighbours on each side in the circulant graph that stands in for larger cliques.
CIRCULANT_K = 2
#: At most this many times its own weight goes on one circulant edge of shared infrastructure.
#: Spreading a big clique's whole weight over a few edges would tie random pairs of strangers
#: with heavy edges (two buyers from a popular BIN); with none of it, the 30 to 500 accounts a
#: BIN or subnet of one operator ties weigh a tenth of a clique's and small rings fall apart.
#: 3 was measured beside 1 and 2 on the family's validation seeds (benchmarks/README.md).
CIRCULANT_SCALE_CAP = 3.0
#: The same for timing (lockstep and creation tokens): an operator's waves give a token every
#: hour they run, so its accounts are tied many times over without amplifying any one token,
#: and two operators sending one shared template in the same hour are not made one.
TIMING_SCALE_CAP = 1.0
#: The kinds of evidence that are timing, not infrastructure.
TIMING_KINDS = ("lockstep", "created")
#: A template sent in one hour by this many times more accounts than chance is lockstep.
LOCKSTEP_LIFT = 4.0


@dataclass
class EvidenceGraph:
    """Accounts, the evidence they share, and the weighted account graph built from it.

    ``accounts`` lists account ids; an account's node number is its position.
    ``links`` has one row per (account, evidence) pair that the projection
    uses: columns ``account`` and ``evidence`` (node numbers). ``shared``
    holds every (account, evidence) pair of evidence that two or more
    accounts share, the large pieces that are too popular to project
    included, as two int32 arrays. ``evidence`` has one row per evidence
    node: ``kind``, ``value``, ``degree`` (accounts sharing it), ``weight``.
    ``edges`` are (source, target, weight) arrays of the account projection.
    """

    accounts: pd.Index
    links: pd.DataFrame
    evidence: pd.DataFrame
    source: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    #: Distinct (account, template, hour) triples of timed prompts and the lockstep tokens
    #: among them (see :func:`template_hours`, :func:`lockstep_tokens`); kept so that
    #: scoring does not recompute them. None when the graph was built without prompts.
    template_hours: pd.DataFrame | None = None
    lockstep: pd.DataFrame | None = None
    shared: tuple[np.ndarray, np.ndarray] | None = None
    #: The template id of each template number in ``template_hours`` and ``lockstep``.
    template_names: list[str] | None = None
    #: How many edges the projection has, when another engine holds them (None: ``len(weight)``).
    edge_count: int | None = None
    _sharers: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def n_edges(self) -> int:
        """Edges of the account projection (held here, or by the engine that built it)."""
        return int(len(self.weight)) if self.edge_count is None else int(self.edge_count)

    def derived(self, name: str | tuple, compute):
        """``compute()``, once per graph: figures of the graph alone that every scoring pass asks for
        (at 1M accounts, the share of each template's senders in lockstep took 4 s a pass)."""
        if name not in self._derived:
            self._derived[name] = compute()
        return self._derived[name]

    def of_kind(self, *kinds: str) -> np.ndarray:
        """Per evidence item: whether it is of one of ``kinds``, worked out once per graph (millions of
        items' kinds are text)."""
        return self.derived(("of_kind", kinds), lambda: np.isin(self.evidence["kind"].to_numpy(), list(kinds)))

    def sharers(self, kind: str) -> pd.Series:
        """How many accounts share each piece of evidence of ``kind`` (hubs included), by its value.

        Scoring and campaigns both ask how many accounts send each template;
        the graph counted them already, so nobody counts millions of prompt rows again.
        """
        if kind not in self._sharers:
            nodes = self.evidence
            mine = (nodes["kind"].to_numpy() == kind) if len(nodes) else np.zeros(0, dtype=bool)
            self._sharers[kind] = pd.Series(nodes["degree"].to_numpy()[mine], index=pd.Index(nodes["value"].to_numpy()[mine]))
        return self._sharers[kind]


@dataclass
class _Shared:
    """One kind of evidence as (account, value) pairs, values numbered within the kind."""

    kind: str
    account: np.ndarray
    value: np.ndarray
    #: The value of each number, as text (lockstep tokens: integers).
    values: np.ndarray


def _shared(kind: str, codes: np.ndarray, key) -> _Shared:
    """Distinct pairs of accounts (node numbers ``codes``, -1 for unknown) and the ``key`` they carry.

    Pairs keep the order in which they first appear.
    """
    key = key if isinstance(key, pd.Series) else pd.Series(np.asarray(key, dtype=object))
    keep = key.notna().to_numpy() & (codes >= 0)
    value_code, values = pd.factorize(key[keep])
    account, value = codes[keep].astype(np.int64), value_code.astype(np.int64)
    first = _first_occurrences(value * (int(account.max(initial=0)) + 1) + account)
    return _Shared(kind, account[first], value[first], np.asarray(values, dtype=object))


def _first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct key, in order (a hash, not a sort)."""
    return np.flatnonzero(~pd.Series(keys).duplicated().to_numpy())


def template_hours(prompts: pd.DataFrame, accounts: pd.Index, codes: np.ndarray | None = None, names: list | None = None) -> pd.DataFrame:
    """Distinct (account, template, hour) triples of the prompts that carry a time.

    Columns ``account`` (node number in ``accounts``), ``t`` (template number)
    and ``h`` (hours since the epoch); prompts of unknown accounts are left out.
    ``codes`` gives the prompts' account node numbers when they are known already.
    When ``names`` is a list, the template id of each template number is appended to it.
    """
    if "ts" not in prompts.columns or "template_id" not in prompts.columns or len(prompts) == 0:
        return pd.DataFrame({"account": np.zeros(0, np.int64), "t": np.zeros(0, np.int64), "h": np.zeros(0, np.int64)})
    timed = prompts["ts"].notna().to_numpy()
    codes = accounts.get_indexer(prompts["account_id"]) if codes is None else codes
    account = codes[timed].astype(np.int64)
    template, uniques = pd.factorize(prompts["template_id"][timed])
    if names is not None:
        names.extend(map(str, uniques))
    template = template.astype(np.int64)
    hour = prompts["ts"][timed].astype("int64").to_numpy() // 3_600_000_000_000
    known = account >= 0
    account, template, hour = account[known], template[known], hour[known]
    first_hour = hour.min() if len(hour) else 0
    span = np.array([account.max(initial=0) + 1, template.max(initial=0) + 1, hour.max(initial=0) - first_hour + 1], dtype=object)
    if span.prod() < 2**62:  # one integer per triple: a hash of int64s instead of a three-column drop_duplicates
        packed = (account * int(span[1]) + template) * int(span[2]) + (hour - first_hour)
        first = _first_occurrences(packed)
        return pd.DataFrame({"account": account[first], "t": template[first], "h": hour[first]})
    frame = pd.DataFrame({"account": account, "t": template, "h": hour})
    return frame.drop_duplicates().reset_index(drop=True)


def lockstep_tokens(hours: pd.DataFrame) -> pd.DataFrame:
    """(account, template-hour) pairs where a template was sent in one hour far above chance.

    ``hours`` is a :func:`template_hours` frame. Chance is what the template's
    share of all template-hours and the hour's share predict together. Returns
    columns ``account``, ``token`` and ``lift`` (observed accounts over expected).
    """
    if len(hours) == 0:
        return pd.DataFrame({"account": np.zeros(0, np.int64), "token": np.zeros(0, np.int64), "lift": np.zeros(0)})
    total = len(hours)
    per_template = hours.groupby("t").size()
    per_hour = hours.groupby("h").size()
    token = hours.groupby(["t", "h"]).size().rename("observed").reset_index()
    expected = per_template.reindex(token["t"]).to_numpy() * per_hour.reindex(token["h"]).to_numpy() / total
    token["lift"] = token["observed"].to_numpy() / np.maximum(expected, 1e-9)
    token = token[(token["observed"] >= 3) & (token["lift"] >= LOCKSTEP_LIFT)]
    merged = hours.merge(token[["t", "h", "lift"]], on=["t", "h"])
    merged["token"] = merged["t"].astype("int64") * 10_000_000 + merged["h"].astype("int64")
    return merged[["account", "token", "lift"]]


def build_evidence_graph(evidence: Evidence, seed: int = 0, hub_share: float = HUB_SHARE) -> EvidenceGraph:
    """Build the account-evidence graph and its weighted account projection.

    ``evidence.prompts`` must carry a ``template_id`` column (derive templates
    from raw text first). ``seed`` fixes the shuffles behind the circulant
    stand-ins, so the same input and seed give the same graph.
    """
    accounts = pd.Index(evidence.accounts["account_id"])
    for table in ("payments", "ips", "prompts", "links"):
        evidence.account_positions(table)  # looked up (if reading did not) before the threads share them
    with ThreadPoolExecutor(_BUILDERS, thread_name_prefix="graphsleuth-graph") as pool:
        from_hours = pool.submit(_lockstep_evidence, evidence, accounts)
        from_templates = pool.submit(_template_evidence, evidence)
        from_links = pool.submit(_link_evidence, evidence)
        parts = _payment_and_ip_evidence(evidence)
        lockstep, hours, tokens, template_names = from_hours.result()
        parts += [from_templates.result(), lockstep, from_links.result(), _wave_hours(tokens), _creation_tokens(evidence)]
        parts = [part for part in parts if part is not None]
        links_frame, nodes, shared = _evidence_nodes(parts, len(accounts), hub_share)
        source, target, weight = _project(links_frame, nodes, len(accounts), seed)
    return EvidenceGraph(
        accounts,
        links_frame,
        nodes,
        source,
        target,
        weight,
        template_hours=hours,
        lockstep=tokens,
        shared=shared,
        template_names=template_names,
    )


#: Threads that find the evidence side by side (besides the caller's, which finds the
#: payments' and IPs'): pandas' hash tables, NumPy's sorts and Arrow's kernels release
#: the GIL. At 1M accounts the payments and IPs take 2.0 s, the templates 0.6 s, the
#: lockstep tokens 1.4 s and the links 0.7 s: 5.4 s one after another, 3.4 to 3.8 s
#: side by side on two cores.
_BUILDERS = 2


def _payment_and_ip_evidence(evidence: Evidence) -> list[_Shared]:
    """Cards, their BINs, IPs and their subnets, as shared evidence (in that order)."""
    pay = evidence.payments
    codes = evidence.account_positions("payments")
    parts = [_shared("card", codes, pay["payment_id"])]
    if "bin" in pay.columns:
        parts.append(_shared("bin", codes, pay["bin"]))
    ips = evidence.ips
    codes = evidence.account_positions("ips")
    parts.append(_shared("ip", codes, ips["ip"]))
    parts.append(_shared("subnet", codes, subnet_of(ips["ip"]) if len(ips) else pd.Series([], dtype=object)))
    return parts


def _template_evidence(evidence: Evidence) -> _Shared | None:
    """Prompt templates as shared evidence (None when prompts carry no template)."""
    prompts = evidence.prompts
    if "template_id" not in prompts.columns:
        return None
    return _shared("template", evidence.account_positions("prompts"), prompts["template_id"])


def _lockstep_evidence(evidence: Evidence, accounts: pd.Index):
    """Lockstep tokens as shared evidence, with the template-hours and tokens behind them.

    Returns (part, template-hours, lockstep tokens, the template id of each template number);
    all None without templates.
    """
    prompts = evidence.prompts
    if "template_id" not in prompts.columns:
        return None, None, None, None
    names: list[str] = []
    if evidence.lockstep is not None:
        hours, tokens = _request_level_lockstep(evidence, accounts, names)
    else:
        hours = template_hours(prompts, accounts, evidence.account_positions("prompts"), names)
        tokens = lockstep_tokens(hours)
    return _shared("lockstep", tokens["account"].to_numpy(), tokens["token"]), hours, tokens, names


def lockstep_evidence(evidence: Evidence, accounts: pd.Index) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[str] | None]:
    """The template-hours, the lockstep tokens among them and each template number's id (all None without templates).

    What the embedded build takes its lockstep evidence from; another engine asks for the same.
    """
    _, hours, tokens, names = _lockstep_evidence(evidence, accounts)
    return hours, tokens, names


def creation_tokens(evidence: Evidence) -> pd.DataFrame | None:
    """The accounts created in a burst hour and that hour (columns ``account``, ``hour``); None without creation times."""
    part = _creation_tokens(evidence)
    if part is None:
        return None
    return pd.DataFrame({"account": part.account, "hour": part.values[part.value].astype(np.int64)})


def _request_level_lockstep(evidence: Evidence, accounts: pd.Index, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Template-hours and lockstep tokens from ingested request logs (evidence with a ``lockstep`` table).

    Its prompts hold one row per (account, template) with ``hours``, the distinct
    hours it was sent in; the lockstep table names the (account, template, hour)
    triples in lockstep, found from the requests' own times. The template-hours
    frame lists each (account, template) ``hours`` times, so that shares count
    an account's template-hours as they do from timed prompt rows; its ``h`` is
    the hour of the first request (the others are counted, not listed).
    """
    prompts = evidence.prompts
    codes = evidence.account_positions("prompts")
    template, uniques = pd.factorize(prompts["template_id"])
    names.extend(map(str, uniques))
    repeat = prompts["hours"].fillna(1).to_numpy(dtype=np.int64) if "hours" in prompts.columns else np.ones(len(prompts), np.int64)
    first_hour = prompts["ts"].astype("int64").to_numpy() // 3_600_000_000_000 if "ts" in prompts.columns else np.zeros(len(prompts))
    known = codes >= 0
    repeat = np.where(known, repeat, 0)
    hours = pd.DataFrame(
        {"account": np.repeat(codes, repeat), "t": np.repeat(template.astype(np.int64), repeat), "h": np.repeat(first_hour, repeat)}
    )
    steps = evidence.lockstep
    account = accounts.get_indexer(steps["account_id"])
    t = pd.Index(uniques).get_indexer(steps["template_id"])
    hour = steps["hour"].astype("int64").to_numpy() // 3_600_000_000_000
    keep = (account >= 0) & (t >= 0)
    lift = steps["lift"].to_numpy(dtype=float) if "lift" in steps.columns else np.full(len(steps), np.nan)
    tokens = pd.DataFrame({"account": account[keep], "token": t[keep].astype(np.int64) * 10_000_000 + hour[keep], "lift": lift[keep]})
    return hours, tokens


def _creation_tokens(evidence: Evidence) -> _Shared | None:
    """The hours in which far more accounts were created than the population's rate gives: a burst's accounts share one.

    The rate is the mean over the hours between the 5th and 95th percentile creation times; an hour is a
    token when at least three accounts and :data:`CREATION_LIFT` times that rate were created in it.
    """
    accounts = evidence.accounts
    if "created_at" not in accounts.columns or not accounts["created_at"].notna().any():
        return None
    created = accounts["created_at"]
    known = created.notna().to_numpy()
    hour = created[known].astype("int64").to_numpy() // 3_600_000_000_000
    low, high = np.percentile(hour, [5, 95])
    rate = max(known.sum() * 0.9 / max(high - low, 1.0), 1e-9)
    counts = pd.Series(hour).value_counts()
    bursts = counts.index[(counts >= 3) & (counts >= CREATION_LIFT * rate)]
    in_burst = np.isin(hour, bursts.to_numpy())
    positions = evidence.account_positions("accounts")[known]
    return _shared("created", positions[in_burst], pd.Series(hour[in_burst]))


def _wave_hours(tokens: pd.DataFrame | None) -> _Shared | None:
    """The hours in which each account sent a template in lockstep (hours since the epoch)."""
    if tokens is None:
        return None
    hour = tokens["token"].to_numpy() % 10_000_000
    return _shared("wave_hour", tokens["account"].to_numpy(), pd.Series(hour))


def _link_evidence(evidence: Evidence) -> _Shared:
    """Linked identifiers (devices, phones, ...) as shared evidence, each value named ``kind:value``."""
    links = evidence.links
    return _shared("link", evidence.account_positions("links"), links["kind"].astype("str") + ":" + links["value"].astype("str"))


def _evidence_nodes(parts: list[_Shared], n_accounts: int, hub_share: float):
    """Number the evidence, count who shares it, weigh it by rarity, drop hubs and singletons.

    Each part's (account, value) pairs are distinct already, so the numbered pairs are too.
    """
    sizes = np.array([len(part.values) for part in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n_evidence = int(offsets[-1])
    account = np.concatenate([part.account for part in parts]) if parts else np.zeros(0, np.int64)
    evidence_of = np.concatenate([part.value + offsets[i] for i, part in enumerate(parts)]) if parts else np.zeros(0, np.int64)
    degree = np.bincount(evidence_of, minlength=n_evidence)
    kind_names = np.array([part.kind for part in parts], dtype=object)
    nodes = pd.DataFrame(
        {
            "kind": pd.Series(np.repeat(kind_names, sizes), dtype=object),
            "value": pd.Series(np.concatenate([part.values for part in parts]) if parts else [], dtype=object),
            "degree": degree,
        }
    )
    kinds = np.repeat(kind_names, sizes)
    nodes["weight"] = evidence_weights(kinds, degree, n_accounts)
    useful, nodes["hub"] = projected_evidence(kinds, degree, n_accounts, hub_share)
    keep = useful[evidence_of]
    links = pd.DataFrame({"account": account[keep], "evidence": evidence_of[keep]})
    many = (degree >= 2)[evidence_of]
    return links, nodes, (account[many].astype(np.int32), evidence_of[many].astype(np.int32))


def evidence_weights(kinds: np.ndarray, degree: np.ndarray, n_accounts: int) -> np.ndarray:
    """The weight of each piece of evidence: its rarity among ``n_accounts`` (shared by ``degree``) times its kind's factor.

    One rule for every engine: the embedded build and the Spark engine (on its executors) both call this.
    """
    log_n = np.log(max(n_accounts, 3))
    rarity = np.log(n_accounts / np.maximum(degree, 1)) / log_n
    factor = pd.Series(kinds, dtype=object).map(EVIDENCE_KINDS).fillna(1.0).to_numpy(dtype=float)
    return np.clip(rarity, 0, 1) * factor


def projected_evidence(
    kinds: np.ndarray, degree: np.ndarray, n_accounts: int, hub_share: float = HUB_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """Which pieces of evidence the projection uses (shared, not a hub, of a projected kind), and which are hubs."""
    hub_limit = max(50, int(min(hub_share * n_accounts, HUB_LIMIT)))
    projected = ~np.isin(kinds, list(NOT_PROJECTED))
    return (degree >= 2) & (degree <= hub_limit) & projected, degree > hub_limit


def circulant_caps(kinds: np.ndarray) -> np.ndarray:
    """How many times its own weight each piece of evidence may put on one circulant edge, by its kind."""
    timing = pd.Series(kinds, dtype=object).isin(TIMING_KINDS).to_numpy()
    return np.where(timing, TIMING_SCALE_CAP, CIRCULANT_SCALE_CAP)


def project_groups(
    ev: np.ndarray, acct: np.ndarray, w: np.ndarray, cap: np.ndarray | float = CIRCULANT_SCALE_CAP
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The account edges that pieces of evidence give, before edges of the same pair are summed.

    ``ev`` (evidence numbers), ``acct`` (accounts), ``w`` (each row's evidence weight) and ``cap``
    (each row's :func:`circulant_caps`) are sorted by evidence and, within one, in the seeded order
    that picks a circulant's neighbours. A piece shared by up to :data:`CLIQUE_LIMIT` accounts gives
    a clique; a larger one a circulant graph with :data:`CIRCULANT_K` neighbours on each side.
    Returns (source, target, weight), self-pairs left out. The Spark engine calls it on its
    executors, one bucket of evidence at a time.
    """
    if len(ev) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    starts = np.flatnonzero(np.r_[True, ev[1:] != ev[:-1]])
    sizes = np.diff(np.r_[starts, len(ev)])
    size = np.repeat(sizes, sizes)
    start = np.repeat(starts, sizes)
    pos = np.arange(len(ev)) - start
    src, dst, wt = [], [], []
    small = size <= CLIQUE_LIMIT
    for offset in range(1, CLIQUE_LIMIT):
        sel = small & (pos + offset < size)
        if not sel.any():
            break
        idx = np.flatnonzero(sel)
        src.append(acct[idx])
        dst.append(acct[idx + offset])
        wt.append(w[idx])
    large = np.flatnonzero(~small)
    if len(large):
        d = size[large]
        scale = w[large] * np.minimum((d - 1) / (2 * CIRCULANT_K), np.broadcast_to(cap, w.shape)[large])
        for offset in range(1, CIRCULANT_K + 1):
            src.append(acct[large])
            dst.append(acct[start[large] + (pos[large] + offset) % d])
            wt.append(scale)
    if not src:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    src, dst, wt = np.concatenate(src), np.concatenate(dst), np.concatenate(wt)
    keep = src != dst
    return src[keep], dst[keep], wt[keep]


def _project(links: pd.DataFrame, nodes: pd.DataFrame, n_accounts: int, seed: int):
    """Project account-evidence links onto accounts: cliques when small, circulants when large."""
    if len(links) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    rng = np.random.default_rng(seed)
    ev = links["evidence"].to_numpy()
    acct = links["account"].to_numpy()
    order = _shuffled_groups(ev, rng.random(len(ev)))
    ev, acct = ev[order], acct[order]
    src, dst, wt = project_groups(ev, acct, nodes["weight"].to_numpy()[ev], circulant_caps(nodes["kind"].to_numpy())[ev])
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    packed = lo.astype(np.int64) * n_accounts + hi
    unique, summed = _summed_by_key(packed, wt)
    return unique // n_accounts, unique % n_accounts, summed


def _shuffled_groups(group: np.ndarray, shuffle: np.ndarray) -> np.ndarray:
    """The order that sorts by ``group``, and within a group by ``shuffle`` (floats in [0, 1)).

    The same order as ``np.lexsort((shuffle, group))``, from one sort of one integer
    per row (the group above 40 bits of its shuffle): NumPy's vectorised quicksort of
    2.6M integers takes 0.09 s, against 0.67 s for lexsort. It is not stable, so when
    two rows share an integer (a group whose shuffles agree in 40 bits: about once in
    5,500 runs at 1M accounts, from the groups' sizes) the stable sort orders them as
    lexsort would. Beyond 2**23 groups the integer would not hold both, and lexsort does it.
    """
    if len(group) and group.max() >= 1 << 23:
        return np.lexsort((shuffle, group))
    key = (group.astype(np.int64) << 40) | (shuffle * (1 << 40)).astype(np.int64)
    order = np.argsort(key)
    ordered = key[order]
    if np.any(ordered[1:] == ordered[:-1]):
        return np.argsort(key, kind="stable")
    return order


def _summed_by_key(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys`` in increasing order and the sum of the ``weights`` of each.

    What ``np.unique(return_inverse=True)`` and a bincount give, with the inverse made
    from one argsort: 0.6 s against 1.6 s for 9M keys. Any order that sorts the keys
    gives the same inverse, so NumPy's vectorised quicksort serves; the bincount adds
    each key's weights in the keys' own order, as before, so the sums are the same to
    the last bit (Leiden notices a difference in the 15th digit).
    """
    if len(keys) == 0:
        return keys, np.zeros(0)
    order = np.argsort(keys)
    ordered = keys[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], np.bincount(inverse, weights=weights)
