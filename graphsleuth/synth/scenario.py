"""Scenario files: what population the generator builds and which rings it plants.

A scenario is a TOML file (the bundled ones are in ``graphsleuth/synth/scenarios/``). Every key is checked on
read: an unknown key, a wrong type or a value out of range raises a
:class:`~graphsleuth.errors.ScenarioError` naming the file and the key, so a
typo never silently falls back to a default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from ..errors import ScenarioError
from ..resources import package_file

__all__ = [
    "Scenario",
    "Population",
    "Legit",
    "RingPlan",
    "TemplateBank",
    "Logs",
    "load_scenario",
    "scenario_path",
    "LEGIT_KINDS",
    "LOOKALIKE_KINDS",
    "DISTILLATION_FAMILIES",
    "PAYMENTS",
    "BIN_SOURCES",
    "PROXIES",
    "CREATIONS",
    "SCHEDULES",
]

#: Legitimate groups real providers see that look like rings (hard negatives), off unless given a share.
LOOKALIKE_KINDS = ("classroom", "eval_company", "framework_dev", "hackathon", "signup_wave")
LEGIT_KINDS = ("individual", "household", "company", "campus", "heavy", "integrator", *LOOKALIKE_KINDS)
DISTILLATION_FAMILIES = ("cot", "tool_use", "coding", "grading")
PAYMENTS = ("shared_cards", "card_per_account", "none")
#: Where a ring's cards come from: mid-popularity issuers with prepaid lines (the default), the issuers
#: ordinary users use most, or rare issuers few legitimate users hold.
BIN_SOURCES = ("prepaid", "popular", "rare")
PROXIES = ("datacenter", "residential", "mixed", "none")
CREATIONS = ("bursts", "even")
#: When a ring's operator runs it: any hour, at night, in one batch window a day, or office hours.
SCHEDULES = ("round_the_clock", "night", "daily_batches", "office_hours")


@dataclass(frozen=True)
class Population:
    """Size and time frame of the whole population."""

    accounts: int = 4000
    start: str = "2026-02-02T00:00:00Z"
    days: int = 42
    history_days: int = 540
    growth: float = 2.5
    benign_templates: int = 1500
    template_zipf: float = 1.1
    #: Legitimate activity follows the hours and days of its kind (evenings and weekends for individuals,
    #: office hours for company seats, term time for campuses) in the account's time zone; off: uniform.
    diurnal: bool = False

    @property
    def start_s(self) -> int:
        """Start of the observed activity window, in seconds since the epoch."""
        return int(datetime.fromisoformat(self.start.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp())


@dataclass(frozen=True)
class Legit:
    """Shares of legitimate accounts by kind, and the shape of shared infrastructure."""

    individual: float = 0.70
    household: float = 0.08
    company: float = 0.10
    campus: float = 0.07
    heavy: float = 0.035
    integrator: float = 0.015
    vpn_share: float = 0.06
    cgnat_share: float = 0.15
    cloud_share: float = 0.03
    users_per_vpn_exit: int = 300
    users_per_cgnat_ip: int = 150
    users_per_cloud_ip: int = 80
    company_seats: tuple[int, int] = (20, 500)
    company_nat_ips: tuple[int, int] = (1, 4)
    company_internal_template: float = 0.5
    campus_size: tuple[int, int] = (200, 2000)
    campus_ips: tuple[int, int] = (2, 6)
    step_by_step_share: float = 0.3
    # Groups that look like rings (shares of legitimate accounts, like the kinds above; 0: none).
    classroom: float = 0.0
    eval_company: float = 0.0
    framework_dev: float = 0.0
    hackathon: float = 0.0
    signup_wave: float = 0.0
    classroom_size: tuple[int, int] = (100, 600)
    eval_company_seats: tuple[int, int] = (10, 120)
    hackathon_size: tuple[int, int] = (100, 500)
    signup_wave_size: tuple[int, int] = (1000, 5000)
    #: System-prompt templates of the popular agent framework that framework developers' apps send.
    framework_templates: int = 8
    #: The provider's public starter-kit prompts, sent by hackathons and by this share of individuals.
    starter_kit_templates: int = 6
    starter_kit_users: float = 0.0
    #: The share of companies (and evaluation companies) that pay by invoice on their billing account.
    invoiced: float = 0.0

    def shares(self) -> dict[str, float]:
        """Kind -> share of legitimate accounts, normalised to sum to 1."""
        raw = {k: getattr(self, k) for k in LEGIT_KINDS}
        total = sum(raw.values())
        return {k: v / total for k, v in raw.items()}


@dataclass(frozen=True)
class RingPlan:
    """One planted extraction ring ("hydra cluster")."""

    name: str
    accounts: int
    requests: int
    payment: str = "shared_cards"  # shared_cards | card_per_account | none
    cards: int = 10
    bins: int = 3
    proxies: str = "datacenter"  # datacenter | residential
    proxy_ips: int = 50
    ips_per_account: tuple[int, int] = (2, 6)
    templates: dict[str, int] = field(default_factory=lambda: {"cot": 4, "tool_use": 2, "coding": 2, "grading": 1})
    camouflage: float = 0.2
    creation_bursts: int = 3
    burst_hours: float = 36.0
    created_before_days: tuple[int, int] = (0, 120)
    sync_days: tuple[int, ...] = (3, 17, 30)
    sync_share: float = 0.6
    devices: int = 0  # 0: one device fingerprint per account; else a pool this size
    phones: int = 0  # 0: one phone per account; else a pool this size
    countries: int = 3
    bank: str = ""  # a template bank (see TemplateBank) the ring draws from besides its own templates
    bank_templates: int = 0  # how many of the bank's templates it uses; 0: all of them
    phrasings: int = 1  # raw prompts: distinct wordings of each distillation task (1: one, lightly varied)
    creation: str = "bursts"  # bursts (creation_bursts of burst_hours) | even (spread over creation_days)
    creation_days: float = 120.0  # even: accounts created evenly over this many days
    bin_source: str = "prepaid"  # prepaid | popular | rare
    proxy_overlap: float = 0.7  # residential: share of the proxy pool that are real homes' IPs
    waves: int = 0  # 0: waves on sync_days; else this many waves over the window, one template each
    wave_hours: float = 1.2  # how tight a wave is: the spread (standard deviation) of its times, in hours
    schedule: str = "round_the_clock"  # round_the_clock | night | daily_batches | office_hours
    dressed_as_company: bool = False  # one company-looking domain and one corporate card for all members
    account_days: float = 0.0  # 0: every account works the whole window; else each works this many days, taking turns


@dataclass(frozen=True)
class TemplateBank:
    """A bank of distillation templates that several operators' tooling shares (a public toolkit).

    Rings that name the bank draw from it; a share of legitimate power users (heavy
    users) send some of its templates too.
    """

    name: str
    templates: dict[str, int] = field(default_factory=lambda: {"cot": 4, "tool_use": 3, "coding": 3, "grading": 2})
    power_users: float = 0.0  # share of heavy users who send some of the bank's templates
    power_user_requests: float = 0.25  # share of those users' requests on the bank's templates


@dataclass(frozen=True)
class Logs:
    """How ``generate --logs`` spreads each prompt row's requests over time (:mod:`.logs`).

    ``sample`` keeps that share of every account's requests (at least one per
    prompt row, so no account or template is lost) when the full traffic would
    not fit the disk; ``legit_sample`` further samples the legitimate accounts'
    requests only, so that a campaign keeps its reported size among a large
    population's thinned traffic. Legitimate requests spread over up to
    ``spread_days`` days after their row's time, at the hours people work and
    live in their country; a ring's requests come in bursts of about
    ``burst_minutes`` after their row's time, so its waves stay waves.
    """

    sample: float = 1.0
    legit_sample: float = 1.0
    spread_days: float = 3.0
    burst_minutes: float = 20.0


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: population, legitimate mix, template banks, planted rings, and how its request logs are spread."""

    name: str
    description: str
    population: Population
    legit: Legit
    rings: tuple[RingPlan, ...]
    source: str = ""
    banks: tuple[TemplateBank, ...] = ()
    #: The seed a sampled scenario was drawn with (see :mod:`.sampler`); None for a written one.
    sample_seed: int | None = None
    logs: Logs = Logs()

    @property
    def ring_accounts(self) -> int:
        return sum(r.accounts for r in self.rings)

    @property
    def uses_campaigns(self) -> bool:
        """Whether the scenario has template banks: then truth.csv says each ring's campaign."""
        return bool(self.banks)

    def bank(self, name: str) -> TemplateBank | None:
        return next((b for b in self.banks if b.name == name), None)

    def campaign_of(self, ring: RingPlan) -> str:
        """A ring's campaign: the bank its templates come from, or the ring itself when they are its own."""
        return ring.bank or ring.name

    def scaled(self, accounts: int | None) -> Scenario:
        """The same scenario with ``accounts`` accounts in all; rings shrink or grow in proportion."""
        if accounts is None or accounts == self.population.accounts:
            return self
        if accounts < 50:
            raise ScenarioError(self.source, "accounts", f"--accounts must be at least 50, got {accounts}")
        factor = accounts / self.population.accounts
        rings = []
        for r in self.rings:
            size = max(12, int(round(r.accounts * factor)))
            scale = size / r.accounts
            rings.append(
                _replace(
                    r,
                    accounts=size,
                    requests=max(size, int(round(r.requests * scale))),
                    cards=max(1, min(size, int(round(r.cards * scale**0.5)))),
                    proxy_ips=max(2, int(round(r.proxy_ips * scale**0.7))),
                    devices=0 if r.devices == 0 else max(1, int(round(r.devices * scale**0.7))),
                    phones=0 if r.phones == 0 else max(1, int(round(r.phones * scale**0.7))),
                )
            )
        if sum(r.accounts for r in rings) > 0.5 * accounts:
            raise ScenarioError(self.source, "accounts", f"{accounts} accounts leave too little room for legitimate ones beside the rings")
        population = _replace(self.population, accounts=accounts)
        return _replace(self, population=population, rings=tuple(rings))


