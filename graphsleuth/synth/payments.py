"""The payments table: own cards, shared household and corporate cards, rings' cards from a few issuers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import hex_text, prefixed, scramble, zipf_weights
from .kinds import CAMPUS, CLASSROOM, COMPANY, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON, HEAVY, HOUSEHOLD, INDIVIDUAL, INTEGRATOR, SIGNUP_WAVE
from .plan import AccountPlan

__all__ = ["payments_table"]


def _bins(rng: np.random.Generator):
    """A pool of issuer BINs with heavy-tailed popularity; some are prepaid/virtual issuers."""
    n_bins = 3000
    bins = rng.choice(np.arange(400000, 560000), size=n_bins, replace=False)
    bins[::7] = rng.choice(np.arange(340000, 380000), size=len(bins[::7]), replace=False)
    popularity = zipf_weights(n_bins, 1.05)
    prepaid = np.arange(15, 300, 9)  # mid-popularity issuers that also serve legitimate users
    corporate = np.arange(5, 400, 11)
    return bins, popularity, prepaid, corporate


#: Issuers by popularity rank: those ordinary users use most, and rare ones (the long tail).
POPULAR_BINS = np.arange(0, 60)
RARE_BINS = np.arange(1200, 3000)


def _ring_bin_pool(ring, prepaid: np.ndarray) -> np.ndarray:
    if ring.bin_source == "popular":
        return POPULAR_BINS
    if ring.bin_source == "rare":
        return RARE_BINS
    return prepaid if ring.bins <= len(prepaid) else np.arange(15, 15 + 9 * ring.bins, 9)


def payments_table(plan: AccountPlan, rng: np.random.Generator, more: np.random.Generator | None = None) -> pa.Table:
    """Cards and wallets: own cards, one per household or company, and the rings' cards from a few BINs.

    A ring's BINs come from its ``bin_source``; a ring dressed as a company pays with one
    corporate card. ``more`` draws the look-alike groups' cards.
    """
    bins, popularity, prepaid, corporate = _bins(rng)
    n, kind, group = plan.n, plan.kind, plan.group
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
    own_p = np.select(
        [kind == INDIVIDUAL, kind == HEAVY, kind == INTEGRATOR, kind == CAMPUS, kind == HOUSEHOLD, kind == COMPANY],
        [0.8, 0.95, 0.97, 0.6, 0.2, 0.03],
        0.0,
    )
    own = np.flatnonzero(rng.random(n) < own_p)
    add(own, rng.choice(len(bins), size=len(own), p=popularity), new_cards(len(own)), kinds_for(len(own)))
    second = own[rng.random(len(own)) < 0.06]
    add(second, rng.choice(len(bins), size=len(second), p=popularity), new_cards(len(second)), kinds_for(len(second)))
    # Shared cards: one per household (most), one corporate card per company.
    for code, share, bin_pool in ((HOUSEHOLD, 0.85, None), (COMPANY, 1.0, corporate)):
        groups = np.flatnonzero((plan.group_kind == code) & (rng.random(len(plan.group_size)) < share))
        if len(groups) == 0:
            continue
        cards = new_cards(len(groups))
        card_of_group = np.full(len(plan.group_size), -1)
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
    for i, ring in enumerate(plan.scenario.rings):
        members = np.flatnonzero(plan.ring == i)
        pool = _ring_bin_pool(ring, prepaid)
        ring_bins = pool[rng.choice(len(pool), size=min(ring.bins, len(pool)), replace=False)]
        if ring.dressed_as_company:  # one corporate card for every seat, as a company has
            add(
                members,
                np.full(len(members), corporate[rng.integers(0, len(corporate))]),
                np.repeat(new_cards(1), len(members)),
                np.zeros(len(members), np.int64),
            )
            continue
        if ring.payment == "none":
            continue
        if ring.payment == "shared_cards":
            cards = new_cards(ring.cards)
            cbins = ring_bins[rng.integers(0, len(ring_bins), ring.cards)]
            pick = rng.choice(ring.cards, size=len(members), p=zipf_weights(ring.cards, 0.6))
            add(members, cbins[pick], cards[pick], np.full(len(members), 2))
            extra = members[rng.random(len(members)) < 0.2]
            pick2 = rng.integers(0, ring.cards, len(extra))
            add(extra, cbins[pick2], cards[pick2], np.full(len(extra), 2))
        else:
            cards = new_cards(len(members))
            add(
                members,
                ring_bins[rng.integers(0, len(ring_bins), len(members))],
                cards,
                rng.choice([0, 2], size=len(members), p=[0.4, 0.6]),
            )
    if more is not None:
        _lookalike_cards(plan, add, new_cards, popularity, corporate, len(bins), more)
    acct_a = np.concatenate(acct)
    card_a = np.concatenate(card_key)
    bin_a = np.concatenate(bin_idx)
    kind_a = np.concatenate(pkind)
    # A card that an account holds twice (own card drawn again) is listed once.
    _, keep = np.unique(acct_a.astype(np.int64) * (next_card[0] + 1) + card_a, return_index=True)
    acct_a, card_a, bin_a, kind_a = acct_a[keep], card_a[keep], bin_a[keep], kind_a[keep]
    order = np.lexsort((card_a, plan.id_number[acct_a]))
    acct_a, card_a, bin_a, kind_a = acct_a[order], card_a[order], bin_a[order], kind_a[order]
    kind_a = _invoiced(plan, acct_a, card_a, kind_a)
    return pa.table(
        {
            "account_id": plan.account_id.take(pa.array(acct_a)),
            "payment_id": prefixed("pm_", hex_text(scramble(card_a, plan.seed * 7 + 1), 16)),
            "kind": pa.array(np.array(PAYMENT_KINDS)[kind_a]),
            "bin": pa.array(bins[bin_a].astype(str), mask=kind_a == INVOICE, type=pa.string()),
        }
    )


#: The payments table's kinds, by code.
PAYMENT_KINDS = ("card", "wallet", "prepaid", "invoice")
INVOICE = 3


def _invoiced(plan: AccountPlan, acct: np.ndarray, card: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Kinds with the companies that pay by invoice (``legit.invoiced`` of companies and evaluation
    companies, drawn per company) billed on their shared account instead of a corporate card: a
    provider invoices the customers whose business it has checked, never a ring."""
    share = plan.scenario.legit.invoiced
    if share <= 0 or len(acct) == 0:
        return kind
    rng = np.random.default_rng([int(plan.seed) & 0xFFFFFFFF, 0x696E766F])
    invoiced_group = rng.random(len(plan.group_size)) < share
    seat = np.isin(plan.kind[acct], [COMPANY, EVAL_COMPANY]) & invoiced_group[plan.group[acct]]
    holders = np.bincount(card, minlength=int(card.max()) + 1)
    return np.where(seat & (holders[card] >= 2), INVOICE, kind)


