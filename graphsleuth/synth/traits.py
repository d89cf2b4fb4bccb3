"""What each planted ring is, as planted and as it shows in the tables: truth_rings.json.

An explanation of a suspected ring names traits (created in bursts, sharing cards, buying
from a few BINs, acting in lockstep, sending templates of its own). To check that no
explanation claims a trait its ring does not have, every planted ring's record holds:

* ``planted``: the ring's scenario keys, as the generator used them;
* ``measured``: figures read off the generated rows (creation times, cards, BINs, IPs,
  templates, waves), so a claim can be checked against what the data really holds;
* ``traits``: yes/no (or a kind) for each claim an explanation can make, defined from the
  two above by :data:`TRAIT_DEFINITIONS` (written into the file too).

A trait that is false is one the ring clearly does not have: a ring created evenly over
months is not bursty, a ring on one card per account from popular BINs does not share cards
or buy BINs in bulk, a ring without waves has no lockstep waves.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pyarrow as pa

from .accounts import FREE_MAIL
from .arrays import DAY, HOUR
from .kinds import RING
from .plan import AccountPlan

__all__ = ["ring_traits", "TRAIT_DEFINITIONS", "BURST_WINDOW_HOURS", "BURSTY_SHARE", "WAVE_SHARE", "BULK_CARDS_PER_BIN"]

#: A ring is bursty when at least BURSTY_SHARE of its accounts were created within one window of this many hours...
BURST_WINDOW_HOURS = 72
BURSTY_SHARE = 0.3
#: ...it acts in lockstep waves when at least this share of its requests came in its operator's waves...
WAVE_SHARE = 0.1
#: ...and it buys BINs in bulk when it holds at least this many cards per BIN, from BINs that are not the popular ones.
BULK_CARDS_PER_BIN = 3

TRAIT_DEFINITIONS = {
    "bursty_creation": (
        f"planted in bursts of at most {BURST_WINDOW_HOURS} hours with at least 5 accounts per burst on average, "
        f"or at least {BURSTY_SHARE:.0%} of the accounts created within one {BURST_WINDOW_HOURS}-hour window "
        "(measured.peak_creation_share_72h)"
    ),
    "pays": "at least one member holds a payment method",
    "shares_cards": "some card is held by two or more members (measured.accounts_per_card_max >= 2)",
    "bulk_bins": (
        f"pays by card, its BINs are not the ones ordinary users use most (planted.bin_source != popular), "
        f"and it holds at least {BULK_CARDS_PER_BIN} cards per BIN (measured.cards_per_bin)"
    ),
    "proxies": "planted proxy kind: datacenter, residential, mixed or none (members on home-like IPs of their own)",
    "shares_ips": "some IP is used by two or more members",
    "lockstep_waves": f"at least {WAVE_SHARE:.0%} of its requests came in its operator's waves (measured.wave_request_share)",
    "private_templates": "it sends distillation templates that no other ring and no legitimate account sends",
    "shared_bank": "the name of the template bank it also draws from (shared with other rings and some power users), or null",
    "camouflage": "planted share of its requests on the population's ordinary templates",
    "dressed_as_company": "all members on one company-looking domain and one corporate card",
    "schedule": "its operator's hours: round_the_clock, night, daily_batches or office_hours",
    "creation": "bursts or even (one account after another over planted.creation_days)",
    "account_days": "0: every member works the whole window; else each works this many days, the members taking turns",
}


def _account_numbers(plan: AccountPlan, table: pa.Table) -> np.ndarray:
    index = pd.Index(plan.account_id.to_numpy(zero_copy_only=False))
    return index.get_indexer(table.column("account_id").to_numpy(zero_copy_only=False))


def _iso(seconds: float) -> str:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _creation(created: np.ndarray) -> dict:
    t = np.sort(created)
    window = BURST_WINDOW_HOURS * HOUR
    within = np.searchsorted(t, t + window, side="right") - np.arange(len(t))
    near = np.searchsorted(t, t + 6 * HOUR, side="right") - np.searchsorted(t, t - 6 * HOUR, side="left") - 1
    return {
        "created_from": _iso(t[0]),
        "created_to": _iso(t[-1]),
        "creation_span_days": round(float(t[-1] - t[0]) / DAY, 3),
        "peak_creation_share_72h": round(float(within.max()) / len(t), 4),
        "created_near_others_share": round(float((near >= 4).mean()), 4),
    }


def _cards(acct: np.ndarray, card: np.ndarray, bins: np.ndarray, is_member: np.ndarray, is_legit: np.ndarray) -> dict:
    """Cards and BINs of a ring (``card`` and ``bins`` as integer codes)."""
    rows = is_member[acct]
    if not rows.any():
        return {"cards": 0, "accounts_per_card_max": 0, "bins": 0, "cards_per_bin": 0.0, "legit_accounts_on_its_bins": 0}
    pairs = pd.DataFrame({"a": acct[rows], "card": card[rows], "bin": bins[rows]}).drop_duplicates(["a", "card"])
    per_card = pairs.groupby("card")["a"].nunique()
    ring_bins = pairs["bin"].unique()
    on_ring_bins = np.zeros(int(bins.max()) + 1, dtype=bool)
    on_ring_bins[ring_bins] = True
    legit = is_legit[acct] & on_ring_bins[bins]
    n_cards = int(pairs["card"].nunique())
    return {
        "cards": n_cards,
        "accounts_per_card_max": int(per_card.max()),
        "bins": int(len(ring_bins)),
        "cards_per_bin": round(n_cards / len(ring_bins), 3),
        "legit_accounts_on_its_bins": int(len(np.unique(acct[legit]))),
    }


def _ips(acct: np.ndarray, ip: np.ndarray, is_member: np.ndarray, legit_ip: np.ndarray) -> dict:
    """IPs of a ring (``ip`` as integer codes; ``legit_ip`` says, per code, whether a legitimate account uses it)."""
    rows = is_member[acct]
    per_ip = pd.Series(acct[rows]).groupby(ip[rows]).nunique()
    return {
        "ips": int(len(per_ip)),
        "ips_shared_by_members": int((per_ip >= 2).sum()),
        "ips_also_used_by_legit_share": round(float(legit_ip[per_ip.index.to_numpy()].mean()), 4) if len(per_ip) else 0.0,
    }


def _requests(rows: dict[str, np.ndarray], is_member: np.ndarray) -> dict:
    mine = is_member[rows["acct"]]
    count = rows["count"][mine]
    total = max(1, int(count.sum()))
    distil = rows["distilling"][mine]
    d_acct, d_tpl, d_ts, d_count = rows["acct"][mine][distil], rows["tpl"][mine][distil], rows["ts"][mine][distil], count[distil]
    cell = pd.DataFrame({"key": d_tpl.astype(np.int64) * (1 << 32) + d_ts // HOUR, "a": d_acct, "c": d_count})
    members_per_cell = cell.groupby("key")["a"].nunique()
    crowded = cell["key"].map(members_per_cell).to_numpy() >= 3 if len(cell) else np.zeros(0, bool)
    return {
        "requests": int(count.sum()),
        "distillation_request_share": round(float(d_count.sum()) / total, 4),
        "wave_request_share": round(float(count[rows["wave"][mine]].sum()) / total, 4),
        "same_hour_share": round(float(d_count[crowded].sum()) / max(1, int(d_count.sum())), 4),
    }


def _domains(plan: AccountPlan, accounts: pa.Table) -> np.ndarray:
    emails = pd.Series(accounts.column("email").to_numpy(zero_copy_only=False))
    domain = emails.str.split("@").str[1].to_numpy(dtype=object)
    out = np.empty(plan.n, dtype=object)
    out[_account_numbers(plan, accounts)] = domain
    return out


def ring_traits(plan: AccountPlan, tables: dict[str, pa.Table], prompt_rows: dict[str, np.ndarray], tools) -> dict:
    """truth_rings.json's content: each planted ring's planted keys, measured figures and traits, and the campaigns."""
    scenario = plan.scenario
    is_legit = plan.kind != RING
    pay, ips = tables["payments"], tables["ips"]
    pay_acct = _account_numbers(plan, pay)
    pay_card = pd.factorize(pay.column("payment_id").to_numpy(zero_copy_only=False))[0]
    pay_bin = pd.factorize(pay.column("bin").to_numpy(zero_copy_only=False))[0]
    ip_acct = _account_numbers(plan, ips)
    ip_value, ip_names = pd.factorize(ips.column("ip").to_numpy(zero_copy_only=False))
    legit_ips = np.zeros(len(ip_names), dtype=bool)
    legit_ips[ip_value[is_legit[ip_acct]]] = True
    domain = _domains(plan, tables["accounts"])
    bank_users = _bank_users(plan, prompt_rows, tools)
    records = []
    for i, ring in enumerate(scenario.rings):
        is_member = plan.ring == i
        measured = {
            **_creation(plan.created[is_member]),
            **_cards(pay_acct, pay_card, pay_bin, is_member, is_legit),
            **_ips(ip_acct, ip_value, is_member, legit_ips),
            **_requests(prompt_rows, is_member),
        }
        top_domain = pd.Series(domain[is_member]).value_counts()
        measured["top_domain_share"] = round(float(top_domain.iloc[0]) / int(is_member.sum()), 4)
        measured["top_domain_is_free_mail"] = bool(top_domain.index[0] in set(FREE_MAIL))
        planted = asdict(ring)
        planted["templates"] = dict(ring.templates)
        records.append(
            {
                "ring_id": ring.name,
                "campaign_id": scenario.campaign_of(ring),
                "size": int(is_member.sum()),
                "traits": _traits(ring, measured),
                "planted": planted,
                "measured": measured,
            }
        )
    campaigns = {}
    for ring in scenario.rings:
        campaigns.setdefault(scenario.campaign_of(ring), []).append(ring.name)
    return {
        "generator": "graphsleuth",
        "scenario": scenario.name,
        "seed": plan.seed,
        "definitions": TRAIT_DEFINITIONS,
        "rings": records,
        "campaigns": [
            {
                "campaign_id": cid,
                "rings": names,
                "bank": cid if scenario.bank(cid) else None,
                "ties": "shared template bank" if scenario.bank(cid) else "one ring",
            }
            for cid, names in campaigns.items()
        ],
        "banks": [
            {"name": b.name, "templates": int(sum(b.templates.values())), "legit_accounts_sending": bank_users[k]}
            for k, b in enumerate(scenario.banks)
        ],
    }


def _traits(ring, measured: dict) -> dict:
    planted_bursts = ring.creation == "bursts" and ring.burst_hours <= BURST_WINDOW_HOURS and ring.accounts / ring.creation_bursts >= 5
    pays = measured["cards"] > 0
    return {
        "bursty_creation": bool(planted_bursts or measured["peak_creation_share_72h"] >= BURSTY_SHARE),
        "pays": bool(pays),
        "shares_cards": bool(measured["accounts_per_card_max"] >= 2),
        "bulk_bins": bool(pays and ring.bin_source != "popular" and measured["cards_per_bin"] >= BULK_CARDS_PER_BIN),
        "proxies": ring.proxies,
        "shares_ips": bool(measured["ips_shared_by_members"] > 0),
        "lockstep_waves": bool(measured["wave_request_share"] >= WAVE_SHARE),
        "private_templates": bool(sum(ring.templates.values()) > 0),
        "shared_bank": ring.bank or None,
        "camouflage": ring.camouflage,
        "dressed_as_company": ring.dressed_as_company,
        "schedule": ring.schedule,
        "creation": ring.creation,
        "account_days": ring.account_days,
    }


def _bank_users(plan: AccountPlan, rows: dict[str, np.ndarray], tools) -> list[int]:
    """How many legitimate accounts send each bank's templates."""
    if tools is None:
        return [0] * len(plan.scenario.banks)
    legit_rows = plan.kind[rows["acct"]] != RING
    return [int(len(np.unique(rows["acct"][legit_rows & np.isin(rows["tpl"], pool)]))) for pool in tools.banks]
