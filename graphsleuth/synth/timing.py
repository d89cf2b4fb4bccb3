"""When requests are sent: time zones, the hours and days of each kind of account, and operators' schedules.

Legitimate activity follows people's days (with the scenario's ``diurnal``): individuals and
households in the evenings and at weekends, company seats in office hours on weekdays in their
country's time zone, students in term time, apps round the clock with a daytime bump. A ring
follows its operator's schedule: round the clock, at night, in one batch window a day, or in
office hours, in the operator's time zone; and its waves (:func:`ring_waves`) put the same
template in the same hours across the ring.

A row keeps its day's week: :func:`reshape` draws a new day of that week and a new hour from a
:class:`Profile`, and keeps the old time where the new one would fall outside the account's
active span. Everything is vectorised over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import DAY, HOUR, pick
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
    SIGNUP_WAVE,
)

__all__ = [
    "Profile",
    "PROFILES",
    "KIND_PROFILE",
    "UTC_OFFSETS",
    "account_offsets",
    "operator_offsets",
    "schedule_profile",
    "reshape",
    "working_hours_before",
    "term_time",
    "ring_waves",
    "day_of_week",
    "local_monday",
    "Clock",
    "needs_clock",
    "clock_times",
]

#: Standard UTC offsets (hours) of the generator's countries, in the order of plan.COUNTRIES.
UTC_OFFSETS = np.array([-5, 5.5, 0, 1, -3, 1, 9, -5, 9, 1, 1, 1, 1, 10, 1, 3, 7, -6, 8, 8], dtype=float)
#: The four zones of the United States, and their shares of its people.
US_ZONES = np.array([-5.0, -6.0, -7.0, -8.0])
US_ZONE_WEIGHTS = np.array([0.47, 0.29, 0.07, 0.17])


@dataclass(frozen=True)
class Profile:
    """Weights of the days of the week (Monday first) and of the 24 local hours on weekdays and at weekends."""

    days: np.ndarray
    weekday: np.ndarray
    weekend: np.ndarray


def _profile(days, weekday, weekend=None) -> Profile:
    weekday = np.asarray(weekday, dtype=float)
    return Profile(np.asarray(days, dtype=float), weekday, weekday if weekend is None else np.asarray(weekend, dtype=float))


_EVENING = [0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.5, 0.6, 0.6, 0.65, 0.7, 0.8, 0.7, 0.65, 0.65, 0.7, 0.9, 1.3, 1.6, 1.8, 1.8, 1.4, 0.8]
_WEEKEND = [0.5, 0.35, 0.2, 0.1, 0.08, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.4, 1.4, 1.3, 1.0, 0.7]
_OFFICE = [0.02] * 7 + [0.15, 0.5, 1.0, 1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 1.0, 0.9, 0.4, 0.15, 0.1, 0.05, 0.02, 0.02]
_STUDENT = [0.5, 0.3] + [0.1] * 6 + [0.5] + [1.2] * 9 + [1.3] * 6
_DAYTIME = [0.25] * 7 + [1.0] * 16 + [0.5]
_APPS = [0.6] * 8 + [1.0] * 14 + [0.8, 0.7]
_NIGHT = [1.0] * 6 + [0.3] + [0.03] * 16 + [0.5]

#: Profiles by name: what each kind of account, and each operator's schedule, looks like over a week.
PROFILES = {
    "evenings_and_weekends": _profile([1, 1, 1, 1, 1.05, 1.35, 1.35], _EVENING, _WEEKEND),
    "office_hours": _profile([1, 1, 1, 1, 1, 0.06, 0.06], _OFFICE),
    "term_time": _profile([1, 1, 1, 1, 0.9, 0.6, 0.8], _STUDENT, np.array(_STUDENT) * 0.8),
    "daytime": _profile([1, 1, 1, 1, 1, 0.9, 0.9], _DAYTIME),
    "apps": _profile([1] * 7, _APPS),
    "night": _profile([1] * 7, _NIGHT),
}
#: The profile of each legitimate kind (rings follow their schedule instead).
KIND_PROFILE = {
    INDIVIDUAL: "evenings_and_weekends",
    HOUSEHOLD: "evenings_and_weekends",
    SIGNUP_WAVE: "evenings_and_weekends",
    HACKATHON: "evenings_and_weekends",
    COMPANY: "office_hours",
    EVAL_COMPANY: "office_hours",
    CAMPUS: "term_time",
    CLASSROOM: "term_time",
    HEAVY: "daytime",
    INTEGRATOR: "apps",
    FRAMEWORK_DEV: "apps",
}


#: Draws of a legitimate row's time of day before it keeps its uniform time (see :func:`reshape`).
DIURNAL_TRIES = 8


def account_offsets(country: np.ndarray, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each account's UTC offset in seconds: its country's, and for the United States its group's zone."""
    hours = UTC_OFFSETS[country].copy()
    zone = pick(rng, US_ZONES, int(group.max()) + 1 if len(group) else 0, US_ZONE_WEIGHTS)
    us = country == 0
    hours[us] = zone[group[us]]
    return (hours * HOUR).astype(np.int64)