def _lookalike_cards(plan: AccountPlan, add, new_cards, popularity: np.ndarray, corporate: np.ndarray, n_bins: int, rng) -> None:
    """Own cards for students, framework developers, hackathon participants and sign-ups (many stay on the
    free tier); one corporate card for each evaluation company."""
    kind, n = plan.kind, plan.n
    own_p = np.select(
        [kind == CLASSROOM, kind == FRAMEWORK_DEV, kind == HACKATHON, kind == SIGNUP_WAVE, kind == EVAL_COMPANY],
        [0.5, 0.97, 0.4, 0.5, 0.03],
        0.0,
    )
    own = np.flatnonzero(rng.random(n) < own_p)
    add(own, rng.choice(n_bins, size=len(own), p=popularity), new_cards(len(own)), rng.choice(3, size=len(own), p=[0.82, 0.13, 0.05]))
    companies = np.flatnonzero(plan.group_kind == EVAL_COMPANY)
    if len(companies):
        cards = new_cards(len(companies))
        gbins = corporate[rng.integers(0, len(corporate), len(companies))]
        seats = np.flatnonzero(kind == EVAL_COMPANY)
        slot = np.searchsorted(companies, plan.group[seats])
        add(seats, gbins[slot], cards[slot], np.zeros(len(seats), np.int64))
