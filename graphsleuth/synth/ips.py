"""The ips table: homes, offices, campuses, shared egress (VPN exits, mobile CGNAT, cloud) and rings' proxies."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import DAY, HOUR, hex_text, ipv4_text, iso_times, scramble
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
    RING,
    SIGNUP_WAVE,
)
from .plan import AccountPlan

__all__ = ["ips_table"]

# First octets by kind of network; all public, none private or reserved.
RESIDENTIAL_OCTETS = np.array(
    [
        24,
        47,
        67,
        68,
        69,
        71,
        73,
        75,
        76,
        77,
        79,
        81,
        82,
        83,
        84,
        85,
        86,
        87,
        88,
        89,
        90,
        91,
        92,
        93,
        94,
        95,
        98,
        99,
        109,
        151,
        176,
        177,
        178,
        179,
        186,
        187,
        189,
        190,
        200,
        201,
    ]
)
DATACENTER_OCTETS = np.array(
    [
        5,
        23,
        37,
        45,
        46,
        62,
        64,
        66,
        104,
        107,
        138,
        139,
        143,
        146,
        149,
        157,
        159,
        161,
        164,
        165,
        167,
        185,
        188,
        193,
        194,
        195,
        198,
        199,
        209,
        212,
        213,
        216,
        217,
    ]
)
CLOUD_OCTETS = np.array([3, 13, 18, 20, 34, 35, 40, 44, 52, 54])
CAMPUS_OCTETS = np.array([128, 129, 130, 131, 132, 134, 136, 137, 140, 141, 152, 155, 156, 160])
CARRIER_OCTETS = np.array([166, 172, 174, 100, 108, 117, 223])  # 172 is used only as 172.56-63; 100 only as 100.128+


def _ip_pools(plan: AccountPlan, rng: np.random.Generator):
    """Shared IP pools: VPN exits, carrier CGNAT, cloud egress, datacenter proxies."""
    lg = plan.scenario.legit
    n = plan.n
    indiv = np.isin(plan.kind, [INDIVIDUAL, HOUSEHOLD, HEAVY, CAMPUS, COMPANY])
    n_vpn = max(3, int(indiv.sum() * lg.vpn_share / lg.users_per_vpn_exit))
    n_cgnat = max(3, int(indiv.sum() * lg.cgnat_share / lg.users_per_cgnat_ip))
    n_cloud = max(3, int(n * lg.cloud_share / lg.users_per_cloud_ip) + int((plan.kind == INTEGRATOR).sum() / 4))
    vpn = _subnet_hosts(rng, DATACENTER_OCTETS, n_vpn, per_subnet=24)
    cgnat = _carrier_hosts(rng, n_cgnat)
    cloud = _subnet_hosts(rng, CLOUD_OCTETS, n_cloud, per_subnet=40)
    return vpn, cgnat, cloud


def ips_table(plan: AccountPlan, rng: np.random.Generator, more: np.random.Generator | None = None) -> pa.Table:
    """Home, office, campus, VPN, carrier and cloud addresses, and the rings' proxies, with first/last seen and requests.

    A ring's proxies are datacenter subnets, residential IPs of which ``proxy_overlap`` are real
    homes', a mix of both, or none (each member on home-like IPs of its own). ``more`` draws the
    look-alike groups' networks.
    """
    lg = plan.scenario.legit
    n, kind, group = plan.n, plan.kind, plan.group
    vpn, cgnat, cloud = _ip_pools(plan, rng)
    acct, ip = [], []

    def add(accounts, addresses):
        acct.append(np.asarray(accounts, dtype=np.int64))
        ip.append(np.asarray(addresses, dtype=np.uint64))

    # Home IPs: one per individual or heavy user, one per household; some move.
    home_group = np.isin(plan.group_kind, [INDIVIDUAL, HOUSEHOLD, HEAVY])
    home_of_group = np.zeros(len(plan.group_size), dtype=np.uint64)
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
        groups = np.flatnonzero(plan.group_kind == code)
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
    for i, ring in enumerate(plan.scenario.rings):
        members = np.flatnonzero(plan.ring == i)
        lo, hi = ring.ips_per_account
        if ring.proxies == "none":  # no proxies: each member on home-like IPs of its own
            k = rng.integers(1, 3, len(members))  # one or two: a home and a phone
            rows = np.repeat(members, k)
            add(rows, _residential(rng, len(rows)))
        else:
            if ring.proxies == "datacenter":
                pool = _subnet_hosts(rng, DATACENTER_OCTETS, ring.proxy_ips, per_subnet=max(8, ring.proxy_ips // 4))
            elif ring.proxies == "residential":
                pool = _residential_proxies(rng, ring.proxy_ips, ring.proxy_overlap, homes)
            else:  # mixed: half datacenter, half residential
                half = ring.proxy_ips // 2
                pool = np.concatenate(
                    [
                        _subnet_hosts(rng, DATACENTER_OCTETS, max(1, half), per_subnet=max(8, half // 4)),
                        _residential_proxies(rng, max(1, ring.proxy_ips - half), ring.proxy_overlap, homes),
                    ]
                )
            k = rng.integers(lo, hi + 1, len(members))
            rows = np.repeat(members, k)
            add(rows, pool[rng.integers(0, len(pool), len(rows))])
        vpn_users = members[rng.random(len(members)) < 0.05]
        add(vpn_users, vpn[rng.integers(0, len(vpn), len(vpn_users))])
    if more is not None:
        _lookalike_networks(plan, add, cloud, more)
    acct_a = np.concatenate(acct)
    ip_a = np.concatenate(ip)
    _, keep = np.unique(np.stack([acct_a.astype(np.uint64), ip_a]), axis=1, return_index=True)
    acct_a, ip_a = acct_a[keep], ip_a[keep]
    # IPv6 for a tenth of the home connections.
    v6 = (rng.random(len(ip_a)) < 0.1) & np.isin(kind[acct_a], [INDIVIDUAL, HOUSEHOLD, HEAVY])
    order = np.lexsort((ip_a, plan.id_number[acct_a]))
    acct_a, ip_a, v6 = acct_a[order], ip_a[order], v6[order]
    first = plan.active_from[acct_a] + rng.integers(0, 3 * DAY, len(acct_a))
    until = plan.active_to[acct_a]
    first = np.minimum(first, until - HOUR)
    last = first + (rng.random(len(acct_a)) * (until - first)).astype(np.int64)
    volume = plan.volume[acct_a]
    share = rng.exponential(1.0, len(acct_a))
    per_acct = np.bincount(acct_a, weights=share, minlength=n)
    requests = np.maximum(1, np.round(volume * share / per_acct[acct_a])).astype(np.int64)
    ip_text = ipv4_text(
        ip_a >> np.uint64(24), (ip_a >> np.uint64(16)) & np.uint64(255), (ip_a >> np.uint64(8)) & np.uint64(255), ip_a & np.uint64(255)
    )
    if v6.any():
        six = _ipv6_from(ip_a[v6])
        ip_text = pc.if_else(pa.array(v6), _scatter(six, v6), ip_text)
    return pa.table(
        {
            "account_id": plan.account_id.take(pa.array(acct_a)),
            "ip": ip_text,
            "first_seen": iso_times(first),
            "last_seen": iso_times(last),
            "requests": pa.array(requests),
        }
    )


def _residential_proxies(rng: np.random.Generator, n: int, overlap: float, homes: np.ndarray) -> np.ndarray:
    """A residential proxy pool: ``overlap`` of it real homes' IPs (shared with legitimate users), the rest other homes."""
    reuse = rng.random(n) < overlap
    pool = _residential(rng, n)
    if len(homes):
        pool[reuse] = homes[rng.integers(0, len(homes), reuse.sum())]
    return pool


