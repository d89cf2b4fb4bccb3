"""The plan of a population: which accounts exist, in which groups, of which kind, created when.

Every table of a population (:mod:`.accounts`, :mod:`.payments`, :mod:`.ips`,
:mod:`.prompts`, :mod:`.links`, :mod:`.truth`) is drawn from one finished
:class:`AccountPlan`. Each part of the population draws from its own random
stream (:class:`Streams`), so that a change to one table leaves the others as
they were, and the same scenario and seed always give the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import DAY, HOUR, pick, prefixed, segment_ids, split_sizes, split_sizes_exact
from .groups import lookalike_creation, lookalike_group_sizes
from .kinds import (
    CAMPUS,
    CLASSROOM,
    COMPANY,
    EVAL_COMPANY,
    FRAMEWORK_DEV,
    HACKATHON,
    HEAVY,
    HOUSEHOLD,
    INDIVIDUAL,
    INTEGRATOR,
    LOOKALIKES,
    RING,
    SIGNUP_WAVE,
)
from .scenario import Scenario
from .timing import UTC_OFFSETS, working_hours_before

__all__ = ["AccountPlan", "Streams", "plan_population", "COUNTRIES", "COUNTRY_WEIGHTS"]


COUNTRIES = np.array(
    ["US", "IN", "GB", "DE", "BR", "FR", "JP", "CA", "KR", "ES", "IT", "NL", "PL", "AU", "SE", "TR", "ID", "MX", "SG", "CN"]
)
COUNTRY_WEIGHTS = np.array([30, 9, 6, 6, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 1.5, 1.5, 2, 2, 1.5, 3], dtype=float)

# Volume (requests over the window) per kind: log-normal median and sigma.
VOLUME = {
    INDIVIDUAL: (260.0, 1.5),
    HOUSEHOLD: (200.0, 1.5),
    COMPANY: (420.0, 1.3),
    CAMPUS: (240.0, 1.4),
    HEAVY: (2600.0, 0.9),
    INTEGRATOR: (30_000.0, 1.0),
    CLASSROOM: (160.0, 1.2),
    EVAL_COMPANY: (900.0, 1.0),
    FRAMEWORK_DEV: (1_500.0, 1.2),
    HACKATHON: (150.0, 1.2),
    SIGNUP_WAVE: (180.0, 1.5),
}


@dataclass(frozen=True)
class Streams:
    """One random stream per part of the population, all spawned from the seed.

    The streams after ``misc`` were added later; spawning more children leaves the
    first ten as they were, so populations of earlier scenarios stay byte-identical.
    They draw only for what the later knobs add (look-alike groups, template banks,
    waves, times of day), so a scenario that sets none of them never touches them.
    """

    groups: np.random.Generator
    time: np.random.Generator
    mail: np.random.Generator
    pay: np.random.Generator
    ip: np.random.Generator
    tpl: np.random.Generator
    prompt: np.random.Generator
    link: np.random.Generator
    ids: np.random.Generator
    misc: np.random.Generator
    groups_more: np.random.Generator
    mail_more: np.random.Generator
    pay_more: np.random.Generator
    ip_more: np.random.Generator
    prompt_more: np.random.Generator
    tooling: np.random.Generator
    clock: np.random.Generator
    office: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        spawned = np.random.SeedSequence([int(seed), 0x67736C74]).spawn(len(fields(cls)))
        return cls(*(np.random.default_rng(s) for s in spawned))


@dataclass
class AccountPlan:
    """Every account of a population, as parallel arrays over account numbers 0..n-1.

    Groups are households, companies, campuses, rings, or one account on its
    own (individuals, heavy users, integrators); ``group_*`` arrays are per
    group, the others per account. ``order`` lists the accounts in the order
    of their ids, which is the order of every table's rows.
    """

    scenario: Scenario
    seed: int
    start: int
    end: int
    group_kind: np.ndarray
    group_size: np.ndarray
    group_first: np.ndarray
    group: np.ndarray
    kind: np.ndarray
    ring: np.ndarray
    id_number: np.ndarray
    account_id: pa.Array
    order: np.ndarray
    country: np.ndarray
    created: np.ndarray
    active_from: np.ndarray
    volume: np.ndarray
    #: When each account stops working (the window's end, or a rotating ring's account's last day).
    active_to: np.ndarray | None = None
    #: When each look-alike group's defining event happens (a hackathon's start, a sign-up wave's
    #: start, a class's first week), in seconds; 0 for other groups.
    group_event: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.group)

    def members(self, code: int) -> np.ndarray:
        """The accounts of one kind."""
        return np.flatnonzero(self.kind == code)


def plan_population(scenario: Scenario, seed: int, streams: Streams) -> AccountPlan:
    """Lay out the accounts group by group, give them countries, creation times and volumes."""
    start = scenario.population.start_s
    end = start + scenario.population.days * DAY
    group_kind, group_size = _groups(scenario, streams.groups, streams.groups_more)
    group = segment_ids(group_size)
    kind = group_kind[group]
    ring_of_group = np.full(len(group_size), -1, np.int64)
    ring_of_group[group_kind == RING] = np.arange(len(scenario.rings))
    ring = ring_of_group[group]
    n = len(group)
    # Account ids come from a random permutation so that nothing about an
    # account's kind can be read from its id or its position in the files.
    id_number = streams.ids.permutation(n)
    width = max(7, len(str(n)))
    account_id = prefixed("u", pc.utf8_lpad(pa.array(id_number).cast(pa.string()), width, "0"))
    country = _countries(scenario, group_kind, group_size, group, ring, streams.misc)
    group_event = np.zeros(len(group_size), np.int64)
    created = _creation_times(scenario, start, end, group_size, group, kind, ring, streams.time, streams.groups_more, group_event)
    if scenario.population.diurnal:
        created = _seats_in_working_hours(created, kind, country, end, streams.office)
    return AccountPlan(
        scenario=scenario,
        seed=int(seed),
        start=start,
        end=end,
        group_kind=group_kind,
        group_size=group_size,
        group_first=np.concatenate([[0], np.cumsum(group_size)[:-1]]),
        group=group,
        kind=kind,
        ring=ring,
        id_number=id_number,
        account_id=account_id,
        order=np.argsort(id_number, kind="stable"),
        country=country,
        created=created,
        active_from=np.maximum(created, start),
        volume=_volumes(scenario, kind, ring, streams.prompt),
        group_event=group_event,
        active_to=_active_to(scenario, created, ring, end),
    )


def _active_to(scenario: Scenario, created: np.ndarray, ring: np.ndarray, end: int) -> np.ndarray:
    """When each account stops working: the window's end, or ``account_days`` after a rotating ring's account starts."""
    active_to = np.full(len(created), end, dtype=np.int64)
    for i, plan in enumerate(scenario.rings):
        if plan.account_days > 0:
            members = ring == i
            first = np.maximum(created[members], scenario.population.start_s)
            active_to[members] = np.clip(created[members] + int(plan.account_days * DAY), first + HOUR, end)
    return active_to


def _groups(scenario: Scenario, rng: np.random.Generator, more: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The kind and size of every group: individuals, households, companies, campuses, heavy users,
    integrators, the look-alike groups, then the planted rings."""
    legit_total = scenario.population.accounts - scenario.ring_accounts
    shares = scenario.legit.shares()
    counts = {k: int(round(legit_total * shares[k])) for k in ("household", "company", "campus", "heavy", "integrator")}
    lg = scenario.legit
    households = split_sizes_exact(rng, counts["household"], [2, 3, 4, 5], [0.5, 0.3, 0.15, 0.05])
    companies = split_sizes(rng, counts["company"], *lg.company_seats)
    campuses = split_sizes(rng, counts["campus"], *lg.campus_size)
    heavy, integrators = counts["heavy"], counts["integrator"]
    lookalikes = lookalike_group_sizes(lg, legit_total, shares, more)
    used = households.sum() + companies.sum() + campuses.sum() + heavy + integrators + sum(int(g.sum()) for g in lookalikes)
    individuals = max(0, legit_total - int(used))
    group_sizes = [
        np.ones(individuals, np.int64),
        households,
        companies,
        campuses,
        np.ones(heavy, np.int64),
        np.ones(integrators, np.int64),
        *lookalikes,
        np.array([r.accounts for r in scenario.rings], dtype=np.int64),
    ]
    kinds = [INDIVIDUAL, HOUSEHOLD, COMPANY, CAMPUS, HEAVY, INTEGRATOR, *LOOKALIKES, RING]
    group_kind = np.concatenate([np.full(len(g), k, np.int8) for g, k in zip(group_sizes, kinds)])
    return group_kind, np.concatenate(group_sizes)