def operator_offsets(n_rings: int, rng: np.random.Generator, country_weights: np.ndarray) -> np.ndarray:
    """One time zone per ring's operator (seconds), wherever operators are."""
    country = rng.choice(len(UTC_OFFSETS), size=n_rings, p=country_weights / country_weights.sum())
    return (UTC_OFFSETS[country] * HOUR).astype(np.int64)


def schedule_profile(schedule: str, batch_hour: int) -> Profile | None:
    """The profile of an operator's schedule; None for round the clock (times stay uniform)."""
    if schedule == "round_the_clock":
        return None
    if schedule == "daily_batches":  # one three-hour batch window a day
        hours = np.full(24, 0.01)
        hours[(batch_hour + np.arange(3)) % 24] = 1.0
        return _profile([1] * 7, hours)
    return PROFILES["night" if schedule == "night" else "office_hours"]


def day_of_week(day: np.ndarray) -> np.ndarray:
    """Monday 0 .. Sunday 6 of a day number since 1970-01-01 (a Thursday)."""
    return (day + 3) % 7


def local_monday(ts: np.ndarray | int, offset: np.ndarray | int) -> np.ndarray:
    """Day number of the local Monday of the week holding ``ts``."""
    day = (np.asarray(ts) + offset) // DAY
    return day - day_of_week(day)


def _draw(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(weights) - 1)


def reshape(
    ts: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray | int,
    offset: np.ndarray,
    profile: Profile,
    rng: np.random.Generator,
    tries: int = 1,
) -> np.ndarray:
    """New times for ``ts``: a day of the same local week and an hour drawn from ``profile``.

    ``lo`` (per row) and ``hi`` bound the new times; a row whose new time falls outside is drawn
    again, up to ``tries`` times in all, on the first such day of the week after ``lo``, then keeps
    its old one. (An account created on a Thursday has only part of its first week to work in:
    with one try, many of its rows would keep their uniform times, and a new company seat would
    work nights and weekends.)
    """
    out = np.asarray(ts, dtype=np.int64).copy()
    pending = np.arange(len(out))
    lo = np.broadcast_to(lo, out.shape)
    hi = np.broadcast_to(hi, out.shape)
    offset = np.broadcast_to(offset, out.shape)
    for attempt in range(max(1, tries)):
        m = len(pending)
        if m == 0:
            break
        day = (out[pending] + offset[pending]) // DAY
        new_dow = _draw(profile.days, rng.random(m))
        if attempt == 0:  # a day of the row's own local week
            new_day = day - day_of_week(day) + new_dow
        else:  # that day of the week next after the row's lower bound
            first = (lo[pending] + offset[pending]) // DAY
            new_day = first + (new_dow - day_of_week(first)) % 7
        u = rng.random(m)
        hour = np.where(new_dow >= 5, _draw(profile.weekend, u), _draw(profile.weekday, u))
        new = new_day * DAY + hour * HOUR + (rng.random(m) * HOUR).astype(np.int64) - offset[pending]
        inside = (new >= lo[pending]) & (new < hi[pending])
        out[pending[inside]] = new[inside]
        pending = pending[~inside]
    return out