def _lookalike_networks(plan: AccountPlan, add, cloud: np.ndarray, rng: np.random.Generator) -> None:
    """A class on its campus network (and students at home), an evaluation company behind a few NAT IPs,
    framework developers at home and on the cloud their apps run on, a hackathon's venue network,
    sign-ups at home."""
    kind, group, n = plan.kind, plan.group, plan.n
    home_mask = np.isin(kind, [FRAMEWORK_DEV, SIGNUP_WAVE, HACKATHON, CLASSROOM]) & (
        rng.random(n) < np.where(kind == CLASSROOM, 0.6, np.where(kind == HACKATHON, 0.7, 1.0))
    )
    at_home = np.flatnonzero(home_mask)
    home = _residential(rng, len(at_home))
    add(at_home, home)
    movers = at_home[rng.random(len(at_home)) < 0.35]
    add(movers, home[np.searchsorted(at_home, movers)] ^ rng.integers(1, 255, len(movers)).astype(np.uint64))
    devs = np.flatnonzero(kind == FRAMEWORK_DEV)
    for _ in range(2):
        some = devs[rng.random(len(devs)) < 0.7]
        add(some, cloud[rng.integers(0, len(cloud), len(some))])
    for code, octets, (lo, hi), share in (
        (CLASSROOM, CAMPUS_OCTETS, (1, 3), 0.9),
        (EVAL_COMPANY, DATACENTER_OCTETS, (1, 3), 1.0),
        (HACKATHON, DATACENTER_OCTETS, (1, 4), 0.95),
    ):
        groups = np.flatnonzero(plan.group_kind == code)
        if len(groups) == 0:
            continue
        base = _subnet_hosts(rng, octets, len(groups), per_subnet=1) & np.uint64(0xFFFFFF00)
        n_ips = rng.integers(lo, hi + 1, len(groups))
        # a student or participant who never connects from home does from the campus or venue
        members = np.flatnonzero((kind == code) & ((rng.random(n) < share) | ~home_mask))
        gi = np.searchsorted(groups, group[members])
        add(members, base[gi] | (rng.integers(0, n_ips[gi]) + 10).astype(np.uint64))
    runners = np.flatnonzero((kind == EVAL_COMPANY) & (rng.random(n) < 0.3))
    add(runners, cloud[rng.integers(0, len(cloud), len(runners))])


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
    mixed = scramble(v4, 99)
    words = [pa.array(((mixed >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.int64)) for s in (48, 32, 16, 0)]
    hexes = [pc.utf8_lower(_int_hex(w)) for w in words]
    return pc.binary_join_element_wise("2a02", hexes[0], hexes[1], "", hexes[2], hexes[3], ":")


def _int_hex(arr: pa.Array) -> pa.Array:
    values = arr.to_numpy().astype(np.uint64)
    return _strip_zeros(hex_text(values, 4))


def _strip_zeros(text: pa.Array) -> pa.Array:
    stripped = pc.utf8_ltrim(text, "0")
    return pc.if_else(pc.equal(pc.utf8_length(stripped), 0), "0", stripped)


def _scatter(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """Spread ``values`` over the positions where ``mask`` is true (nulls elsewhere)."""
    index = np.full(len(mask), -1, dtype=np.int64)
    index[mask] = np.arange(mask.sum())
    taken = values.take(pa.array(np.where(mask, index, 0)))
    return pc.if_else(pa.array(mask), taken, pa.nulls(len(mask), pa.string()))
