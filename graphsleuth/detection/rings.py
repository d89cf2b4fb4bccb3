"""Rings: the flagged pieces of one operator, joined through the infrastructure and timing they share.

Clustering finds dense pieces, and a ring of thousands of accounts comes out
as many of them. Pieces are joined into one ring only when they share
infrastructure or timing: cards, BINs bought in bulk, proxy IPs and subnets,
devices and keys, lockstep tokens (a template sent in one hour by several of
them). Prompt content alone never joins pieces: operators share distillation
tooling, and templates they have in common make a campaign
(:mod:`.campaigns`), not one ring.

A piece of evidence counts as held by the flagged pieces when their members
use it far more than their share of the population predicts (relative
density, judged by a binomial test): a VPN exit or a popular BIN that
thousands of strangers use is held by nobody, a BIN that 300 ring members
and 400 others use is held, whatever its size. The flagged pieces and the held evidence they share make a graph of
pieces, each tie weighted by how many member pairs an item matches
(``min(n_A, n_B)`` members of pieces A and B on it); its communities under
modularity, which measures ties against what the pieces' own totals predict,
are the rings. The pieces of one ring buy from the same BINs, route through
the same proxy pool and send in the same waves, so they are tied many times
over; two operators that happen to route through one home's IP, or to send
one template in the same hour, are tied a few times, far less than chance
between pieces that busy would give.
"""

from __future__ import annotations

import random

import igraph as ig
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import binom

from .features import HELD_CHANCE, HELD_LIFT, held_beyond_chance
from .graph import EvidenceGraph
from .organisations import ORGANISATION_SEATS

__all__ = ["join_rings", "rejoined_by_chance", "JOIN_KINDS", "HELD_CHANCE", "HELD_LIFT", "JOIN_SIMILARITY", "PIECE_BIN_CHANCE"]

#: The kinds of evidence that can join pieces into one ring: infrastructure and timing, never templates.
JOIN_KINDS = ("card", "bin", "subnet", "link", "wave_hour")
#: One piece holds an item on its own (:func:`_held_by_a_piece`) only when flagged members are at least this
#: share of its users: a small ring's own BIN or proxy is mostly its members', while an issuer or a provider
#: that a large unflagged ring and hundreds of customers share is not, and would bring them all in.
PIECE_HELD_SHARE = 1 / 3
#: Two pieces join when their profiles over one kind of held evidence are at least this alike (cosine).
JOIN_SIMILARITY = 0.5
#: The kinds of held evidence that are infrastructure (the others are timing).
INFRASTRUCTURE = ("card", "bin", "subnet", "link")
#: Two pieces that both sent in lockstep in at least TIMING_SEEN hours, in profiles less alike than this, are
#: two operators' (one operator's pieces send in its waves). Two hours are enough: a hackathon's piece that
#: sent its starter prompts in two hours of the event and a ring's piece with twenty waves in none of them
#: were joined by one popular BIN when three were asked for...
TIMING_APART = 0.25
TIMING_SEEN = 2
#: ...and so are two pieces that both hold at least INFRASTRUCTURE_SEEN items of one kind of infrastructure
#: (BINs, cards, subnets, devices), less alike in it than this: one operator's pieces buy from its BINs and
#: route through its proxies...
INFRASTRUCTURE_APART = 0.1
INFRASTRUCTURE_SEEN = 1
#: ...and two pieces that both have at least TOOLING_SEEN templates of their own, less alike than this.
TOOLING_APART = 0.05
TOOLING_SEEN = 3
#: Templates of their own in common count for half a vote for one operator: operators share toolkits.
TOOLING_VOTE = 0.5
#: Two communities of tied pieces are one ring when the tie weight between them is at least this share of
#: what chance gives (one operator's pieces that modularity splits are tied about a third as often as
#: chance across the split; a ring and a hackathon that share one popular BIN, a hundredth).
TIE_SEPARATION = 0.2
#: A piece tied once into a ring, to a piece with this many ties in it, is set apart (:func:`_lone_ties_apart`).
LONE_TIE_PARTNER = 3
#: A piece counts a held BIN as its own only when its own members pay from it more often than the BIN's
#: popularity gives this often at most: a BIN a ring buys hundreds of cards from is held, and a hackathon's
#: piece whose two card holders bank with that popular issuer must not be joined to the ring by it.
PIECE_BIN_CHANCE = 0.01
#: A piece's active window runs from this quantile of its members' prompt hours to its complement.
WINDOW_QUANTILE = 0.05
#: Two pieces were active together when the overlap of their windows is at least this share of the shorter.
WINDOW_OVERLAP = 0.5
#: An account outside every flagged piece joins a ring when it uses that ring's held evidence of this many kinds.
OUTSIDE_KINDS = 2
#: A ring's own templates count as one kind of its evidence for an outside account that sends this many of them.
OUTSIDE_TEMPLATES = 2
#: Outside accounts are brought in at most this many times, each time against the grown rings' held evidence.
OUTSIDE_ROUNDS = 3