def working_hours_before(ts: np.ndarray, offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each time moved back to a weekday between 09:00 and 17:00 local (``offset`` seconds east of UTC),
    at or before it: when a company's administrator creates its seats."""
    local = np.asarray(ts, dtype=np.int64) + offset
    day = local // DAY
    second = local - day * DAY
    same_day = (day_of_week(day) < 5) & (second >= 9 * HOUR)
    day = np.where(same_day, day, day - 1)
    for _ in range(2):  # Sunday or Saturday back to Friday
        day = np.where(day_of_week(day) >= 5, day - 1, day)
    latest = np.where(same_day, np.minimum(second, 17 * HOUR), 17 * HOUR)
    second = 9 * HOUR + (rng.random(len(local)) * (latest - 9 * HOUR)).astype(np.int64)
    return day * DAY + second - offset


def _in_break(day: np.ndarray) -> np.ndarray:
    """Whether a day falls in the academic breaks: 20 December to 6 January, the last week of March, mid-June to August."""
    dates = day.astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mday = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    winter = ((month == 12) & (mday >= 20)) | ((month == 1) & (mday <= 6))
    spring = (month == 3) & (mday >= 25)
    summer = ((month == 6) & (mday >= 15)) | (month == 7) | (month == 8)
    return winter | spring | summer


def term_time(ts: np.ndarray, lo: np.ndarray, hi: int, offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move seven in ten of the requests that fall in an academic break to the nearest term week."""
    day = (ts + offset) // DAY
    pending = _in_break(day) & (rng.random(len(ts)) < 0.7)
    out = ts.copy()
    for weeks in (-1, 1, -2, 2, -3, 3, -5, 5, -8, 8, -11, 11):
        if not pending.any():
            break
        moved = out + weeks * 7 * DAY
        ok = pending & ~_in_break((moved + offset) // DAY) & (moved >= lo) & (moved < hi)
        out[ok] = moved[ok]
        pending &= ~ok
    return out


def ring_waves(
    n_waves: int,
    first: int,
    end: int,
    operator_offset: int,
    templates: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """An operator's waves over [first, end): each a time and one of the ring's templates, sorted by time.

    Waves start at the operator's working hours (a favourite hour, give or take two), on any day.
    """
    span_days = max(1, (end - first) // DAY)
    day = (first + operator_offset) // DAY + rng.integers(0, span_days, n_waves)
    favourite = int(rng.integers(0, 24))
    hour = (favourite + rng.integers(-2, 3, n_waves)) % 24
    t = day * DAY + hour * HOUR + rng.integers(0, HOUR, n_waves) - operator_offset
    t = np.clip(t, first, end - HOUR)
    order = np.argsort(t, kind="stable")
    return t[order].astype(np.int64), templates[rng.integers(0, len(templates), n_waves)][order]


@dataclass(frozen=True)
class Clock:
    """The time zones of a population: each account's, and each ring operator's with its batch hour."""

    account_offset: np.ndarray
    operator_offset: np.ndarray
    batch_hour: np.ndarray

    @classmethod
    def for_plan(cls, plan, country_weights: np.ndarray, rng: np.random.Generator) -> Clock:
        offsets = account_offsets(plan.country, plan.group, rng)
        operators = operator_offsets(len(plan.scenario.rings), rng, country_weights)
        for i, ring in enumerate(plan.scenario.rings):
            if ring.dressed_as_company:  # a company works in its own country's hours
                members = plan.ring == i
                operators[i] = int(np.bincount(offsets[members] // 60 + 24 * 60).argmax() - 24 * 60) * 60
        return cls(offsets, operators, rng.integers(0, 24, len(plan.scenario.rings)))


def needs_clock(plan) -> bool:
    """Whether anything in the population has a time of day: diurnal legitimate activity, classes,
    evaluators' nightly runs, or rings with waves or a schedule."""
    scenario = plan.scenario
    return (
        scenario.population.diurnal
        or bool(np.isin(plan.kind, [CLASSROOM, EVAL_COMPANY]).any())
        or any(r.waves > 0 or r.schedule != "round_the_clock" for r in scenario.rings)
    )


def clock_times(plan, clock: Clock, acct: np.ndarray, ts: np.ndarray, fixed: np.ndarray, rng: np.random.Generator) -> None:
    """Give rows not ``fixed`` (waves, release days, classes, nightly runs) their hours, in place:
    legitimate rows the profile of their kind (with ``diurnal``), ring rows their operator's schedule."""
    kind = plan.kind[acct]
    if plan.scenario.population.diurnal:
        for code, name in KIND_PROFILE.items():
            rows = np.flatnonzero((kind == code) & ~fixed)
            if len(rows) == 0:
                continue
            a = acct[rows]
            off = clock.account_offset[a]
            ts[rows] = reshape(ts[rows], plan.active_from[a], plan.end, off, PROFILES[name], rng, tries=DIURNAL_TRIES)
            if name == "term_time":
                ts[rows] = term_time(ts[rows], plan.active_from[a], plan.end, off, rng)
    for i, ring in enumerate(plan.scenario.rings):
        profile = schedule_profile(ring.schedule, int(clock.batch_hour[i]))
        if profile is None:
            continue
        rows = np.flatnonzero((plan.ring[acct] == i) & ~fixed)
        a = acct[rows]
        ts[rows] = reshape(ts[rows], plan.active_from[a], plan.active_to[a], np.full(len(rows), clock.operator_offset[i]), profile, rng)
