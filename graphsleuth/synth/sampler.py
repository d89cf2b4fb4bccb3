"""A family of populations, not one: whole scenarios drawn from wide ranges of every knob.

Detection tuned on one scenario learns that scenario. :func:`sample_scenario` draws a whole
scenario from a seed: 1 to 20 rings of 20 to 30,000 accounts (under a third of the population
together), templates of their own or from banks shared by several rings and by some power
users, any payment pattern (none, one card each, or up to 50 accounts per card, from 1 to 50
BINs that ordinary users use too, or prepaid, or rare ones), any proxies (datacenter,
residential overlapping real homes, mixed, or none), camouflage up to 80%, creation in bursts
or evenly over an hour to six months, waves of any strength and tightness, paraphrased
prompts, a ring dressed as a company, rings whose accounts each work a few days and take
turns, every look-alike legitimate group in varying amounts,
and the usual VPN and CGNAT exits, households, companies, campuses, heavy users and
integrators. The ranges are :data:`RANGES`.

The same seed and size always give the same scenario; :mod:`.scenario_toml` writes it as a
file that replays it (``graphsleuth generate --scenario scenario.toml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ScenarioError
from .scenario import (
    DISTILLATION_FAMILIES,
    Legit,
    Population,
    RingPlan,
    Scenario,
    TemplateBank,
)

__all__ = ["sample_scenario", "Ranges", "RANGES", "MIN_SAMPLED_ACCOUNTS"]

MIN_SAMPLED_ACCOUNTS = 1000


@dataclass(frozen=True)
class Ranges:
    """The ranges a sampled scenario's knobs are drawn from."""

    accounts: tuple[int, int] = (5_000, 200_000)  # when no size is given (log-uniform)
    rings: tuple[int, int] = (1, 20)
    ring_accounts: tuple[int, int] = (20, 30_000)
    rings_share_max: float = 1 / 3  # all rings together, of the population (their share is drawn from 1% up)
    requests_per_account: tuple[float, float] = (150.0, 3000.0)
    private_templates: tuple[int, int] = (1, 15)
    banks: tuple[int, int] = (1, 3)
    bank_templates: tuple[int, int] = (6, 20)
    power_users: tuple[float, float] = (0.0, 0.2)
    accounts_per_card: tuple[int, int] = (1, 50)
    bins: tuple[int, int] = (1, 50)
    proxy_share: tuple[float, float] = (0.01, 1.0)  # proxy pool size per account
    camouflage: tuple[float, float] = (0.0, 0.8)
    creation_days: tuple[float, float] = (1 / 24, 180.0)  # even creation: an hour to six months
    creation_bursts: tuple[int, int] = (1, 40)
    burst_hours: tuple[float, float] = (2.0, 72.0)
    lockstep: tuple[float, float] = (0.0, 0.8)  # share of a ring's requests in waves
    waves: tuple[int, int] = (2, 40)
    wave_hours: tuple[float, float] = (0.25, 6.0)
    phrasings: tuple[int, int] = (1, 20)
    dressed_accounts: tuple[int, int] = (20, 2000)
    account_days: tuple[float, float] = (1.0, 21.0)  # rotating rings: how long each account works


RANGES = Ranges()