def join_rings(
    graph: EvidenceGraph,
    labels: np.ndarray,
    flagged: np.ndarray,
    is_member: np.ndarray,
    own_templates: pd.DataFrame | None = None,
    min_size: int = 1,
    domains: np.ndarray | None = None,
) -> np.ndarray:
    """New cluster labels: flagged pieces of one ring joined, outside accounts that use a ring's evidence added.

    ``flagged`` lists the cluster numbers flagged as rings; ``is_member`` (one
    flag per account) marks the accounts of flagged pieces that show the
    ring's signals: only they are carried into the ring, and their pieces'
    other accounts are set apart on their own, so that households and
    companies that clustering put next to a piece do not dilute the ring.
    Accounts of unflagged clusters keep their labels unless they join a ring.
    ``own_templates`` (columns cluster, template_id) are the pieces' characteristic
    templates: they never join pieces, but two pieces with none in common are kept apart.
    A ring of fewer than ``min_size`` members (too small to report) is no ring: its
    members may join another as outside accounts do. ``domains`` (per account, its
    organisation's email domain or None, :func:`.organisations.account_domains`) keeps
    an organisation's seats out of rings none of whose members are on its domain.
    """
    member = is_member & np.isin(labels, flagged)
    if not member.any() or graph.shared is None:
        return labels
    usage = _held_usage(graph, labels, member)
    piece_ids, piece_of_member = np.unique(labels[member], return_inverse=True)
    ring_of_piece = _joined_pieces(usage.held_by_all(), len(piece_ids), _tooling(own_templates, piece_ids))
    base = int(labels.max()) + 1
    new = labels.copy()
    in_flagged = np.isin(labels, piece_ids)
    left_out = np.flatnonzero(in_flagged & ~member)
    ring = np.full(len(labels), -1, dtype=np.int64)
    ring[member] = ring_of_piece[piece_of_member]
    new[member] = base + ring[member]
    n_rings = int(ring_of_piece.max()) + 1
    new[left_out] = base + n_rings + np.arange(len(left_out))
    ring_of_template = _ring_templates(graph, own_templates, piece_ids, ring_of_piece)
    # a ring too small to report is its members' evidence, not a ring: they may join a larger one
    too_small = np.bincount(ring[member]) < min_size
    ring[member & too_small[np.maximum(ring, 0)]] = -1
    brought = _brought_in(graph, usage, ring_of_piece, ring, ring_of_template, _organisations(domains))
    new[brought] = base + ring[brought]
    return new


class _Usage:
    """Which held evidence the members of each flagged piece use: one row per (piece, item), with its kind
    and the share of the piece's members that use it."""

    def __init__(
        self,
        piece: np.ndarray,
        item: np.ndarray,
        kind: np.ndarray,
        count: np.ndarray,
        share: np.ndarray,
        held: np.ndarray,
        item_kind: np.ndarray,
        hour: np.ndarray,
        window: np.ndarray | None,
        by_all: np.ndarray,
    ):
        self.piece, self.item, self.kind, self.count, self.share = piece, item, kind, count, share
        self.held = held
        self.item_kind = item_kind
        #: The hour of each lockstep item (-1 for other kinds), and each piece's active window (pieces x 2, see
        #: :func:`_active_windows`), or None when prompts carry no time.
        self.hour = hour
        self.window = window
        #: Per held item: whether the flagged pieces hold it all together (else one piece holds it on its own).
        self.by_all = by_all

    def held_by_all(self) -> _Usage:
        """The rows of the items the flagged pieces hold all together: what joins pieces. An item only one
        small piece holds on its own brings in accounts clustering placed elsewhere, but a piece that holds
        its own BIN is not thereby unlike the operator's other pieces."""
        rows = self.by_all[self.item]
        return _Usage(
            self.piece[rows],
            self.item[rows],
            self.kind[rows],
            self.count[rows],
            self.share[rows],
            self.held & self.by_all,
            self.item_kind,
            self.hour,
            self.window,
            self.by_all,
        )