def _replace(obj, **changes):
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def scenario_path(name_or_path: str | Path) -> Path:
    """Resolve a scenario given as a path, or as the name of a bundled one (``demo``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if path.suffix == "" and path.parent == Path("."):
        bundled = package_file("graphsleuth.synth", "scenarios", f"{path.name}.toml")
        if bundled is not None:
            return bundled
    raise ScenarioError(str(path), None, "no such scenario file (give a path, or a bundled name such as demo or hydra-2026)")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and check a scenario file; raise ScenarioError naming file and key on any problem."""
    path = scenario_path(name_or_path)
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
    document = dict(document)
    name = _take(document, "name", str, source, default=path.stem)
    description = _take(document, "description", str, source, default="")
    population = _section(document, "population", Population, source)
    if population.accounts < 50:
        raise ScenarioError(source, "population.accounts", f"expected at least 50 accounts, got {population.accounts}")
    legit = _section(document, "legit", Legit, source)
    logs = _section(document, "logs", Logs, source)
    if sum(getattr(legit, k) for k in LEGIT_KINDS) <= 0:
        raise ScenarioError(source, "legit", "the shares of the legitimate kinds add up to 0")
    bank_docs = document.pop("banks", [])
    if not isinstance(bank_docs, list):
        raise ScenarioError(source, "banks", "must be an array of tables ([[banks]])")
    banks = tuple(_bank(doc, i, source) for i, doc in enumerate(bank_docs))
    ring_docs = document.pop("rings", [])
    if not isinstance(ring_docs, list):
        raise ScenarioError(source, "rings", "must be an array of tables ([[rings]])")
    rings = tuple(_ring(doc, i, source) for i, doc in enumerate(ring_docs))
    sample_seed = _take(document, "sample_seed", int, source)
    if document:
        raise ScenarioError(source, sorted(document)[0], "unknown key")
    names = [r.name for r in rings]
    if len(set(names)) != len(names):
        raise ScenarioError(source, "rings.name", "ring names must be unique")
    _check_banks(banks, rings, source)
    scenario = Scenario(name, description, population, legit, rings, source, banks, sample_seed, logs)
    if scenario.ring_accounts > 0.5 * population.accounts:
        raise ScenarioError(source, "population.accounts", "rings take more than half of all accounts")
    return scenario