class _Draw:
    """Draws that give plain Python values (scenario files hold no numpy types)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x73616D70])

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def uniform(self, low: float, high: float, digits: int = 4) -> float:
        return round(float(self.rng.uniform(low, high)), digits)

    def log_uniform(self, low: float, high: float, digits: int = 4) -> float:
        return round(float(math.exp(self.rng.uniform(math.log(low), math.log(high)))), digits)

    def integer(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def log_integer(self, low: int, high: int) -> int:
        return int(min(high, max(low, round(math.exp(self.rng.uniform(math.log(low), math.log(high + 1)))))))

    def choice(self, options, weights=None):
        p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
        return options[int(self.rng.choice(len(options), p=p))]

    def families(self, total: int) -> dict[str, int]:
        """``total`` templates spread over the distillation families, some families left out."""
        weights = self.rng.dirichlet(np.full(len(DISTILLATION_FAMILIES), 0.8))
        counts = self.rng.multinomial(total, weights)
        return {f: int(c) for f, c in zip(DISTILLATION_FAMILIES, counts) if c > 0}


def sample_scenario(seed: int, accounts: int | None = None, ranges: Ranges = RANGES) -> Scenario:
    """A whole scenario drawn from ``ranges`` with ``seed``, of ``accounts`` accounts (drawn too when None)."""
    source = f"sampled scenario {seed}"
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScenarioError(source, None, f"the sample seed must be a whole number from 0, got {seed!r}")
    d = _Draw(int(seed))
    drawn = d.log_integer(*ranges.accounts)  # drawn either way, so a given size changes nothing else
    n = drawn if accounts is None else int(accounts)
    if n < MIN_SAMPLED_ACCOUNTS:
        raise ScenarioError(source, "accounts", f"a sampled scenario needs at least {MIN_SAMPLED_ACCOUNTS:,} accounts, got {n}")
    population = _population(d, n)
    legit = _legit(d)
    banks = _banks(d, ranges)
    sizes = _ring_sizes(d, n, ranges)
    dressed = int(d.rng.integers(len(sizes))) if d.chance(0.35) else -1
    rings = tuple(_ring(d, f"ring-{i + 1:02d}", size, banks, ranges, dressed=i == dressed) for i, size in enumerate(sizes))
    later = _Draw(int(seed) ^ _LATER)
    rings = _rotating(later, rings, ranges)
    legit = _public_starter_kit(later, legit)
    population = _time_of_day(later, population)
    legit = replace(legit, invoiced=later.uniform(0.0, 0.8))
    used = {r.bank for r in rings if r.bank}
    description = (
        f"sampled with seed {seed}: {n:,} accounts, {len(rings)} rings of {sum(sizes):,} accounts, "
        f"{len(banks)} template banks ({len(used)} used by rings)"
    )
    return Scenario(f"sampled-{seed}", description, population, legit, rings, source, banks, int(seed))


def _population(d: _Draw, n: int) -> Population:
    return Population(
        accounts=n,
        start="2026-02-02T00:00:00Z",
        days=d.integer(28, 56),
        history_days=d.integer(400, 720),
        growth=d.uniform(1.0, 4.0),
        benign_templates=int(min(6000, max(300, n * d.uniform(0.02, 0.06)))),
        template_zipf=d.uniform(0.9, 1.3),
        diurnal=True,
    )


def _legit(d: _Draw) -> Legit:
    def maybe(low: float, high: float, p: float = 0.7) -> float:
        return d.uniform(low, high) if d.chance(p) else 0.0

    company_low, campus_low = d.integer(5, 30), d.integer(100, 300)
    class_low, eval_low, hack_low, wave_low = d.integer(60, 200), d.integer(10, 40), d.integer(80, 200), d.integer(800, 2000)
    return Legit(
        individual=d.uniform(0.55, 0.8),
        household=d.uniform(0.04, 0.12),
        company=d.uniform(0.05, 0.15),
        campus=d.uniform(0.03, 0.10),
        heavy=d.uniform(0.02, 0.05),
        integrator=d.uniform(0.005, 0.03),
        vpn_share=d.uniform(0.02, 0.12),
        cgnat_share=d.uniform(0.05, 0.3),
        cloud_share=d.uniform(0.01, 0.06),
        users_per_vpn_exit=d.log_integer(50, 2000),
        users_per_cgnat_ip=d.log_integer(30, 500),
        users_per_cloud_ip=d.log_integer(20, 300),
        company_seats=(company_low, company_low + d.integer(30, 470)),
        company_nat_ips=(1, d.integer(1, 6)),
        company_internal_template=d.uniform(0.2, 0.7),
        campus_size=(campus_low, campus_low + d.integer(300, 2700)),
        campus_ips=(d.integer(1, 3), d.integer(3, 8)),
        step_by_step_share=d.uniform(0.1, 0.5),
        classroom=maybe(0.005, 0.04),
        eval_company=maybe(0.001, 0.01),
        framework_dev=maybe(0.01, 0.12),
        hackathon=maybe(0.002, 0.02),
        signup_wave=maybe(0.01, 0.15),
        classroom_size=(class_low, class_low + d.integer(100, 500)),
        eval_company_seats=(eval_low, eval_low + d.integer(20, 160)),
        hackathon_size=(hack_low, hack_low + d.integer(100, 400)),
        signup_wave_size=(wave_low, wave_low + d.integer(500, 4000)),
        framework_templates=d.integer(3, 15),
        starter_kit_templates=d.integer(3, 10),
        starter_kit_users=maybe(0.01, 0.15),
    )


def _banks(d: _Draw, ranges: Ranges) -> tuple[TemplateBank, ...]:
    """One to three public distillation toolkits; legitimate power users pick some up."""
    count = d.integer(*ranges.banks)
    return tuple(
        TemplateBank(
            name=f"toolkit-{'abc'[k]}",
            templates=d.families(d.integer(*ranges.bank_templates)),
            power_users=d.uniform(*ranges.power_users) if d.chance(0.7) else 0.0,
            power_user_requests=d.uniform(0.05, 0.4),
        )
        for k in range(count)
    )


def _ring_sizes(d: _Draw, n: int, ranges: Ranges) -> list[int]:
    """Ring sizes, log-uniform, scaled down (to no fewer than the smallest size) to fit the rings' room: a
    share of the population drawn log-uniformly from 1% to a third."""
    low, high = ranges.ring_accounts
    room = max(low, int(n * d.log_uniform(0.01, ranges.rings_share_max)))
    count = min(d.integer(*ranges.rings), max(1, room // low))
    top = max(low, min(high, room))
    sizes = [d.log_integer(low, top) for _ in range(count)]
    if sum(sizes) > room:
        # Every ring keeps the smallest size; what is left of the room is shared in proportion to the excess.
        factor = max(0, room - low * count) / max(1, sum(sizes) - low * count)
        sizes = [low + int((s - low) * factor) for s in sizes]
    return sizes


def _ring(d: _Draw, name: str, size: int, banks: tuple[TemplateBank, ...], ranges: Ranges, dressed: bool) -> RingPlan:
    if dressed:
        size = min(size, ranges.dressed_accounts[1])
    tooling = d.choice(["private", "bank", "both"], [0.4, 0.3, 0.3])
    bank = "" if tooling == "private" else d.choice([b.name for b in banks], [0.6, 0.3, 0.1][: len(banks)])
    bank_size = sum(next(b for b in banks if b.name == bank).templates.values()) if bank else 0
    bank_templates = 0 if not bank or d.chance(0.5) else d.integer(min(3, bank_size), bank_size)
    templates = d.families(d.integer(*ranges.private_templates)) if tooling != "bank" else {}
    payment, cards = _payment(d, size, ranges)
    proxies = d.choice(["datacenter", "residential", "mixed", "none"], [0.3, 0.35, 0.15, 0.2])
    ips_low = d.integer(1, 3)
    camouflage = d.uniform(*ranges.camouflage)
    lockstep = 0.0 if d.chance(0.25) else min(d.uniform(0.05, ranges.lockstep[1]), round(1.0 - camouflage, 4))
    before = d.integer(0, 60)
    creation = d.choice(["bursts", "even"])
    plan = RingPlan(
        name=name,
        accounts=size,
        requests=int(size * d.log_uniform(*ranges.requests_per_account)),
        payment=payment,
        cards=cards,
        bins=min(d.log_integer(*ranges.bins), max(1, cards if payment == "shared_cards" else size)),
        bin_source=d.choice(["popular", "prepaid", "rare"], [0.35, 0.35, 0.3]),
        proxies=proxies,
        proxy_ips=max(2, int(size * d.log_uniform(*ranges.proxy_share))),
        proxy_overlap=d.uniform(0.0, 1.0),
        ips_per_account=(ips_low, ips_low + d.integer(0, 5)),
        templates=templates,
        bank=bank,
        bank_templates=bank_templates,
        camouflage=camouflage,
        creation=creation,
        creation_days=d.log_uniform(*ranges.creation_days),
        creation_bursts=min(d.log_integer(*ranges.creation_bursts), max(1, size // 5)),
        burst_hours=d.uniform(*ranges.burst_hours, digits=2),
        created_before_days=(before, before + d.integer(0, 150)),
        sync_days=(),
        sync_share=lockstep,
        waves=d.integer(*ranges.waves) if lockstep > 0 else 0,
        wave_hours=d.log_uniform(*ranges.wave_hours),
        schedule=d.choice(["round_the_clock", "night", "daily_batches", "office_hours"], [0.4, 0.2, 0.25, 0.15]),
        phrasings=1 if d.chance(0.3) else d.log_integer(2, ranges.phrasings[1]),
        devices=0 if d.chance(0.7) else max(1, int(size * d.log_uniform(0.02, 0.5))),
        phones=0 if d.chance(0.7) else max(1, int(size * d.log_uniform(0.02, 0.5))),
        countries=d.integer(1, 6),
    )
    if not dressed:
        return plan
    # Dressed as a company: one domain and one corporate card, a few office-like IPs, created within a
    # few weeks, working at night.
    return replace(
        plan,
        dressed_as_company=True,
        payment="shared_cards",
        cards=1,
        bins=1,
        proxies="datacenter",
        proxy_ips=d.integer(2, 6),
        creation="even",
        creation_days=d.uniform(7.0, 28.0),
        schedule="night",
    )


#: Knobs added after the family's first draws come from a stream of their own, so that every earlier
#: seed keeps the rest of its scenario.
_LATER = 0x6C61746572


def _rotating(d: _Draw, rings: tuple[RingPlan, ...], ranges: Ranges) -> tuple[RingPlan, ...]:
    """Some rings rotate their accounts: each works a few days to weeks, the members taking turns."""
    return tuple(replace(r, account_days=d.log_uniform(*ranges.account_days) if d.chance(0.4) else 0.0) for r in rings)


def _time_of_day(d: _Draw, population: Population) -> Population:
    """A quarter of the family has no time of day the detector can read (activity spread evenly over the day,
    as in the bundled scenarios, or logs whose accounts have no country): office hours must not be all that
    tells a company from a ring."""
    return replace(population, diurnal=d.chance(0.75))


def _public_starter_kit(d: _Draw, legit: Legit) -> Legit:
    """A population with hackathons has the provider's public starter kit, and so ordinary users who send it."""
    if legit.hackathon > 0 and legit.starter_kit_users == 0:
        return replace(legit, starter_kit_users=d.uniform(0.005, 0.05))
    return legit


def _payment(d: _Draw, size: int, ranges: Ranges) -> tuple[str, int]:
    """No payment, one card each, or a shared pool of up to 50 accounts per card."""
    if d.chance(0.15):
        return "none", 10
    per_card = 1 if d.chance(0.35) else d.log_integer(2, ranges.accounts_per_card[1])
    if per_card == 1:
        return "card_per_account", 10
    return "shared_cards", max(1, math.ceil(size / per_card))
