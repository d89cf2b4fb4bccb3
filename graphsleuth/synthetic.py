"""Synthetic populations with planted extraction rings and ground truth.

:func:`generate` builds, from a scenario file and a seed, what an AI API
provider would see over a few weeks: legitimate individuals, households,
companies behind NAT, campuses, VPN / mobile-carrier / cloud egress IPs shared
by thousands of strangers, heavy users and API integrators, and planted
extraction rings ("hydra clusters") that try not to look like rings. It returns
the evidence tables (the input format of :mod:`graphsleuth.evidence`) and the
truth, and can write them to a directory.

Everything is vectorised with numpy and pyarrow; Faker only fills small pools
of names and company names that are then sampled with numpy. The same
scenario, seed and graphsleuth version give byte-identical files.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from faker import Faker

from . import __version__
from .atomic import output_directory
from .errors import GraphsleuthError
from .scenario import DISTILLATION_FAMILIES, Scenario, load_scenario

__all__ = ["SyntheticPopulation", "generate", "write_population", "KINDS"]

DAY = 86_400
HOUR = 3_600

#: Account kinds in truth.csv, by code.
KINDS = ("individual", "household", "company", "campus", "heavy", "integrator", "ring")
INDIVIDUAL, HOUSEHOLD, COMPANY, CAMPUS, HEAVY, INTEGRATOR, RING = range(7)

FREE_MAIL = np.array([
    "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me",
    "gmx.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "aol.com", "web.de", "naver.com",
])
FREE_MAIL_WEIGHTS = np.array([40, 12, 8, 7, 7, 3, 3, 3, 2, 5, 3, 1, 2, 2], dtype=float)
ISP_MAIL = np.array(["comcast.net", "t-online.de", "orange.fr", "btinternet.com", "verizon.net", "libero.it", "free.fr", "shaw.ca"])
COUNTRIES = np.array(["US", "IN", "GB", "DE", "BR", "FR", "JP", "CA", "KR", "ES", "IT", "NL", "PL", "AU", "SE", "TR", "ID", "MX", "SG", "CN"])
COUNTRY_WEIGHTS = np.array([30, 9, 6, 6, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 1.5, 1.5, 2, 2, 1.5, 3], dtype=float)
NAME_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE", "tr_TR", "en_IN"]

# First octets by kind of network; all public, none private or reserved.
RESIDENTIAL_OCTETS = np.array([24, 47, 67, 68, 69, 71, 73, 75, 76, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 98, 99, 109, 151, 176, 177, 178, 179, 186, 187, 189, 190, 200, 201])
DATACENTER_OCTETS = np.array([5, 23, 37, 45, 46, 62, 64, 66, 104, 107, 138, 139, 143, 146, 149, 157, 159, 161, 164, 165, 167, 185, 188, 193, 194, 195, 198, 199, 209, 212, 213, 216, 217])
CLOUD_OCTETS = np.array([3, 13, 18, 20, 34, 35, 40, 44, 52, 54])
CAMPUS_OCTETS = np.array([128, 129, 130, 131, 132, 134, 136, 137, 140, 141, 152, 155, 156, 160])
CARRIER_OCTETS = np.array([166, 172, 174, 100, 108, 117, 223])  # 172 is used only as 172.56-63; 100 only as 100.128+

# Volume (requests over the window) per kind: log-normal median and sigma.
VOLUME = {
    INDIVIDUAL: (260.0, 1.5), HOUSEHOLD: (200.0, 1.5), COMPANY: (420.0, 1.3), CAMPUS: (240.0, 1.4),
    HEAVY: (2600.0, 0.9), INTEGRATOR: (30_000.0, 1.0),
}
# Prompt rows (distinct template x time aggregates) per account: base + Poisson(mean).
ROWS = {INDIVIDUAL: (1, 2.5), HOUSEHOLD: (1, 2.5), COMPANY: (1, 3.0), CAMPUS: (1, 2.5), HEAVY: (4, 8.0), INTEGRATOR: (10, 20.0), RING: (5, 9.0)}


@dataclass
class SyntheticPopulation:
    """A generated population: evidence tables, ground truth and a manifest.

    ``tables`` maps table names (accounts, payments, ips, prompts, links) to
    pyarrow Tables in the evidence format; ``truth`` holds one row per account
    (account_id, ring_id, kind, group_id); ``truth_prompts`` (raw mode only)
    holds the true template of each prompt row.
    """

    scenario: Scenario
    seed: int
    tables: dict[str, pa.Table]
    truth: pa.Table
    truth_prompts: pa.Table | None
    manifest: dict

    def frame(self, name: str) -> pd.DataFrame:
        """One evidence table (or ``truth``) as a pandas DataFrame."""
        table = self.truth if name == "truth" else self.tables[name]
        return table.to_pandas()

    @property
    def ring_ids(self) -> list[str]:
        return [r.name for r in self.scenario.rings]


def generate(
    scenario: str | Path | Scenario = "demo",
    seed: int = 0,
    out: str | Path | None = None,
    accounts: int | None = None,
    prompts: str = "template",
    format: str = "csv",
    force: bool = False,
) -> SyntheticPopulation:
    """Generate a population from ``scenario`` (a path, a bundled name or a Scenario).

    ``accounts`` rescales the scenario to that many accounts in all (rings in
    proportion); ``prompts`` is ``template`` (template ids) or ``raw`` (prompt
    text, templates to be derived); with ``out`` the files are written there
    in ``format`` (csv or parquet), atomically.
    """
    if prompts not in ("template", "raw"):
        raise GraphsleuthError(f"--prompts must be template or raw, got {prompts!r}")
    if format not in ("csv", "parquet"):
        raise GraphsleuthError(f"--format must be csv or parquet, got {format!r}")
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    scn = scn.scaled(accounts)
    population = _Builder(scn, seed, raw=prompts == "raw").build()
    if out is not None:
        write_population(population, out, format=format, force=force)
    return population


# --- small vectorised helpers --------------------------------------------------------------

_HEX_LUT = np.array([f"{i:02x}" for i in range(256)]).astype("S2")
_MIX_A = np.uint64(0x9E3779B97F4A7C15)
_MIX_B = np.uint64(0xBF58476D1CE4E5B9)


def _scramble(values: np.ndarray, salt: int) -> np.ndarray:
    """A bijective mix of 64-bit integers, so distinct inputs give distinct, random-looking ids."""
    x = values.astype(np.uint64) + np.uint64(salt & 0xFFFFFFFFFFFF)
    x = x * _MIX_A
    x ^= x >> np.uint64(31)
    x = x * _MIX_B
    x ^= x >> np.uint64(29)
    return x


def _hex(values: np.ndarray, digits: int = 16) -> pa.Array:
    """Lower-case hex strings of uint64 values, the last ``digits`` digits."""
    as_bytes = values.astype(np.uint64).byteswap().view(np.uint8).reshape(-1, 8)
    text = _HEX_LUT[as_bytes].view("S16").ravel()
    arr = pa.array(text, type=pa.binary()).cast(pa.string())
    return pc.utf8_slice_codeunits(arr, 16 - digits, 16) if digits < 16 else arr


def _prefixed(prefix: str, arr: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(prefix, arr, "")


def _iso(seconds: np.ndarray) -> pa.Array:
    """ISO-8601 UTC strings (``2026-02-03T04:05:06Z``) of epoch seconds."""
    text = pa.array(seconds.astype("int64"), type=pa.timestamp("s")).cast(pa.string())
    return pc.binary_join_element_wise(pc.utf8_replace_slice(text, 10, 11, "T"), "Z", "")


def _ipv4(a, b, c, d) -> pa.Array:
    parts = [pa.array(np.asarray(x).astype("int64")).cast(pa.string()) for x in (a, b, c, d)]
    return pc.binary_join_element_wise(*parts, ".")


def _pick(rng: np.random.Generator, options: np.ndarray, n: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return options[rng.choice(len(options), size=n, p=p)]


def _zipf_weights(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** exponent
    return w / w.sum()


def _split_sizes(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
    """Group sizes, log-uniform in [low, high], adding up to at most ``total``.

    What is left over (fewer than ``low`` accounts) is returned to the caller
    as the difference, to become individuals.
    """
    if total < low:
        return np.zeros(0, dtype=np.int64)
    draws = np.exp(rng.uniform(np.log(low), np.log(high + 1), size=total // low + 1)).astype(np.int64)
    draws = np.clip(draws, low, high)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, total, side="right"))
    sizes = draws[:k]
    rest = total - int(sizes.sum())
    if rest >= low:
        sizes = np.append(sizes, rest)
    return sizes


def _segment_ids(sizes: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(sizes)), sizes)


class _Builder:
    """Builds one population; each part draws from its own random stream."""

    def __init__(self, scenario: Scenario, seed: int, raw: bool):
        self.s = scenario
        self.seed = int(seed)
        self.raw = raw
        streams = np.random.SeedSequence([self.seed, 0x67736C74]).spawn(10)
        (self.r_groups, self.r_time, self.r_mail, self.r_pay, self.r_ip,
         self.r_tpl, self.r_prompt, self.r_link, self.r_ids, self.r_misc) = [np.random.default_rng(s) for s in streams]
        pop = scenario.population
        self.start = pop.start_s
        self.end = self.start + pop.days * DAY

    # -- structure ------------------------------------------------------------------------

    def build(self) -> SyntheticPopulation:
        self._plan_accounts()
        self._creation_times()
        accounts = self._accounts_table()
        payments = self._payments_table()
        ips = self._ips_table()
        prompts, truth_prompts = self._prompts_table()
        links = self._links_table()
        truth = self._truth_table()
        tables = {"accounts": accounts, "payments": payments, "ips": ips, "prompts": prompts, "links": links}
        manifest = {
            "generator": "graphsleuth",
            "version": __version__,
            "scenario": self.s.name,
            "seed": self.seed,
            "prompts": "raw" if self.raw else "template",
            "accounts": int(self.n),
            "ring_accounts": int((self.kind == RING).sum()),
            "rings": {r.name: int((self.ring == i).sum()) for i, r in enumerate(self.s.rings)},
            "rows": {name: t.num_rows for name, t in tables.items()},
            "requests": int(self.total_requests),
            "window": {"start": self.s.population.start, "days": self.s.population.days},
        }
        return SyntheticPopulation(self.s, self.seed, tables, truth, truth_prompts, manifest)

    def _plan_accounts(self) -> None:
        """Lay out accounts group by group (households, companies, campuses, rings)."""
        rng = self.r_groups
        legit_total = self.s.population.accounts - self.s.ring_accounts
        shares = self.s.legit.shares()
        counts = {k: int(round(legit_total * shares[k])) for k in ("household", "company", "campus", "heavy", "integrator")}
        lg = self.s.legit
        households = _split_sizes_exact(rng, counts["household"], [2, 3, 4, 5], [0.5, 0.3, 0.15, 0.05])
        companies = _split_sizes(rng, counts["company"], *lg.company_seats)
        campuses = _split_sizes(rng, counts["campus"], *lg.campus_size)
        heavy, integrators = counts["heavy"], counts["integrator"]
        used = households.sum() + companies.sum() + campuses.sum() + heavy + integrators
        individuals = max(0, legit_total - int(used))
        group_sizes = [np.ones(individuals, np.int64), households, companies, campuses,
                       np.ones(heavy, np.int64), np.ones(integrators, np.int64),
                       np.array([r.accounts for r in self.s.rings], dtype=np.int64)]
        kinds = [INDIVIDUAL, HOUSEHOLD, COMPANY, CAMPUS, HEAVY, INTEGRATOR, RING]
        sizes = np.concatenate(group_sizes)
        self.group_kind = np.concatenate([np.full(len(g), k, np.int8) for g, k in zip(group_sizes, kinds)])
        self.group_size = sizes
        self.group = _segment_ids(sizes)
        self.kind = self.group_kind[self.group]
        self.n = len(self.group)
        ring_of_group = np.full(len(sizes), -1, np.int64)
        ring_of_group[self.group_kind == RING] = np.arange(len(self.s.rings))
        self.ring = ring_of_group[self.group]
        self.group_first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        # Account ids come from a random permutation so that nothing about an
        # account's kind can be read from its id or its position in the files.
        self.id_number = self.r_ids.permutation(self.n)
        width = max(7, len(str(self.n)))
        self.account_id = _prefixed("u", pc.utf8_lpad(pa.array(self.id_number).cast(pa.string()), width, "0"))
        self.order = np.argsort(self.id_number, kind="stable")
        # One country per group for households, companies and campuses; mixed for rings.
        self.country = self._countries()

    def _countries(self) -> np.ndarray:
        rng = self.r_misc
        group_country = _pick(rng, np.arange(len(COUNTRIES)), len(self.group_size), COUNTRY_WEIGHTS)
        own = _pick(rng, np.arange(len(COUNTRIES)), self.n, COUNTRY_WEIGHTS)
        shared_group = np.isin(self.group_kind, [HOUSEHOLD, COMPANY, CAMPUS])[self.group]
        country = np.where(shared_group & (rng.random(self.n) < 0.95), group_country[self.group], own)
        for i, ring in enumerate(self.s.rings):
            members = self.ring == i
            choices = rng.choice(len(COUNTRIES), size=ring.countries, replace=False, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
            # Half the ring exits through proxies in the ring's few countries; the rest
            # look like anybody, so that country alone does not give the ring away.
            focused = members & (rng.random(self.n) < 0.5)
            country[focused] = choices[rng.integers(0, ring.countries, focused.sum())]
        return country

    def _creation_times(self) -> None:
        """When each account was created: growth for the legitimate, bursts for the rings."""
        rng = self.r_time
        pop = self.s.population
        history = pop.history_days * DAY
        g = max(pop.growth, 1e-6)

        def grown(n):  # density grows like exp(g * t) over the history: many recent signups
            x = np.log1p(rng.random(n) * np.expm1(g)) / g
            return self.end - (1.0 - x) * history

        t = grown(self.n)
        group_base = grown(len(self.group_size))[self.group]
        kind = self.kind
        # Households join within weeks of each other; company seats over months.
        hh = kind == HOUSEHOLD
        t[hh] = group_base[hh] + rng.exponential(30 * DAY, hh.sum())
        co = kind == COMPANY
        t[co] = group_base[co] + rng.exponential(90 * DAY, co.sum())
        # Campuses sign up in waves at the start of each semester.
        ca = kind == CAMPUS
        semester = rng.integers(0, 4, ca.sum()) * 182 * DAY
        t[ca] = group_base[ca] - semester + np.abs(rng.normal(0, 6 * DAY, ca.sum()))
        for i, ring in enumerate(self.s.rings):
            members = np.flatnonzero(self.ring == i)
            lo, hi = ring.created_before_days
            centres = self.start - rng.uniform(lo, hi, ring.creation_bursts) * DAY
            burst = rng.integers(0, ring.creation_bursts, len(members))
            t[members] = centres[burst] + rng.uniform(0, ring.burst_hours * HOUR, len(members))
        late = t > self.end - HOUR  # a group that joined recently: its members spread up to now
        t[late] = group_base[late] + rng.random(late.sum()) * np.maximum(self.end - HOUR - group_base[late], 0)
        self.created = np.clip(t, self.end - history - 30 * DAY, self.end - HOUR).astype(np.int64)
        self.active_from = np.maximum(self.created, self.start)

    # -- tables ---------------------------------------------------------------------------

    def _name_pools(self):
        fake = Faker(NAME_LOCALES)
        _sort_set_built_words(fake)
        fake.seed_instance(self.seed)
        firsts = sorted({_ascii(fake.first_name()) for _ in range(2500)} - {""})
        lasts = sorted({_ascii(fake.last_name()) for _ in range(2500)} - {""})
        companies = [_ascii(fake.company()) for _ in range(400)]
        cities = sorted({_ascii(fake.city()) for _ in range(300)} - {""})
        return np.array(firsts), np.array(lasts), companies, cities

    def _accounts_table(self) -> pa.Table:
        rng = self.r_mail
        firsts, lasts, company_names, cities = self._name_pools()
        n = self.n
        first = pa.array(firsts[rng.integers(0, len(firsts), n)])
        last = pa.array(lasts[rng.integers(0, len(lasts), n)])
        style = rng.choice(5, size=n, p=[0.35, 0.2, 0.1, 0.2, 0.15])
        initial = pc.utf8_slice_codeunits(first, 0, 1)
        local = pc.case_when(
            pc.make_struct(*[pa.array(style == k) for k in range(4)]),
            pc.binary_join_element_wise(first, last, "."),
            pc.binary_join_element_wise(first, last, ""),
            pc.binary_join_element_wise(first, last, "_"),
            pc.binary_join_element_wise(initial, last, ""),
            pc.binary_join_element_wise(last, initial, ""),
        )
        # Digit suffixes: common for free mail, more common still for generated ring names.
        digit_p = np.where(self.kind == RING, 0.7, 0.45)
        has_digits = rng.random(n) < digit_p
        digits = np.where(rng.random(n) < 0.5, rng.integers(10, 100, n), rng.integers(1960, 2008, n))
        suffix = pc.if_else(pa.array(has_digits), pa.array(digits).cast(pa.string()), "")
        local = pc.binary_join_element_wise(local, suffix, "")

        domain = _pick(rng, FREE_MAIL, n, FREE_MAIL_WEIGHTS).astype(object)
        kind = self.kind
        isp = (kind == INDIVIDUAL) & (rng.random(n) < 0.12)
        domain[isp] = _pick(rng, ISP_MAIL, isp.sum())
        personal = np.isin(kind, [INDIVIDUAL, HEAVY]) & (rng.random(n) < 0.06)
        domain[personal] = _personal_domains(lasts, rng, personal.sum())
        company_domains = _org_domains(company_names, rng, len(self.group_size))
        org = (kind == COMPANY) | ((kind == INTEGRATOR) & (rng.random(n) < 0.6))
        domain[org] = company_domains[self.group[org]]
        campus_domains = np.array([f"{c}.edu" if i % 3 else f"uni-{c}.ac" for i, c in enumerate(_slug_list(cities))], dtype=object)
        ca = kind == CAMPUS
        domain[ca] = campus_domains[self.group[ca] % len(campus_domains)]
        for i, _ring in enumerate(self.s.rings):
            members = np.flatnonzero(self.ring == i)
            throwaway = members[rng.random(len(members)) < 0.08]
            pool = np.array([f"mail{int(x)}.{tld}" for x, tld in zip(rng.integers(100, 999, 3), ("net", "xyz", "top"))], dtype=object)
            domain[throwaway] = pool[rng.integers(0, 3, len(throwaway))]
        email = pc.binary_join_element_wise(pc.utf8_lower(local), pa.array(domain, type=pa.string()), "@")
        o = self.order
        return pa.table({
            "account_id": self.account_id.take(pa.array(o)),
            "created_at": _iso(self.created[o]),
            "email": email.take(pa.array(o)),
            "country": pa.array(COUNTRIES[self.country[o]]),
        })

    def _bins(self):
        """A pool of issuer BINs with heavy-tailed popularity; some are prepaid/virtual issuers."""
        rng = self.r_pay
        n_bins = 3000
        bins = rng.choice(np.arange(400000, 560000), size=n_bins, replace=False)
        bins[::7] = rng.choice(np.arange(340000, 380000), size=len(bins[::7]), replace=False)
        popularity = _zipf_weights(n_bins, 1.05)
        prepaid = np.arange(15, 300, 9)  # mid-popularity issuers that also serve legitimate users
        corporate = np.arange(5, 400, 11)
        return bins, popularity, prepaid, corporate

    def _payments_table(self) -> pa.Table:
        rng = self.r_pay
        bins, popularity, prepaid, corporate = self._bins()
        n, kind, group = self.n, self.kind, self.group
        acct, bin_idx, card_key, pkind = [], [], [], []
        next_card = [0]

        def add(accounts, bin_choice, cards, kinds):
            acct.append(accounts)
            bin_idx.append(bin_choice)
            card_key.append(cards)
            pkind.append(kinds)

        def new_cards(k):
            start = next_card[0]
            next_card[0] += k
            return np.arange(start, start + k)

        def kinds_for(k):
            return rng.choice(3, size=k, p=[0.82, 0.13, 0.05])  # card, wallet, prepaid

        # Own cards: individuals, heavy users, integrators, students, some seats.
        own_p = np.select([kind == INDIVIDUAL, kind == HEAVY, kind == INTEGRATOR, kind == CAMPUS, kind == HOUSEHOLD, kind == COMPANY], [0.8, 0.95, 0.97, 0.6, 0.2, 0.03], 0.0)
        own = np.flatnonzero(rng.random(n) < own_p)
        add(own, rng.choice(len(bins), size=len(own), p=popularity), new_cards(len(own)), kinds_for(len(own)))
        second = own[rng.random(len(own)) < 0.06]
        add(second, rng.choice(len(bins), size=len(second), p=popularity), new_cards(len(second)), kinds_for(len(second)))
        # Shared cards: one per household (most), one corporate card per company.
        for code, share, bin_pool in ((HOUSEHOLD, 0.85, None), (COMPANY, 1.0, corporate)):
            groups = np.flatnonzero((self.group_kind == code) & (rng.random(len(self.group_size)) < share))
            if len(groups) == 0:
                continue
            cards = new_cards(len(groups))
            card_of_group = np.full(len(self.group_size), -1)
            card_of_group[groups] = np.arange(len(groups))
            members = np.flatnonzero((kind == code) & (card_of_group[group] >= 0))
            if bin_pool is None:
                gbins = rng.choice(len(bins), size=len(groups), p=popularity)
            else:
                gbins = bin_pool[rng.integers(0, len(bin_pool), len(groups))]
            gk = np.zeros(len(groups), dtype=np.int64)
            slot = card_of_group[group[members]]
            add(members, gbins[slot], cards[slot], gk[slot])
        # Rings: a few cards shared by many, or one card each from a handful of BINs.
        for i, ring in enumerate(self.s.rings):
            members = np.flatnonzero(self.ring == i)
            ring_bins = prepaid[rng.choice(len(prepaid), size=min(ring.bins, len(prepaid)), replace=False)]
            if ring.payment == "none":
                continue
            if ring.payment == "shared_cards":
                cards = new_cards(ring.cards)
                cbins = ring_bins[rng.integers(0, len(ring_bins), ring.cards)]
                pick = rng.choice(ring.cards, size=len(members), p=_zipf_weights(ring.cards, 0.6))
                add(members, cbins[pick], cards[pick], np.full(len(members), 2))
                extra = members[rng.random(len(members)) < 0.2]
                pick2 = rng.integers(0, ring.cards, len(extra))
                add(extra, cbins[pick2], cards[pick2], np.full(len(extra), 2))
            else:
                cards = new_cards(len(members))
                add(members, ring_bins[rng.integers(0, len(ring_bins), len(members))], cards, rng.choice([0, 2], size=len(members), p=[0.4, 0.6]))
        acct_a = np.concatenate(acct)
        card_a = np.concatenate(card_key)
        bin_a = np.concatenate(bin_idx)
        kind_a = np.concatenate(pkind)
        # A card that an account holds twice (own card drawn again) is listed once.
        _, keep = np.unique(acct_a.astype(np.int64) * (next_card[0] + 1) + card_a, return_index=True)
        acct_a, card_a, bin_a, kind_a = acct_a[keep], card_a[keep], bin_a[keep], kind_a[keep]
        order = np.lexsort((card_a, self.id_number[acct_a]))
        acct_a, card_a, bin_a, kind_a = acct_a[order], card_a[order], bin_a[order], kind_a[order]
        return pa.table({
            "account_id": self.account_id.take(pa.array(acct_a)),
            "payment_id": _prefixed("pm_", _hex(_scramble(card_a, self.seed * 7 + 1), 16)),
            "kind": pa.array(np.array(["card", "wallet", "prepaid"])[kind_a]),
            "bin": pa.array(bins[bin_a]).cast(pa.string()),
        })

    def _ip_pools(self):
        """Shared IP pools: VPN exits, carrier CGNAT, cloud egress, datacenter proxies."""
        rng = self.r_ip
        lg = self.s.legit
        n = self.n
        indiv = np.isin(self.kind, [INDIVIDUAL, HOUSEHOLD, HEAVY, CAMPUS, COMPANY])
        n_vpn = max(3, int(indiv.sum() * lg.vpn_share / lg.users_per_vpn_exit))
        n_cgnat = max(3, int(indiv.sum() * lg.cgnat_share / lg.users_per_cgnat_ip))
        n_cloud = max(3, int(n * lg.cloud_share / lg.users_per_cloud_ip) + int((self.kind == INTEGRATOR).sum() / 4))
        vpn = _subnet_hosts(rng, DATACENTER_OCTETS, n_vpn, per_subnet=24)
        cgnat = _carrier_hosts(rng, n_cgnat)
        cloud = _subnet_hosts(rng, CLOUD_OCTETS, n_cloud, per_subnet=40)
        return vpn, cgnat, cloud

    def _ips_table(self) -> pa.Table:
        rng = self.r_ip
        lg = self.s.legit
        n, kind, group = self.n, self.kind, self.group
        vpn, cgnat, cloud = self._ip_pools()
        acct, ip = [], []

        def add(accounts, addresses):
            acct.append(np.asarray(accounts, dtype=np.int64))
            ip.append(np.asarray(addresses, dtype=np.uint64))

        # Home IPs: one per individual or heavy user, one per household; some move.
        home_group = np.isin(self.group_kind, [INDIVIDUAL, HOUSEHOLD, HEAVY])
        home_of_group = np.zeros(len(self.group_size), dtype=np.uint64)
        home_of_group[home_group] = _residential(rng, int(home_group.sum()))
        has_home = home_group[group]
        add(np.flatnonzero(has_home), home_of_group[group[has_home]])
        movers = np.flatnonzero(has_home & (rng.random(n) < 0.35))
        add(movers, home_of_group[group[movers]] ^ rng.integers(1, 255, len(movers)).astype(np.uint64))
        # Students and employees also connect from home or a phone now and then.
        away = np.flatnonzero(np.isin(kind, [COMPANY, CAMPUS]) & (rng.random(n) < 0.4))
        add(away, _residential(rng, len(away)))
        # Shared egress: VPN exits, mobile CGNAT, cloud.
        for pool, share in ((vpn, lg.vpn_share), (cgnat, lg.cgnat_share), (cloud, lg.cloud_share)):
            users = np.flatnonzero((kind != RING) & (kind != INTEGRATOR) & (rng.random(n) < share))
            add(users, pool[rng.integers(0, len(pool), len(users))])
        integ = np.flatnonzero(kind == INTEGRATOR)
        for _ in range(2):
            add(integ, cloud[rng.integers(0, len(cloud), len(integ))])
        heavy_cloud = np.flatnonzero((kind == HEAVY) & (rng.random(n) < 0.3))
        add(heavy_cloud, cloud[rng.integers(0, len(cloud), len(heavy_cloud))])
        # Companies sit behind 1-4 NAT IPs in one /24; campuses behind a handful.
        for code, (lo, hi) in ((COMPANY, lg.company_nat_ips), (CAMPUS, lg.campus_ips)):
            groups = np.flatnonzero(self.group_kind == code)
            if len(groups) == 0:
                continue
            octets = CAMPUS_OCTETS if code == CAMPUS else DATACENTER_OCTETS
            base = _subnet_hosts(rng, octets, len(groups), per_subnet=1) & np.uint64(0xFFFFFF00)
            n_ips = rng.integers(lo, hi + 1, len(groups))
            members = np.flatnonzero(kind == code)
            gi = np.searchsorted(groups, group[members])
            add(members, base[gi] | (rng.integers(0, n_ips[gi]) + 10).astype(np.uint64))
            again = rng.random(len(members)) < 0.3
            add(members[again], base[gi[again]] | (rng.integers(0, n_ips[gi[again]]) + 10).astype(np.uint64))
        # Rings rotate through proxies: datacenter subnets or residential IPs shared with real homes.
        homes = home_of_group[home_group]
        for i, ring in enumerate(self.s.rings):
            members = np.flatnonzero(self.ring == i)
            if ring.proxies == "datacenter":
                pool = _subnet_hosts(rng, DATACENTER_OCTETS, ring.proxy_ips, per_subnet=max(8, ring.proxy_ips // 4))
            else:
                reuse = rng.random(ring.proxy_ips) < 0.7
                pool = _residential(rng, ring.proxy_ips)
                if len(homes):
                    pool[reuse] = homes[rng.integers(0, len(homes), reuse.sum())]
            lo, hi = ring.ips_per_account
            k = rng.integers(lo, hi + 1, len(members))
            rows = np.repeat(members, k)
            add(rows, pool[rng.integers(0, len(pool), len(rows))])
            vpn_users = members[rng.random(len(members)) < 0.05]
            add(vpn_users, vpn[rng.integers(0, len(vpn), len(vpn_users))])
        acct_a = np.concatenate(acct)
        ip_a = np.concatenate(ip)
        _, keep = np.unique(np.stack([acct_a.astype(np.uint64), ip_a]), axis=1, return_index=True)
        acct_a, ip_a = acct_a[keep], ip_a[keep]
        # IPv6 for a tenth of the home connections.
        v6 = (rng.random(len(ip_a)) < 0.1) & np.isin(kind[acct_a], [INDIVIDUAL, HOUSEHOLD, HEAVY])
        order = np.lexsort((ip_a, self.id_number[acct_a]))
        acct_a, ip_a, v6 = acct_a[order], ip_a[order], v6[order]
        first = self.active_from[acct_a] + rng.integers(0, 3 * DAY, len(acct_a))
        first = np.minimum(first, self.end - HOUR)
        last = first + (rng.random(len(acct_a)) * (self.end - first)).astype(np.int64)
        volume = self._volumes()[acct_a]
        share = rng.exponential(1.0, len(acct_a))
        per_acct = np.bincount(acct_a, weights=share, minlength=n)
        requests = np.maximum(1, np.round(volume * share / per_acct[acct_a])).astype(np.int64)
        ip_text = _ipv4(ip_a >> np.uint64(24), (ip_a >> np.uint64(16)) & np.uint64(255), (ip_a >> np.uint64(8)) & np.uint64(255), ip_a & np.uint64(255))
        if v6.any():
            six = _ipv6_from(ip_a[v6])
            ip_text = pc.if_else(pa.array(v6), _scatter(six, v6), ip_text)
        return pa.table({
            "account_id": self.account_id.take(pa.array(acct_a)),
            "ip": ip_text,
            "first_seen": _iso(first),
            "last_seen": _iso(last),
            "requests": pa.array(requests),
        })

    def _volumes(self) -> np.ndarray:
        """Requests per account over the window; rings sit inside the heavy users' range."""
        if hasattr(self, "volume"):
            return self.volume
        rng = self.r_prompt
        volume = np.zeros(self.n)
        for code, (median, sigma) in VOLUME.items():
            m = self.kind == code
            volume[m] = rng.lognormal(np.log(median), sigma, m.sum())
        for i, ring in enumerate(self.s.rings):
            m = self.ring == i
            sigma = 0.7
            mean = ring.requests / ring.accounts
            v = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, m.sum())
            volume[m] = v * ring.requests / v.sum()  # the ring's total is the reported figure
        self.volume = np.maximum(1, np.round(volume)).astype(np.int64)
        self.total_requests = int(self.volume.sum())
        return self.volume

    def _template_catalogue(self):
        """Template ids and families: benign (Zipf-popular), integrators', companies' and rings'."""
        rng = self.r_tpl
        pop = self.s.population
        families: list[str] = []
        n_benign = pop.benign_templates
        benign_family = np.where(rng.random(n_benign) < 0.03, "cot", "benign")
        families.extend(benign_family.tolist())
        self.benign_p = _zipf_weights(n_benign, pop.template_zipf)
        self.benign_cot = np.flatnonzero(benign_family == "cot")
        # Integrators: 1-4 templates of their own.
        integ_groups = np.flatnonzero(self.group_kind == INTEGRATOR)
        n_own = rng.integers(1, 5, len(integ_groups))
        self.integ_first = len(families) + np.concatenate([[0], np.cumsum(n_own)[:-1]]).astype(np.int64)
        self.integ_count = n_own
        self.integ_index = np.full(len(self.group_size), -1)
        self.integ_index[integ_groups] = np.arange(len(integ_groups))
        families.extend(["integrator"] * int(n_own.sum()))
        # Companies with an internal tool: one or two templates each.
        comp = np.flatnonzero((self.group_kind == COMPANY) & (rng.random(len(self.group_size)) < self.s.legit.company_internal_template))
        n_int = rng.integers(1, 3, len(comp))
        self.internal_first = np.full(len(self.group_size), -1)
        self.internal_count = np.zeros(len(self.group_size), dtype=np.int64)
        self.internal_first[comp] = len(families) + np.concatenate([[0], np.cumsum(n_int)[:-1]]).astype(np.int64)
        self.internal_count[comp] = n_int
        families.extend(["internal"] * int(n_int.sum()))
        # Rings: their own small set of distillation templates.
        self.ring_templates = []
        for ring in self.s.rings:
            own = [f for f in DISTILLATION_FAMILIES for _ in range(ring.templates.get(f, 0))]
            first = len(families)
            families.extend(own)
            self.ring_templates.append(np.arange(first, first + len(own)))
        self.families = families
        self.template_ids = _prefixed("t", _hex(_scramble(np.arange(len(families)), self.seed * 11 + 5), 10))

    def _prompts_table(self):
        rng = self.r_prompt
        volume = self._volumes()
        self._template_catalogue()
        n, kind = self.n, self.kind
        base = np.zeros(n, dtype=np.int64)
        mean = np.zeros(n)
        for code, (b, m) in ROWS.items():
            sel = kind == code
            base[sel], mean[sel] = b, m
        n_rows = np.minimum(base + rng.poisson(mean), volume)
        acct = np.repeat(np.arange(n), n_rows)
        rows = len(acct)
        k = kind[acct]
        # Everyone draws from the benign catalogue by popularity...
        tpl = rng.choice(len(self.benign_p), size=rows, p=self.benign_p)
        # ...heavy users and some integrators ask for step-by-step reasoning too...
        cot_users = (rng.random(n) < self.s.legit.step_by_step_share) & np.isin(kind, [HEAVY, INTEGRATOR, INDIVIDUAL])
        use_cot = cot_users[acct] & (rng.random(rows) < 0.3) & (len(self.benign_cot) > 0)
        if len(self.benign_cot):
            tpl[use_cot] = self.benign_cot[rng.integers(0, len(self.benign_cot), use_cot.sum())]
        # ...integrators mostly send their own templates...
        g = self.group[acct]
        integ = (k == INTEGRATOR) & (rng.random(rows) < 0.85)
        ii = self.integ_index[g[integ]]
        tpl[integ] = self.integ_first[ii] + rng.integers(0, self.integ_count[ii])
        # ...seats of companies with an internal tool use it often...
        has_tool = self.internal_count[g] > 0
        tool_user = has_tool & (rng.random(n) < 0.6)[acct] & (rng.random(rows) < 0.4)
        gi = g[tool_user]
        tpl[tool_user] = self.internal_first[gi] + rng.integers(0, self.internal_count[gi])
        # ...and ring accounts send their distillation templates, with some camouflage.
        ts = self.active_from[acct] + (rng.random(rows) * (self.end - self.active_from[acct])).astype(np.int64)
        release = (k != RING) & (rng.random(rows) < 0.06)
        first_sync = self.s.rings[0].sync_days[0] if self.s.rings and self.s.rings[0].sync_days else 3
        release_t = self.start + first_sync * DAY + rng.integers(0, DAY, release.sum())
        ts[release] = np.maximum(release_t, self.active_from[acct[release]])
        for i, ring in enumerate(self.s.rings):
            sel = np.flatnonzero(self.ring[acct] == i)
            own = self.ring_templates[i]
            distil = rng.random(len(sel)) >= ring.camouflage
            pick = rng.choice(len(own), size=int(distil.sum()), p=_zipf_weights(len(own), 0.5))
            tpl[sel[distil]] = own[pick]
            if ring.sync_days:
                sync = rng.random(len(sel)) < ring.sync_share
                day = np.array(ring.sync_days)[rng.integers(0, len(ring.sync_days), sync.sum())]
                hour = rng.uniform(0, 20)  # the ring's operator starts its jobs at one time of day
                t_sync = self.start + day * DAY + int(hour * HOUR) + rng.normal(0, 1.2 * HOUR, sync.sum()).astype(np.int64)
                ts[sel[sync]] = np.clip(t_sync, self.active_from[acct[sel[sync]]], self.end - 1)
        share = rng.exponential(1.0, rows)
        per_acct = np.bincount(acct, weights=share, minlength=n)
        count = np.maximum(1, np.round(volume[acct] * share / per_acct[acct])).astype(np.int64)
        order = np.lexsort((ts, self.id_number[acct]))
        acct, tpl, ts, count = acct[order], tpl[order], ts[order], count[order]
        self.total_requests = int(count.sum())
        columns = {"account_id": self.account_id.take(pa.array(acct))}
        truth_prompts = None
        if self.raw:
            from .rawtext import render_prompts, template_texts

            texts = template_texts(self.families, self.seed)
            columns["prompt"] = pa.array(render_prompts(tpl, texts, self.seed), type=pa.string())
            truth_prompts = pa.table({"row": pa.array(np.arange(1, rows + 1)), "template_id": self.template_ids.take(pa.array(tpl))})
        else:
            columns["template_id"] = self.template_ids.take(pa.array(tpl))
        columns["ts"] = _iso(ts)
        columns["count"] = pa.array(count)
        return pa.table(columns), truth_prompts

    def _links_table(self) -> pa.Table:
        """Device fingerprints and phone numbers; lazy rings reuse both from small pools."""
        rng = self.r_link
        n, kind, group = self.n, self.kind, self.group
        device = np.arange(n, dtype=np.int64)
        shared_device = (kind == HOUSEHOLD) & (rng.random(n) < 0.3)
        device[shared_device] = self.group_first[group[shared_device]]
        phone_key = np.arange(n, dtype=np.int64)
        has_phone = rng.random(n) < np.where(kind == COMPANY, 0.5, 0.75)
        for i, ring in enumerate(self.s.rings):
            m = np.flatnonzero(self.ring == i)
            if ring.devices:
                device[m] = m[0] + rng.integers(0, ring.devices, len(m))
            has_phone[m] = True
            if ring.phones:
                phone_key[m] = m[0] + rng.integers(0, ring.phones, len(m))
        phones = np.flatnonzero(has_phone)
        acct = np.concatenate([np.arange(n), phones])
        link_kind = np.concatenate([np.zeros(n, np.int8), np.ones(len(phones), np.int8)])
        digits = (_scramble(phone_key[phones], self.seed * 13 + 3) % np.uint64(9_000_000_000) + np.uint64(1_000_000_000)).astype(np.int64)
        cc = np.array(["+1", "+91", "+44", "+49", "+55", "+33", "+81", "+1", "+82", "+34", "+39", "+31", "+48", "+61", "+46", "+90", "+62", "+52", "+65", "+86"])
        phone_text = pc.binary_join_element_wise(pa.array(cc[self.country[phones]]), pa.array(digits).cast(pa.string()), "")
        device_text = _prefixed("fp_", _hex(_scramble(device, self.seed * 17 + 9), 16))
        value = pa.concat_arrays([device_text, phone_text])
        order = np.lexsort((link_kind, self.id_number[acct]))
        return pa.table({
            "account_id": self.account_id.take(pa.array(acct[order])),
            "kind": pa.array(np.array(["device", "phone"])[link_kind[order]]),
            "value": value.take(pa.array(order)),
        })

    def _truth_table(self) -> pa.Table:
        o = self.order
        ring_names = np.array([r.name for r in self.s.rings] + [""], dtype=object)
        ring_id = ring_names[np.where(self.ring[o] >= 0, self.ring[o], len(self.s.rings))]
        group_id = _prefixed("g", pa.array(self.group[o]).cast(pa.string()))
        return pa.table({
            "account_id": self.account_id.take(pa.array(o)),
            "ring_id": pa.array(ring_id, type=pa.string()),
            "kind": pa.array(np.array(KINDS)[self.kind[o]]),
            "group_id": group_id,
        })