def _held_usage(graph: EvidenceGraph, labels: np.ndarray, member: np.ndarray) -> _Usage:
    """The held evidence each flagged piece's members use, pieces numbered as ``np.unique(labels[member])``."""
    account, item = graph.shared
    item_kind = graph.derived("join_kind", lambda: _join_kinds(graph))
    joinable = item_kind[item] >= 0
    account, item = account[joinable].astype(np.int64), item[joinable].astype(np.int64)
    n_items = len(item_kind)
    inside = member[account]
    users_inside = np.bincount(item[inside], minlength=n_items)
    users = graph.evidence["degree"].to_numpy()
    member_share = member.sum() / len(member)
    by_all = held_beyond_chance(users_inside, users, member_share)
    _, piece_of_member = np.unique(labels[member], return_inverse=True)
    piece_index = np.full(len(member), -1, dtype=np.int64)
    piece_index[member] = piece_of_member
    size = np.bincount(piece_of_member)
    mostly_members = users_inside >= max(HELD_LIFT * member_share, PIECE_HELD_SHARE) * users
    held = by_all | mostly_members & _held_by_a_piece(piece_index[account[inside]], item[inside], users, size / len(member))
    use = inside & held[item]
    distinct, count = np.unique(piece_index[account[use]] * n_items + item[use], return_counts=True)
    piece, e = distinct // n_items, distinct % n_items
    by_chance = _used_by_chance(item_kind[e], count, size[piece], users[e] / len(member))
    piece, e, count = piece[~by_chance], e[~by_chance], count[~by_chance]
    hour = np.full(n_items, -1, dtype=np.int64)
    timed = item_kind == JOIN_KINDS.index("wave_hour")
    hour[timed] = graph.evidence["value"].to_numpy()[timed].astype(np.int64)
    window = _active_windows(graph.template_hours, piece_index, len(size))
    return _Usage(piece, e, item_kind[e], count, count / size[piece], held, item_kind, hour, window, by_all)


def _join_kinds(graph: EvidenceGraph) -> np.ndarray:
    """Per evidence item: the position of its kind in :data:`JOIN_KINDS` (-1: a kind that never joins pieces)."""
    return pd.Index(JOIN_KINDS).get_indexer(graph.evidence["kind"].to_numpy()).astype(np.int64)


def _brought_in(
    graph: EvidenceGraph,
    usage: _Usage,
    ring_of_piece: np.ndarray,
    ring: np.ndarray,
    ring_of_template: np.ndarray,
    organisation: np.ndarray | None = None,
) -> np.ndarray:
    """The accounts outside the flagged pieces that join a ring (:func:`_outside_joins`); ``ring`` (per account,
    -1 for none) gains their rings. Each account brought in makes more of its ring's evidence the ring's own: a
    careful operator's cards come from four BINs, and the pieces clustering flagged may hold too few of one
    BIN's users for it to count until the members found through the other three join. So outside accounts are
    brought in again, against the grown rings' held evidence, up to :data:`OUTSIDE_ROUNDS` times.

    ``organisation`` (per account, a number for its organisation, -1 for none) keeps a company's seats out of a
    ring none of whose members sit on its domain: an evaluation company that runs its suites at night on the
    cloud a ring's proxies use shares the ring's network and hours, not its operator."""
    outside = ring < 0
    joins = _outside_joins(graph, usage, ring_of_piece, ~outside, ring_of_template)
    joins = _within_organisations(joins, ring, organisation)
    for _ in range(OUTSIDE_ROUNDS):
        grown = (joins >= 0) & (ring < 0)
        if not grown.any():
            break
        ring[grown] = joins[grown]
        rings = np.unique(ring[ring >= 0])
        joins = _outside_joins(graph, _held_usage(graph, ring, ring >= 0), rings, ring >= 0, ring_of_template)
        joins = _within_organisations(joins, ring, organisation)
    return np.flatnonzero(outside & (ring >= 0))