def _countries(
    scenario: Scenario, group_kind: np.ndarray, group_size: np.ndarray, group: np.ndarray, ring: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One country per group for households, companies and campuses; mixed for rings."""
    n = len(group)
    group_country = pick(rng, np.arange(len(COUNTRIES)), len(group_size), COUNTRY_WEIGHTS)
    own = pick(rng, np.arange(len(COUNTRIES)), n, COUNTRY_WEIGHTS)
    shared_group = np.isin(group_kind, [HOUSEHOLD, COMPANY, CAMPUS, CLASSROOM, EVAL_COMPANY, HACKATHON])[group]
    country = np.where(shared_group & (rng.random(n) < 0.95), group_country[group], own)
    for i, plan in enumerate(scenario.rings):
        members = ring == i
        choices = rng.choice(len(COUNTRIES), size=plan.countries, replace=False, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
        # Half the ring exits through proxies in the ring's few countries; the rest
        # look like anybody, so that country alone does not give the ring away.
        focused = members & (rng.random(n) < 0.5)
        country[focused] = choices[rng.integers(0, plan.countries, focused.sum())]
        if plan.dressed_as_company:  # a company sits in one country
            country[members] = choices[0]
    return country


def _creation_times(
    scenario: Scenario,
    start: int,
    end: int,
    group_size: np.ndarray,
    group: np.ndarray,
    kind: np.ndarray,
    ring: np.ndarray,
    rng: np.random.Generator,
    more: np.random.Generator,
    group_event: np.ndarray,
) -> np.ndarray:
    """When each account was created: growth for the legitimate, bursts (or an even spread) for the rings.

    The look-alike groups (:mod:`.groups`) and evenly created rings draw from ``more``,
    so that populations without them are drawn exactly as before.
    """
    pop = scenario.population
    history = pop.history_days * DAY
    g = max(pop.growth, 1e-6)

    def grown(n):  # density grows like exp(g * t) over the history: many recent signups
        x = np.log1p(rng.random(n) * np.expm1(g)) / g
        return end - (1.0 - x) * history

    t = grown(len(group))
    group_base = grown(len(group_size))[group]
    # Households join within weeks of each other; company seats over months.
    hh = kind == HOUSEHOLD
    t[hh] = group_base[hh] + rng.exponential(30 * DAY, hh.sum())
    co = kind == COMPANY
    t[co] = group_base[co] + rng.exponential(90 * DAY, co.sum())
    # Campuses sign up in waves at the start of each semester.
    ca = kind == CAMPUS
    semester = rng.integers(0, 4, ca.sum()) * 182 * DAY
    t[ca] = group_base[ca] - semester + np.abs(rng.normal(0, 6 * DAY, ca.sum()))
    lookalike_creation(scenario, start, end, group_base, group, kind, t, more, group_event)
    for i, plan in enumerate(scenario.rings):
        members = np.flatnonzero(ring == i)
        lo, hi = plan.created_before_days
        if plan.creation == "even":  # no burst at all: one account after another over creation_days
            last = start - lo * DAY
            t[members] = last - more.random(len(members)) * plan.creation_days * DAY
            continue
        centres = start - rng.uniform(lo, hi, plan.creation_bursts) * DAY
        burst = rng.integers(0, plan.creation_bursts, len(members))
        t[members] = centres[burst] + rng.uniform(0, plan.burst_hours * HOUR, len(members))
    late = t > end - HOUR  # a group that joined recently: its members spread up to now
    t[late] = group_base[late] + rng.random(late.sum()) * np.maximum(end - HOUR - group_base[late], 0)
    for i, plan in enumerate(scenario.rings):
        if plan.account_days > 0:
            members = np.flatnonzero(ring == i)
            t[members] = _taking_turns(plan, len(members), start, end, more)
    return np.clip(t, end - history - 30 * DAY, end - HOUR).astype(np.int64)


def _seats_in_working_hours(created: np.ndarray, kind: np.ndarray, country: np.ndarray, end: int, rng) -> np.ndarray:
    """Company and evaluation-company seats created on a weekday in office hours, at or before the time
    drawn: an administrator adds them at work (a population whose people keep hours: ``diurnal``)."""
    seats = np.flatnonzero(np.isin(kind, [COMPANY, EVAL_COMPANY]))
    out = created.copy()
    offset = (UTC_OFFSETS[country[seats]] * HOUR).astype(np.int64)
    out[seats] = np.minimum(working_hours_before(created[seats], offset, rng), end - HOUR)
    return out


def _taking_turns(plan, n: int, start: int, end: int, rng: np.random.Generator) -> np.ndarray:
    """Creation times of a rotating ring's accounts: each is created when it starts its ``account_days`` of
    work, and the ring's accounts take over from one another through the window (in bursts, or one after
    another), so that some are always at work."""
    lifetime = plan.account_days * DAY
    earliest = start - min(lifetime, end - start) * 0.5
    if plan.creation == "even":
        return earliest + rng.random(n) * (end - HOUR - earliest)
    centres = earliest + rng.random(plan.creation_bursts) * (end - HOUR - earliest)
    return centres[rng.integers(0, plan.creation_bursts, n)] + rng.uniform(0, plan.burst_hours * HOUR, n)


def _volumes(scenario: Scenario, kind: np.ndarray, ring: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Requests per account over the window; rings sit inside the heavy users' range."""
    volume = np.zeros(len(kind))
    for code, (median, sigma) in VOLUME.items():
        m = kind == code
        volume[m] = rng.lognormal(np.log(median), sigma, m.sum())
    for i, plan in enumerate(scenario.rings):
        m = ring == i
        sigma = 0.7
        mean = plan.requests / plan.accounts
        v = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, m.sum())
        volume[m] = v * plan.requests / v.sum()  # the ring's total is the reported figure
    return np.maximum(1, np.round(volume)).astype(np.int64)