def _check_banks(banks: tuple[TemplateBank, ...], rings: tuple[RingPlan, ...], source: str) -> None:
    """Bank names are unique and no ring's name; every ring's bank exists and has the templates it asks for."""
    bank_names = [b.name for b in banks]
    ring_names = {r.name for r in rings}
    for i, name in enumerate(bank_names):
        if name in bank_names[:i]:
            raise ScenarioError(source, "banks.name", "bank names must be unique")
        if name in ring_names:
            raise ScenarioError(source, f"banks[{i}].name", f"{name!r} is also a ring's name: campaigns are named after both")
    sizes = {b.name: sum(b.templates.values()) for b in banks}
    for i, ring in enumerate(rings):
        if ring.bank and ring.bank not in sizes:
            known = ", ".join(sorted(sizes)) or "none"
            raise ScenarioError(source, f"rings[{i}].bank", f"no bank named {ring.bank!r} (banks: {known})")
        if ring.bank and ring.bank_templates > sizes[ring.bank]:
            raise ScenarioError(
                source, f"rings[{i}].bank_templates", f"bank {ring.bank!r} has {sizes[ring.bank]} templates, not {ring.bank_templates}"
            )
        if ring.bank_templates and not ring.bank:
            raise ScenarioError(source, f"rings[{i}].bank_templates", "set only with bank")