def _organisations(domains: np.ndarray | None) -> np.ndarray | None:
    """Per account: a number for its organisation's email domain when at least :data:`ORGANISATION_SEATS`
    accounts are on it, else -1 (free mail, no email, a domain of one's own); None without ``domains``."""
    if domains is None:
        return None
    code, _ = pd.factorize(pd.Series(domains, dtype=object))
    seats = np.bincount(code[code >= 0], minlength=int(code.max(initial=-1)) + 1)
    if len(seats) == 0:
        return code
    return np.where((code >= 0) & (seats[np.maximum(code, 0)] >= ORGANISATION_SEATS), code, -1)


def _within_organisations(joins: np.ndarray, ring: np.ndarray, organisation: np.ndarray | None) -> np.ndarray:
    """``joins`` (per account, the ring it would join, -1: none) without an organisation's seats joining a ring
    that has no member on their organisation's domain."""
    seated = (joins >= 0) & (organisation >= 0) if organisation is not None else None
    if seated is None or not seated.any():
        return joins
    n = int(organisation.max()) + 1
    members = (ring >= 0) & (organisation >= 0)
    held = np.unique(ring[members] * n + organisation[members])
    out = joins.copy()
    out[seated & ~np.isin(joins * n + organisation, held)] = -1
    return out


