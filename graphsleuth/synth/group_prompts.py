"""What the legitimate look-alikes and power users send, and when.

* framework developers' apps send the agent framework's system prompts (each app one to three
  of them, the popular ones most), most of their requests;
* hackathon participants send the starter kit's prompts during the event, and ordinary users
  who tried the starter kit send some too;
* legitimate power users who picked up a public distillation toolkit send some of a bank's
  templates;
* a classroom's students send their assignment prompt in the class's two hours each week;
* an evaluation company's benchmark runners send their suite in nightly bursts.

The first three change the template (and for the hackathon the time) of rows the prompts
table already has; the last two add rows of their own (:class:`ExtraRows`). All draws come from
one stream that nothing else uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import DAY, HOUR, zipf_weights
from .groups import HACKATHON_HOURS
from .kinds import CLASSROOM, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON, HEAVY, INDIVIDUAL
from .timing import Clock, local_monday

__all__ = ["ExtraRows", "group_rows", "CLASS_HOURS", "NIGHT_RUN_HOUR"]

#: A class's weekly session lasts this many hours.
CLASS_HOURS = 2
#: Evaluation companies start their nightly benchmark runs at this local hour, for two hours.
NIGHT_RUN_HOUR = 1


@dataclass
class ExtraRows:
    """Prompt rows added by the look-alike groups: account, template, time and request count of each."""

    acct: np.ndarray
    tpl: np.ndarray
    ts: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> ExtraRows:
        return cls(*(np.zeros(0, np.int64) for _ in range(4)))


def group_rows(plan, tools, acct: np.ndarray, tpl: np.ndarray, ts: np.ndarray, fixed: np.ndarray, clock: Clock | None, rng) -> ExtraRows:
    """Set the look-alikes' and power users' templates on the existing rows (in place; ``fixed``
    marks rows whose time is now set), and return the rows classes and evaluators add."""
    if tools is None:
        return ExtraRows.empty()
    kind = plan.kind[acct]
    if len(tools.framework):
        _favourites(plan, tools.framework, acct, tpl, np.flatnonzero(kind == FRAMEWORK_DEV), 0.6, rng)
    if len(tools.starter_kit):
        _hackathon(plan, tools.starter_kit, acct, tpl, ts, fixed, rng)
        tried = rng.random(plan.n) < plan.scenario.legit.starter_kit_users
        rows = np.flatnonzero((kind == INDIVIDUAL) & tried[acct] & (rng.random(len(acct)) < 0.3))
        tpl[rows] = tools.starter_kit[rng.choice(len(tools.starter_kit), size=len(rows), p=zipf_weights(len(tools.starter_kit), 1.0))]
    for bank, pool in zip(plan.scenario.banks, tools.banks):
        users = (plan.kind == HEAVY) & (rng.random(plan.n) < bank.power_users)
        rows = np.flatnonzero(users[acct] & (rng.random(len(acct)) < bank.power_user_requests))
        _favourites(plan, pool, acct, tpl, rows, 1.0, rng)
    parts = [_classes(plan, tools, clock, rng), _night_runs(plan, tools, clock, rng)]
    parts = [p for p in parts if p is not None]
    if not parts:
        return ExtraRows.empty()
    return ExtraRows(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("acct", "tpl", "ts", "count")))


def _favourites(plan, pool: np.ndarray, acct, tpl, rows: np.ndarray, share: float, rng) -> None:
    """Each account uses one to three templates of ``pool`` (the popular ones more often) on ``share`` of its ``rows``."""
    first = rng.choice(len(pool), size=plan.n, p=zipf_weights(len(pool), 1.0))
    span = rng.integers(1, 4, plan.n)
    rows = rows[rng.random(len(rows)) < share] if share < 1 else rows
    a = acct[rows]
    tpl[rows] = pool[(first[a] + rng.integers(0, span[a])) % len(pool)]


def _hackathon(plan, kit: np.ndarray, acct, tpl, ts, fixed, rng) -> None:
    """Participants send starter-kit prompts during the event: two rows in three, from sign-up to the end."""
    rows = np.flatnonzero((plan.kind[acct] == HACKATHON) & (rng.random(len(acct)) < 0.65))
    a = acct[rows]
    event_end = np.minimum(plan.group_event[plan.group[a]] + HACKATHON_HOURS * HOUR, plan.end - 1)
    lo = plan.active_from[a]
    during = event_end > lo
    rows, a, lo, event_end = rows[during], a[during], lo[during], event_end[during]
    ts[rows] = lo + (rng.random(len(rows)) * (event_end - lo)).astype(np.int64)
    tpl[rows] = kit[rng.choice(len(kit), size=len(rows), p=zipf_weights(len(kit), 0.8))]
    fixed[rows] = True


def _classes(plan, tools, clock: Clock | None, rng) -> ExtraRows | None:
    """Each class meets at one weekday and hour (its local time); four students in five send the
    assignment prompt in those two hours each week, from when they signed up."""
    classes = np.flatnonzero(plan.group_kind == CLASSROOM)
    if len(classes) == 0 or clock is None:
        return None
    out = []
    for g in classes:  # one class at a time: a population holds a few dozen at most
        students = plan.group_first[g] + np.arange(plan.group_size[g])
        offset = int(clock.account_offset[students[0]])
        weekday, hour = int(rng.integers(0, 5)), int(rng.integers(9, 19))
        monday = int(local_monday(max(int(plan.group_event[g]), plan.start), offset))
        weeks = monday + 7 * np.arange((plan.end - plan.start) // (7 * DAY) + 2)
        slot = (weeks + weekday) * DAY + hour * HOUR - offset
        slot = slot[(slot >= plan.start) & (slot < plan.end - CLASS_HOURS * HOUR)]
        s = np.repeat(students, len(slot))
        t = np.tile(slot, len(students)) + (rng.random(len(s)) * CLASS_HOURS * HOUR).astype(np.int64)
        keep = (rng.random(len(s)) < 0.8) & (t >= plan.active_from[s])
        s, t = s[keep], t[keep]
        out.append(ExtraRows(s, np.full(len(s), tools.assignment[g]), t, 1 + rng.poisson(5, len(s))))
    return _joined(out)


def _night_runs(plan, tools, clock: Clock | None, rng) -> ExtraRows | None:
    """An evaluation company's runners (a quarter of its seats) send its benchmark suite from 01:00 to
    03:00 local time on most nights, a few templates each, many requests per template."""
    companies = np.flatnonzero(plan.group_kind == EVAL_COMPANY)
    if len(companies) == 0 or clock is None:
        return None
    out = []
    for g in companies:
        seats = plan.group_first[g] + np.arange(plan.group_size[g])
        runners = seats[rng.random(len(seats)) < 0.25]
        runners = runners if len(runners) else seats[:1]
        offset = int(clock.account_offset[seats[0]])
        first_night = (plan.start + offset) // DAY
        nights = first_night + np.arange((plan.end - plan.start) // DAY + 1)
        night = nights * DAY + NIGHT_RUN_HOUR * HOUR - offset
        night = night[(night >= plan.start) & (night < plan.end - 2 * HOUR) & (rng.random(len(nights)) < 0.85)]
        r = np.repeat(runners, len(night))
        t0 = np.tile(night, len(runners))
        per = 1 + rng.poisson(1.5, len(r))
        r, t0 = np.repeat(r, per), np.repeat(t0, per)
        keep = t0 >= plan.active_from[r]
        r, t0 = r[keep], t0[keep]
        t = t0 + (rng.random(len(r)) * 2 * HOUR).astype(np.int64)
        suite = tools.suite_first[g] + rng.integers(0, tools.suite_count[g], len(r))
        out.append(ExtraRows(r, suite, t, np.maximum(1, np.round(rng.lognormal(np.log(30), 0.7, len(r)))).astype(np.int64)))
    return _joined(out)


def _joined(parts: list[ExtraRows]) -> ExtraRows:
    return ExtraRows(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("acct", "tpl", "ts", "count")))