# --- pools of names and addresses ------------------------------------------------------------


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _sort_set_built_words(fake: Faker) -> None:
    """Give this Faker's city lists a fixed order, so that a seeded draw repeats in every process.

    Some locales build their list of cities from a set (it_IT, 16,559 of them), so
    its order, and what a seeded draw picks, follows Python's per-process string
    hashing. A sorted copy is set on this instance's providers; Faker's classes are
    left as they are.
    """
    for locale in NAME_LOCALES:
        for provider in fake[locale].providers:
            if isinstance(getattr(provider, "cities", None), list):
                provider.cities = sorted(provider.cities)


def _slug_list(words) -> list[str]:
    return [w for w in words if w] or ["state"]


def _org_domains(company_names: list[str], rng: np.random.Generator, n: int) -> np.ndarray:
    """One distinct email domain per group: a company name, a serial when names run out, a TLD."""
    tlds = np.array(["com", "io", "de", "co.uk", "fr", "ai", "net", "tech"])
    base = np.array(sorted({c[:18] for c in company_names if c} or {"corp"}), dtype=object)
    order = rng.permutation(n)
    serial = order // len(base)
    names = base[order % len(base)] + np.where(serial > 0, serial.astype(str), "")
    return (names + "." + tlds[rng.integers(0, len(tlds), n)]).astype(object)