def _used_by_chance(kind: np.ndarray, count: np.ndarray, size: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Per (piece, held item) row: whether the piece's use of the item is what its size gives any accounts.
    Its members pay from a BIN no more often than the BIN's popularity gives at :data:`PIECE_BIN_CHANCE`, or use
    other infrastructure less than :data:`HELD_LIFT` times as often as its popularity gives (one member of a
    piece of a thousand who carries another ring's device): the piece does not count the item as its own."""
    bins = (kind == JOIN_KINDS.index("bin")) & (binom.sf(count - 1, size, popularity) > PIECE_BIN_CHANCE)
    infrastructure = np.isin(kind, [JOIN_KINDS.index(name) for name in INFRASTRUCTURE])
    return bins | infrastructure & (count < HELD_LIFT * size * popularity)


def _active_windows(hours: pd.DataFrame | None, piece_index: np.ndarray, n_pieces: int) -> np.ndarray | None:
    """Each piece's active window: the hours its members' prompts span, from the
    :data:`WINDOW_QUANTILE` quantile to its complement (pieces x 2; None without timed prompts)."""
    if hours is None or len(hours) == 0:
        return None
    piece = piece_index[hours["account"].to_numpy()]
    mine = piece >= 0
    frame = pd.DataFrame({"piece": piece[mine], "h": hours["h"].to_numpy()[mine]})
    spans = frame.groupby("piece")["h"].quantile([WINDOW_QUANTILE, 1 - WINDOW_QUANTILE]).unstack()
    # a piece none of whose members sent a timed prompt counts as active throughout
    window = np.full((n_pieces, 2), [np.iinfo(np.int64).min // 2, np.iinfo(np.int64).max // 2], dtype=np.int64)
    window[spans.index.to_numpy()] = np.floor(spans.to_numpy()).astype(np.int64)
    return window


def _tooling(own_templates: pd.DataFrame | None, piece_ids: np.ndarray) -> csr_matrix | None:
    """Which characteristic templates each flagged piece has (pieces x templates), or None."""
    if own_templates is None or len(own_templates) == 0:
        return None
    own = own_templates[own_templates["cluster"].isin(piece_ids)]
    templates, column = np.unique(own["template_id"].astype(str), return_inverse=True)
    rows = np.searchsorted(piece_ids, own["cluster"].to_numpy())
    return csr_matrix((np.ones(len(own)), (rows, column)), shape=(len(piece_ids), len(templates)))


def _held_by_a_piece(piece: np.ndarray, item: np.ndarray, users: np.ndarray, piece_share: np.ndarray) -> np.ndarray:
    """Which items one piece could hold on its own (per item; ``piece`` and ``item`` list who uses what): so many
    of their users are its members that chance, each user a member with the piece's share of all accounts, would
    give as many at most :data:`HELD_CHANCE` often. Large rings make every flagged account common, so a small
    ring's BINs and waves are tested against its own size; :data:`PIECE_HELD_SHARE` then asks that flagged
    members be a good part of the item's users."""
    n_items = len(users)
    distinct, count = np.unique(piece * n_items + item, return_counts=True)
    piece, item = distinct // n_items, distinct % n_items
    held = np.zeros(n_items, dtype=bool)
    held[item[held_beyond_chance(count, users[item], piece_share[piece], lift=0.0)]] = True
    return held


def _joined_pieces(usage: _Usage, n_pieces: int, own_templates: csr_matrix | None = None) -> np.ndarray:
    """The ring of each flagged piece: pieces that more evidence calls one operator's than two, transitively.

    Each kind of evidence both pieces show casts a vote: for one operator when their
    profiles over it are alike (:data:`JOIN_SIMILARITY`), for two when they are
    unlike (held infrastructure of one kind, cards, BINs, subnets or devices, with
    nothing in common; lockstep in different hours; templates of their own with
    none in common). Templates in common vote for one operator with half a vote:
    operators share toolkits. Pieces join when the votes for one operator
    outnumber those for two, and at least one kind of infrastructure or timing is
    alike: an operator's pieces buy from its BINs, route through its proxies and
    send in its waves, and one of these may differ between them (its accounts
    split by the BIN they paid with); two operators that share a toolkit's
    schedule, or an issuer of prepaid cards, differ in the rest.
    """
    kinds = [*INFRASTRUCTURE, "wave_hour"]
    similarity = {kind: _similarity(usage, JOIN_KINDS.index(kind), n_pieces) for kind in kinds}
    seen = {kind: _counts(usage, JOIN_KINDS.index(kind), n_pieces) for kind in kinds}
    candidates = None
    for kind in kinds:
        candidates = similarity[kind] if candidates is None else candidates.maximum(similarity[kind])
    candidates = candidates.tocoo()
    keep = (candidates.row < candidates.col) & (candidates.data >= JOIN_SIMILARITY)
    a, b = candidates.row[keep], candidates.col[keep]
    same, apart = np.zeros(len(a)), np.zeros(len(a))
    for kind in INFRASTRUCTURE:
        value = _pair_values(similarity[kind], a, b)
        same += value >= JOIN_SIMILARITY
        apart += (seen[kind][a] >= INFRASTRUCTURE_SEEN) & (seen[kind][b] >= INFRASTRUCTURE_SEEN) & (value < INFRASTRUCTURE_APART)
    timing = _pair_values(similarity["wave_hour"], a, b)
    same += timing >= JOIN_SIMILARITY
    apart += _timing_apart(usage, a, b, timing, seen["wave_hour"])
    if own_templates is not None:
        tooling = _pair_values(_cosine(own_templates), a, b)
        count = np.asarray((own_templates > 0).sum(axis=1)).ravel()
        both = (count[a] >= TOOLING_SEEN) & (count[b] >= TOOLING_SEEN)
        same += TOOLING_VOTE * (both & (tooling >= JOIN_SIMILARITY))
        apart += both & (tooling < TOOLING_APART)
    joined = same > apart
    return _tie_communities(a[joined], b[joined], (same - apart)[joined], n_pieces)


def _timing_apart(usage: _Usage, a: np.ndarray, b: np.ndarray, full: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Per pair of pieces (a[i], b[i]): whether they sent in lockstep in different hours while both were active.

    An operator's accounts made months apart send in the waves of their own months: two of
    its pieces whose active windows barely overlap share few wave hours, and that says
    nothing. So the lockstep hours inside the overlap of the two windows are compared when
    both pieces have :data:`TIMING_SEEN` there (profiles less alike than
    :data:`TIMING_APART`); when they have not, the whole profiles (``full``, with ``seen``
    hours per piece) are, as long as the overlap covers at least :data:`WINDOW_OVERLAP` of
    the shorter window: pieces active at the same time that send in different hours, or one
    in waves and the other in none of them, are two operators.
    """
    code = JOIN_KINDS.index("wave_hour")
    whole = (seen[a] >= TIMING_SEEN) & (seen[b] >= TIMING_SEEN) & (full < TIMING_APART)
    timed = np.flatnonzero(usage.kind == code)
    if len(a) == 0 or len(timed) == 0 or usage.window is None:
        return whole
    rows = pd.DataFrame(
        {"piece": usage.piece[timed], "item": usage.item[timed], "share": usage.share[timed], "h": usage.hour[usage.item[timed]]}
    )
    lo = np.maximum(usage.window[a, 0], usage.window[b, 0])
    hi = np.minimum(usage.window[a, 1], usage.window[b, 1])
    pairs = pd.DataFrame({"pair": np.arange(len(a)), "a": a, "b": b, "lo": lo, "hi": hi})
    sides = []
    for side in ("a", "b"):
        joined = pairs.merge(rows, left_on=side, right_on="piece")
        joined = joined[(joined["h"] >= joined["lo"]) & (joined["h"] <= joined["hi"])]
        sides.append(joined[["pair", "item", "share"]])
    inside = [np.bincount(side["pair"], minlength=len(a)) for side in sides]
    norm = [np.sqrt(np.bincount(side["pair"], weights=side["share"] ** 2, minlength=len(a))) for side in sides]
    common = sides[0].merge(sides[1], on=["pair", "item"])
    dot = np.bincount(common["pair"], weights=common["share_x"] * common["share_y"], minlength=len(a))
    overlap_apart = (inside[0] >= TIMING_SEEN) & (inside[1] >= TIMING_SEEN)
    shorter = np.minimum(np.diff(usage.window[a], axis=1).ravel(), np.diff(usage.window[b], axis=1).ravel())
    together = (hi - lo) >= WINDOW_OVERLAP * np.maximum(shorter, 1)
    silent = ((inside[0] >= TIMING_SEEN) & (seen[b] == 0)) | ((inside[1] >= TIMING_SEEN) & (seen[a] == 0))
    return np.where(overlap_apart, dot / np.maximum(norm[0] * norm[1], 1e-12) < TIMING_APART, together & (whole | silent))


def _tie_communities(a: np.ndarray, b: np.ndarray, weight: np.ndarray, n_pieces: int) -> np.ndarray:
    """The rings of the pieces tied by (a, b) with ``weight``: the communities of the tie graph under
    modularity, joined again where the ties between two are not far fewer than chance gives
    (:data:`TIE_SEPARATION`, :func:`rejoined_by_chance`).

    One operator's pieces are tied many times over; a hackathon's pieces, tied to each other by
    their venue, and a ring's, tied by its BINs and waves, may share one marginal tie (a popular
    BIN, a template hour): joined by it transitively, they would make one ring of both.
    Modularity measures each tie against what the pieces' totals predict, so the lone tie
    between two tight groups does not hold them together, while a ring whose pieces modularity
    splits anyway is joined back by the many ties across the split. It cannot part a piece whose
    only tie is to one piece of a tight group: that piece is set apart (:func:`_lone_ties_apart`).
    """
    ring = np.arange(n_pieces, dtype=np.int64)
    if len(a) == 0:
        return ring
    ties = coo_matrix((np.ones(len(a)), (a, b)), shape=(n_pieces, n_pieces))
    _, component = connected_components(ties, directed=False)
    graph = ig.Graph(n=n_pieces, edges=list(zip(a.tolist(), b.tolist())), edge_attrs={"weight": weight.astype(float).tolist()})
    previous = ig.set_random_number_generator(random.Random(0))
    try:
        community = np.asarray(graph.community_multilevel(weights="weight").membership, dtype=np.int64)
    finally:
        ig.set_random_number_generator(previous if previous is not None else random)
    community = component * n_pieces + community  # never across components
    _, community = np.unique(community, return_inverse=True)
    return _lone_ties_apart(a, b, rejoined_by_chance(a, b, weight, community.astype(np.int64)))


def _lone_ties_apart(a: np.ndarray, b: np.ndarray, community: np.ndarray) -> np.ndarray:
    """``community`` with each piece whose one tie into a ring of three pieces or more goes to a piece tied
    to :data:`LONE_TIE_PARTNER` or more of them set apart, a ring of its own.

    A small ring compared with the forty pieces of a large one that sends the same toolkit all night finds
    one whose wave hours or popular BIN its own happen to match: one tie among forty chances, where the
    large ring's pieces tie to many of their own. Modularity always gives a piece with a single tie to its
    partner's community. A piece of a ring whose accounts take turns ties only to the pieces at work just
    before and after it, a chain whose ends tie to pieces with two ties: they stay."""
    n = len(community)
    inside = community[a] == community[b]
    ties = np.bincount(a[inside], minlength=n) + np.bincount(b[inside], minlength=n)
    partner = np.zeros(n, dtype=np.int64)
    partner[a[inside]], partner[b[inside]] = b[inside], a[inside]  # read only where a piece has one tie
    pieces = np.bincount(community, minlength=n)[community]
    lone = (ties == 1) & (pieces >= 3) & (ties[partner] >= LONE_TIE_PARTNER)
    out = community.copy()
    out[lone] = n + np.arange(int(lone.sum()))
    return out


def rejoined_by_chance(
    a: np.ndarray, b: np.ndarray, weight: np.ndarray, community: np.ndarray, within: np.ndarray | None = None
) -> np.ndarray:
    """Communities joined again where the tie weight between them is at least :data:`TIE_SEPARATION` of
    what chance gives two communities that busy (the product of their tie weights over twice the total:
    the configuration model modularity measures against).

    ``a``, ``b`` and ``weight`` are the ties between nodes, ``community`` each node's community. With
    ``within`` (each node's group, such as its dense block; ties never cross groups), chance is measured
    against each group's own total. Returns each node's joined community."""
    n = int(community.max()) + 1
    ca, cb = community[a], community[b]
    busy = np.bincount(ca, weights=weight, minlength=n) + np.bincount(cb, weights=weight, minlength=n)
    across = ca != cb
    if not across.any():
        return community
    group = np.zeros(n, dtype=np.int64)
    if within is None:
        total = np.array([weight.sum()])
    else:
        group[community] = within
        _, group = np.unique(group, return_inverse=True)
        total = np.bincount(group[ca], weights=weight, minlength=int(group.max()) + 1)
    lo, hi = np.minimum(ca[across], cb[across]), np.maximum(ca[across], cb[across])
    frame = pd.DataFrame({"lo": lo, "hi": hi, "w": weight[across]}).groupby(["lo", "hi"], sort=False)["w"].sum().reset_index()
    lo, hi, w = frame["lo"].to_numpy(), frame["hi"].to_numpy(), frame["w"].to_numpy()
    chance = busy[lo] * busy[hi] / (2.0 * total[group[lo]])
    merge = w >= TIE_SEPARATION * chance
    adjacency = coo_matrix((np.ones(merge.sum()), (lo[merge], hi[merge])), shape=(n, n))
    _, joined = connected_components(adjacency, directed=False)
    return joined[community].astype(np.int64)


def _pair_values(similarity: csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The entries (a[i], b[i]) of a sparse similarity matrix (0 where it holds none)."""
    return np.asarray(similarity[a, b]).ravel() if len(a) else np.zeros(0)


def _profile(usage: _Usage, code: int, n_pieces: int) -> csr_matrix:
    """Each piece's share of members on each held item of one kind (pieces x items)."""
    mine = usage.kind == code
    items, column = np.unique(usage.item[mine], return_inverse=True)
    return csr_matrix((usage.share[mine], (usage.piece[mine], column)), shape=(n_pieces, len(items)))


def _cosine(profile: csr_matrix) -> csr_matrix:
    """Cosine similarity of every pair of rows (sparse: pairs with nothing in common are left out)."""
    norm = np.sqrt(np.asarray(profile.multiply(profile).sum(axis=1)).ravel())
    scaled = csr_matrix(profile.multiply(1.0 / np.maximum(norm, 1e-12)[:, None]))
    return csr_matrix(scaled @ scaled.T)


def _similarity(usage: _Usage, code: int, n_pieces: int) -> csr_matrix:
    return _cosine(_profile(usage, code, n_pieces))


def _counts(usage: _Usage, code: int, n_pieces: int) -> np.ndarray:
    """How many held items of one kind each piece's members use."""
    return np.bincount(usage.piece[usage.kind == code], minlength=n_pieces)


def _ring_templates(
    graph: EvidenceGraph, own_templates: pd.DataFrame | None, piece_ids: np.ndarray, ring_of_piece: np.ndarray
) -> np.ndarray:
    """Per evidence item: the ring whose own template it is (-1: none, or not a template). A template counts as
    a ring's own when it is characteristic of that ring's pieces and of no other ring's: operators that share
    a toolkit's bank send its templates, and those tell no one ring's accounts."""
    ring_of_item = np.full(len(graph.evidence), -1, dtype=np.int64)
    if own_templates is None or len(own_templates) == 0:
        return ring_of_item
    own = own_templates[own_templates["cluster"].isin(piece_ids)]
    frame = pd.DataFrame(
        {
            "template": own["template_id"].astype(str).to_numpy(),
            "ring": ring_of_piece[np.searchsorted(piece_ids, own["cluster"].to_numpy())],
        }
    ).drop_duplicates()
    only_one = frame[~frame["template"].duplicated(keep=False)].set_index("template")["ring"]
    templates = np.flatnonzero(graph.of_kind("template"))
    rings = only_one.reindex(graph.evidence["value"].to_numpy()[templates].astype(str)).to_numpy()
    mine = ~np.isnan(rings)
    ring_of_item[templates[mine]] = rings[mine].astype(np.int64)
    return ring_of_item


def _with_template_kind(pairs: pd.DataFrame) -> pd.DataFrame:
    """The (account, ring, kind) rows of outside accounts, a ring's own templates kept as a kind only where the
    account sends :data:`OUTSIDE_TEMPLATES` of them and connects through the ring's addresses or devices: a
    toolkit's templates and a prepaid issuer are what two operators may both buy, their proxies are not."""
    template = len(JOIN_KINDS)
    is_template = pairs["kind"].to_numpy() == template
    sent = pairs[is_template].groupby(["account", "ring"]).size()
    networked = pairs[pairs["kind"].isin([JOIN_KINDS.index("subnet"), JOIN_KINDS.index("link")])][["account", "ring"]]
    counts = sent[sent >= OUTSIDE_TEMPLATES].reset_index()[["account", "ring"]]
    enough = counts.merge(networked.drop_duplicates(), on=["account", "ring"]).assign(keep=True)
    kept = pairs.merge(enough, on=["account", "ring"], how="left")["keep"].notna().to_numpy()
    return pairs[~is_template | kept]


def _outside_joins(
    graph: EvidenceGraph, usage: _Usage, ring_of_piece: np.ndarray, member: np.ndarray, ring_of_template: np.ndarray
) -> np.ndarray:
    """Per account outside the flagged pieces' members: the ring whose held evidence it uses in
    :data:`OUTSIDE_KINDS` kinds or more (-1: none). A household that shares a home IP with a
    ring's proxy uses one kind of it; a member clustering placed elsewhere uses its BINs and
    its waves too, or its proxies and its own templates (``ring_of_template``, :func:`_ring_templates`;
    see :func:`_with_template_kind`)."""
    n = len(member)
    joined = np.full(n, -1, dtype=np.int64)
    if len(usage.item) == 0:
        return joined
    # each held item belongs to the ring whose members use it most
    ring = ring_of_piece[usage.piece]
    frame = pd.DataFrame({"item": usage.item, "ring": ring, "share": usage.share})
    owner = frame.sort_values(["item", "share"], ascending=[True, False], kind="stable").drop_duplicates("item")
    ring_of_item = np.full(len(usage.held), -1, dtype=np.int64)
    ring_of_item[owner["item"].to_numpy()] = owner["ring"].to_numpy()
    item_kind = usage.item_kind.copy()
    templates = ring_of_template >= 0
    ring_of_item[templates] = ring_of_template[templates]
    item_kind[templates] = len(JOIN_KINDS)
    account, item = graph.shared
    account, item = account.astype(np.int64), item.astype(np.int64)
    outside = ~member[account] & (ring_of_item[item] >= 0)
    account, item = account[outside], item[outside]
    if len(account) == 0:
        return joined
    pairs = pd.DataFrame({"account": account, "ring": ring_of_item[item], "kind": item_kind[item]})
    pairs = _with_template_kind(pairs)
    kinds = pairs.drop_duplicates().groupby(["account", "ring"]).size().rename("kinds").reset_index()
    kinds = kinds[kinds["kinds"] >= OUTSIDE_KINDS].sort_values(["account", "kinds", "ring"], ascending=[True, False, True])
    best = kinds.drop_duplicates("account")
    joined[best["account"].to_numpy()] = best["ring"].to_numpy()
    return joined
