"""The accounts table: names drawn from Faker's pools, e-mail domains that fit each kind of account."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from .arrays import iso_times, pick
from .kinds import CAMPUS, CLASSROOM, COMPANY, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON, HEAVY, INDIVIDUAL, INTEGRATOR, RING
from .plan import COUNTRIES, AccountPlan

__all__ = ["accounts_table", "FREE_MAIL", "NAME_LOCALES"]

FREE_MAIL = np.array(
    [
        "gmail.com",
        "outlook.com",
        "yahoo.com",
        "hotmail.com",
        "icloud.com",
        "proton.me",
        "gmx.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "aol.com",
        "web.de",
        "naver.com",
    ]
)
FREE_MAIL_WEIGHTS = np.array([40, 12, 8, 7, 7, 3, 3, 3, 2, 5, 3, 1, 2, 2], dtype=float)
ISP_MAIL = np.array(["comcast.net", "t-online.de", "orange.fr", "btinternet.com", "verizon.net", "libero.it", "free.fr", "shaw.ca"])
NAME_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE", "tr_TR", "en_IN"]


def _name_pools(seed: int):
    fake = Faker(NAME_LOCALES)
    _sort_set_built_words(fake)
    fake.seed_instance(seed)
    firsts = sorted({_ascii(fake.first_name()) for _ in range(2500)} - {""})
    lasts = sorted({_ascii(fake.last_name()) for _ in range(2500)} - {""})
    companies = [_ascii(fake.company()) for _ in range(400)]
    cities = sorted({_ascii(fake.city()) for _ in range(300)} - {""})
    return np.array(firsts), np.array(lasts), companies, cities


def accounts_table(plan: AccountPlan, rng: np.random.Generator, more: np.random.Generator | None = None) -> pa.Table:
    """The accounts table: id, creation time, an e-mail address that fits the account's kind, country.

    ``more`` draws for what later knobs add (look-alike groups' domains); rings dressed as a
    company take their group's company-looking domain, as a company's seats do.
    """
    firsts, lasts, company_names, cities = _name_pools(plan.seed)
    n = plan.n
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
    digit_p = np.where(plan.kind == RING, 0.7, 0.45)
    has_digits = rng.random(n) < digit_p
    digits = np.where(rng.random(n) < 0.5, rng.integers(10, 100, n), rng.integers(1960, 2008, n))
    suffix = pc.if_else(pa.array(has_digits), pa.array(digits).cast(pa.string()), "")
    local = pc.binary_join_element_wise(local, suffix, "")

    domain = pick(rng, FREE_MAIL, n, FREE_MAIL_WEIGHTS).astype(object)
    kind = plan.kind
    isp = (kind == INDIVIDUAL) & (rng.random(n) < 0.12)
    domain[isp] = pick(rng, ISP_MAIL, isp.sum())
    personal = np.isin(kind, [INDIVIDUAL, HEAVY]) & (rng.random(n) < 0.06)
    domain[personal] = _personal_domains(lasts, rng, personal.sum())
    company_domains = _org_domains(company_names, rng, len(plan.group_size))
    org = (kind == COMPANY) | ((kind == INTEGRATOR) & (rng.random(n) < 0.6))
    domain[org] = company_domains[plan.group[org]]
    campus_domains = np.array([f"{c}.edu" if i % 3 else f"uni-{c}.ac" for i, c in enumerate(_slug_list(cities))], dtype=object)
    ca = kind == CAMPUS
    domain[ca] = campus_domains[plan.group[ca] % len(campus_domains)]
    for i, _ring in enumerate(plan.scenario.rings):
        members = np.flatnonzero(plan.ring == i)
        throwaway = members[rng.random(len(members)) < 0.08]
        pool = np.array([f"mail{int(x)}.{tld}" for x, tld in zip(rng.integers(100, 999, 3), ("net", "xyz", "top"))], dtype=object)
        domain[throwaway] = pool[rng.integers(0, 3, len(throwaway))]
        if _ring.dressed_as_company:
            domain[members] = company_domains[plan.group[members]]
    if more is not None:
        _lookalike_domains(plan, domain, company_domains, campus_domains, lasts, more)
    email = pc.binary_join_element_wise(pc.utf8_lower(local), pa.array(domain, type=pa.string()), "@")
    o = plan.order
    return pa.table(
        {
            "account_id": plan.account_id.take(pa.array(o)),
            "created_at": iso_times(plan.created[o]),
            "email": email.take(pa.array(o)),
            "country": pa.array(COUNTRIES[plan.country[o]]),
        }
    )


def _lookalike_domains(plan: AccountPlan, domain: np.ndarray, company_domains, campus_domains, lasts, rng: np.random.Generator) -> None:
    """A class's students on their university's domain, an evaluation company's seats on its own, some
    framework developers on their start-up's or their own, some hackathon participants on a university's."""
    kind, group, n = plan.kind, plan.group, plan.n
    if not np.isin(kind, [CLASSROOM, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON]).any():
        return
    cl = kind == CLASSROOM
    domain[cl] = campus_domains[(group[cl] * 7 + 3) % len(campus_domains)]
    ev = kind == EVAL_COMPANY
    domain[ev] = company_domains[group[ev]]
    draw = rng.random(n)
    startup = (kind == FRAMEWORK_DEV) & (draw < 0.3)
    domain[startup] = company_domains[group[startup]]
    own = (kind == FRAMEWORK_DEV) & (draw >= 0.3) & (draw < 0.45)
    domain[own] = _personal_domains(lasts, rng, int(own.sum()))
    students = (kind == HACKATHON) & (rng.random(n) < 0.3)
    domain[students] = campus_domains[rng.integers(0, len(campus_domains), int(students.sum()))]


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