def _take(document: dict, key: str, kind, source: str, default=None, where: str = ""):
    full = f"{where}{key}"
    if key not in document:
        return default
    value = document.pop(key)
    if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ScenarioError(source, full, f"expected {expected}, got {value!r}")
    return value


_LIMITS: dict[str, tuple[float, float]] = {
    "accounts": (12, 50_000_000),
    "days": (1, 366),
    "history_days": (1, 3650),
    "growth": (0.0, 20.0),
    "benign_templates": (10, 1_000_000),
    "template_zipf": (0.0, 5.0),
    "requests": (1, 10_000_000_000),
    "cards": (1, 10_000_000),
    "bins": (1, 1000),
    "proxy_ips": (1, 10_000_000),
    "creation_bursts": (1, 1000),
    "burst_hours": (0.1, 24 * 365),
    "users_per_vpn_exit": (1, 10_000_000),
    "users_per_cgnat_ip": (1, 10_000_000),
    "users_per_cloud_ip": (1, 10_000_000),
    "devices": (0, 10_000_000),
    "phones": (0, 10_000_000),
    "countries": (1, 20),  # the generator knows 20 countries
    "bank_templates": (0, 1000),
    "phrasings": (1, 50),
    "creation_days": (0.02, 3650),  # from half an hour to ten years
    "account_days": (0.0, 3650),
    "waves": (0, 1000),
    "wave_hours": (0.05, 48),
    "framework_templates": (1, 200),
    "starter_kit_templates": (1, 200),
    "sample": (1e-6, 1.0),
    "legit_sample": (1e-6, 1.0),
    "spread_days": (0.0, 60.0),
    "burst_minutes": (1.0, 24 * 60.0),
}
_CHOICES = {
    "payment": PAYMENTS,
    "proxies": PROXIES,
    "bin_source": BIN_SOURCES,
    "creation": CREATIONS,
    "schedule": SCHEDULES,
}
#: Keys whose value is a share between 0 and 1 besides those named ``*share`` and the kinds' shares.
_SHARES = (
    "camouflage",
    "company_internal_template",
    "proxy_overlap",
    "power_users",
    "power_user_requests",
    "starter_kit_users",
    "invoiced",
)
#: [low, high] pairs of group sizes, which need at least one member.
_SIZE_PAIRS = (
    "company_seats",
    "campus_size",
    "company_nat_ips",
    "campus_ips",
    "classroom_size",
    "eval_company_seats",
    "hackathon_size",
    "signup_wave_size",
)