def _personal_domains(lasts: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    tlds = np.array([".dev", ".me", ".io", ".net", ".name"])
    return (lasts[rng.integers(0, len(lasts), n)].astype(object) + tlds[rng.integers(0, len(tlds), n)]).astype(object)


def _split_sizes_exact(rng: np.random.Generator, total: int, sizes: list[int], p: list[float]) -> np.ndarray:
    """Small group sizes drawn from ``sizes``; the last group is trimmed so they add up to ``total``."""
    if total < min(sizes):
        return np.zeros(0, dtype=np.int64)
    draws = rng.choice(sizes, size=total // min(sizes) + 1, p=p)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, total, side="left"))
    out = draws[: k + 1].copy()
    out[-1] -= int(out.sum()) - total
    if out[-1] < 2:
        out = out[:-1]
    return out.astype(np.int64)


def _residential(rng: np.random.Generator, n: int) -> np.ndarray:
    a = RESIDENTIAL_OCTETS[rng.integers(0, len(RESIDENTIAL_OCTETS), n)].astype(np.uint64)
    rest = rng.integers(0, 1 << 24, n).astype(np.uint64)
    rest = np.where((rest & np.uint64(255)) == 0, rest | np.uint64(1), rest)
    return (a << np.uint64(24)) | rest


def _subnet_hosts(rng: np.random.Generator, octets: np.ndarray, n: int, per_subnet: int) -> np.ndarray:
    """``n`` distinct hosts packed ``per_subnet`` to a /24 in networks of the given first octets."""
    n_subnets = max(1, -(-n // per_subnet))
    a = octets[rng.integers(0, len(octets), n_subnets)].astype(np.uint64)
    bc = rng.integers(0, 1 << 16, n_subnets).astype(np.uint64)
    nets = (a << np.uint64(24)) | (bc << np.uint64(8))
    host = (np.arange(n) % per_subnet % 250 + 2).astype(np.uint64)
    return nets[np.arange(n) // per_subnet] | host


def _carrier_hosts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mobile carriers' public CGNAT addresses (172.56-63.x, 166.x and others)."""
    a = CARRIER_OCTETS[rng.integers(0, len(CARRIER_OCTETS), n)].astype(np.uint64)
    b = rng.integers(0, 256, n).astype(np.uint64)
    b = np.where(a == 172, 56 + b % 8, b)
    b = np.where(a == 100, 128 + b % 128, b)
    rest = rng.integers(256, 1 << 16, n).astype(np.uint64)
    return (a << np.uint64(24)) | (b << np.uint64(16)) | rest


def _ipv6_from(v4: np.ndarray) -> pa.Array:
    """An IPv6 home address derived from an IPv4 one, so that a household keeps one /48."""
    mixed = _scramble(v4, 99)
    words = [pa.array(((mixed >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.int64)) for s in (48, 32, 16, 0)]
    hexes = [pc.utf8_lower(_int_hex(w)) for w in words]
    return pc.binary_join_element_wise("2a02", hexes[0], hexes[1], "", hexes[2], hexes[3], ":")


def _int_hex(arr: pa.Array) -> pa.Array:
    values = arr.to_numpy().astype(np.uint64)
    return _strip_zeros(_hex(values, 4))


def _strip_zeros(text: pa.Array) -> pa.Array:
    stripped = pc.utf8_ltrim(text, "0")
    return pc.if_else(pc.equal(pc.utf8_length(stripped), 0), "0", stripped)


def _scatter(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """Spread ``values`` over the positions where ``mask`` is true (nulls elsewhere)."""
    index = np.full(len(mask), -1, dtype=np.int64)
    index[mask] = np.arange(mask.sum())
    taken = values.take(pa.array(np.where(mask, index, 0)))
    return pc.if_else(pa.array(mask), taken, pa.nulls(len(mask), pa.string()))


# --- writing --------------------------------------------------------------------------------


def write_population(population: SyntheticPopulation, out: str | Path, format: str = "csv", force: bool = False) -> Path:
    """Write the tables, truth.csv and manifest.json to ``out``, atomically.

    An existing non-empty ``out`` is replaced only with ``force``.
    """
    with output_directory(out, force) as tmp:
        for name, table in population.tables.items():
            _write_table(table, tmp / name, format)
        _write_table(population.truth, tmp / "truth", "csv")
        if population.truth_prompts is not None:
            _write_table(population.truth_prompts, tmp / "truth_prompts", "csv")
        (tmp / "manifest.json").write_text(json.dumps(population.manifest, indent=2, sort_keys=True) + "\n")
    return Path(out)


def _write_table(table: pa.Table, stem: Path, format: str) -> None:
    if format == "parquet":
        pq.write_table(table, stem.with_suffix(".parquet"), compression="zstd")
    else:
        pacsv.write_csv(table, stem.with_suffix(".csv"), write_options=pacsv.WriteOptions(quoting_style="needed"))