def _check_value(key: str, value, default, source: str, where: str):
    """Check one value against the type of its default and the known limits."""
    full = f"{where}{key}"
    if default is None:
        raise ScenarioError(source, full, "cannot be set")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ScenarioError(source, full, f"expected true or false, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(source, full, f"expected a whole number, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ScenarioError(source, full, f"expected a number, got {value!r}")
        value = float(value)
        if key.endswith("share") or key in _SHARES or key in LEGIT_KINDS:
            if not 0.0 <= value <= 1.0:
                raise ScenarioError(source, full, f"expected a share between 0 and 1, got {value}")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ScenarioError(source, full, f"expected text, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ScenarioError(source, full, f"expected one of {', '.join(_CHOICES[key])}, got {value!r}")
        if key == "start":
            try:
                year = datetime.fromisoformat(value.replace("Z", "+00:00")).year
            except ValueError:
                raise ScenarioError(source, full, f"expected an ISO-8601 time, got {value!r}") from None
            if not 1980 <= year <= 2200:  # history and window must stay within the times evidence can hold
                raise ScenarioError(source, full, f"expected a start between the years 1980 and 2200, got {value!r}")
    elif isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ScenarioError(source, full, f"expected a list of whole numbers, got {value!r}")
        if len(default) == 2 and key != "sync_days":
            if len(value) != 2 or value[0] > value[1] or value[0] < 0:
                raise ScenarioError(source, full, f"expected [low, high] with 0 <= low <= high, got {value!r}")
            if key in _SIZE_PAIRS and value[0] < 1:
                raise ScenarioError(source, full, f"expected [low, high] with 1 <= low <= high, got {value!r}")
        value = tuple(value)
    elif isinstance(default, dict):
        if not isinstance(value, dict):
            raise ScenarioError(source, full, "expected a table such as {cot = 4, coding = 2}")
        for family, count in value.items():
            if family not in DISTILLATION_FAMILIES:
                raise ScenarioError(source, f"{full}.{family}", f"unknown template family (known: {', '.join(DISTILLATION_FAMILIES)})")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000:
                raise ScenarioError(source, f"{full}.{family}", f"expected a whole number from 0 to 1000, got {count!r}")
    if key in _LIMITS and isinstance(value, (int, float)):
        low, high = _LIMITS[key]
        if not low <= value <= high:
            raise ScenarioError(source, full, f"expected a value from {low:g} to {high:g}, got {value}")
    return value


def _section(document: dict, key: str, cls, source: str):
    raw = document.pop(key, {})
    if not isinstance(raw, dict):
        raise ScenarioError(source, key, "expected a table")
    defaults = cls()
    values = {}
    known = {f.name for f in fields(cls)}
    for name, value in raw.items():
        if name not in known:
            raise ScenarioError(source, f"{key}.{name}", "unknown key")
        values[name] = _check_value(name, value, getattr(defaults, name), source, f"{key}.")
    return _replace(defaults, **values)


def _ring(doc: Any, index: int, source: str) -> RingPlan:
    where = f"rings[{index}]."
    if not isinstance(doc, dict):
        raise ScenarioError(source, f"rings[{index}]", "expected a table")
    doc = dict(doc)
    for required in ("name", "accounts", "requests"):
        if required not in doc:
            raise ScenarioError(source, f"{where}{required}", "missing required key")
    name = doc.pop("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(source, f"{where}name", f"expected a non-empty name, got {name!r}")
    template = RingPlan(name=name, accounts=12, requests=12)
    values = {}
    known = {f.name for f in fields(RingPlan)} - {"name"}
    for key, value in doc.items():
        if key not in known:
            raise ScenarioError(source, f"{where}{key}", "unknown key")
        values[key] = _check_value(key, value, getattr(template, key), source, where)
    if values["accounts"] < 12:
        raise ScenarioError(source, f"{where}accounts", "a planted ring needs at least 12 accounts")
    ring = _replace(template, **values)
    if ring.requests < ring.accounts:
        raise ScenarioError(source, f"{where}requests", "expected at least one request per account")
    if sum(ring.templates.values()) == 0 and not ring.bank:
        raise ScenarioError(source, f"{where}templates", "a ring needs at least one distillation template (its own, or a bank's)")
    return ring


def _bank(doc: Any, index: int, source: str) -> TemplateBank:
    where = f"banks[{index}]."
    if not isinstance(doc, dict):
        raise ScenarioError(source, f"banks[{index}]", "expected a table")
    doc = dict(doc)
    name = doc.pop("name", None)
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            source, f"{where}name", f"expected a non-empty name, got {name!r}" if name is not None else "missing required key"
        )
    template = TemplateBank(name=name)
    values = {}
    known = {f.name for f in fields(TemplateBank)} - {"name"}
    for key, value in doc.items():
        if key not in known:
            raise ScenarioError(source, f"{where}{key}", "unknown key")
        values[key] = _check_value(key, value, getattr(template, key), source, where)
    bank = _replace(template, **values)
    if sum(bank.templates.values()) == 0:
        raise ScenarioError(source, f"{where}templates", "a bank needs at least one distillation template")
    return bank
