"""Legitimate groups that real providers see and that look like rings: their sizes and when they sign up.

Each is a hard negative for detection; none may be flagged:

* a **classroom**: hundreds of students of one course, signed up in its first days, who send the
  same assignment prompt (asking for step-by-step worked solutions) in the same two hours each
  week, from the campus network;
* an **AI evaluation company**: seats on a company domain and one corporate card behind a few
  NAT IPs, whose benchmark runners send grading and chain-of-thought suites in nightly bursts;
* **framework developers**: thousands of unrelated developers whose apps send a popular agent
  framework's system-prompt templates, and nothing else in common;
* a **hackathon**: a few hundred accounts created within hours on one venue's IPs, sending the
  provider's public starter-kit prompts (which many ordinary users send too);
* a **marketing sign-up wave**: a benign burst of thousands of ordinary individuals.

This module lays the groups out and dates them; each table's module gives them their evidence
(:mod:`.accounts`, :mod:`.payments`, :mod:`.ips`) and :mod:`.group_prompts` their requests.
Everything here draws from the plan's ``groups_more`` stream, so that populations without
look-alikes are drawn as before.
"""

from __future__ import annotations

import numpy as np

from .arrays import DAY, HOUR, split_sizes
from .kinds import CLASSROOM, EVAL_COMPANY, HACKATHON, SIGNUP_WAVE
from .scenario import Legit, Scenario

__all__ = ["lookalike_group_sizes", "lookalike_creation", "HACKATHON_HOURS", "CREATED_WITHIN_HOURS"]

#: How long a hackathon runs, from its start.
HACKATHON_HOURS = 36
#: A hackathon's accounts are all created within this many hours of its start.
CREATED_WITHIN_HOURS = 6


def lookalike_group_sizes(legit: Legit, legit_total: int, shares: dict[str, float], rng: np.random.Generator) -> list[np.ndarray]:
    """Group sizes of each look-alike kind (classroom, evaluation company, framework developer,
    hackathon, sign-up wave), in that order; framework developers are groups of one."""

    def sized(kind: str, low_high: tuple[int, int]) -> np.ndarray:
        total = int(round(legit_total * shares[kind]))
        return split_sizes(rng, total, *low_high) if total else np.zeros(0, np.int64)

    framework = int(round(legit_total * shares["framework_dev"]))
    return [
        sized("classroom", legit.classroom_size),
        sized("eval_company", legit.eval_company_seats),
        np.ones(framework, np.int64),
        sized("hackathon", legit.hackathon_size),
        sized("signup_wave", legit.signup_wave_size),
    ]


def lookalike_creation(
    scenario: Scenario,
    start: int,
    end: int,
    group_base: np.ndarray,
    group: np.ndarray,
    kind: np.ndarray,
    created: np.ndarray,
    rng: np.random.Generator,
    group_event: np.ndarray,
) -> None:
    """Creation times of the look-alikes' accounts (in place), and each group's event time.

    Framework developers sign up like anybody (their times are left alone); an evaluation
    company's seats over months, as a company's do; a class's students in the first days of
    its course; a hackathon's within hours of its start; a sign-up wave's within a day or three.
    """
    days = scenario.population.days
    present = [code for code in (CLASSROOM, EVAL_COMPANY, HACKATHON, SIGNUP_WAVE) if (kind == code).any()]
    if not present:
        return
    n_groups = len(group_event)
    first = np.full(n_groups, -1, np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]  # each group's first account
    group_code = np.full(n_groups, -1, np.int64)
    group_code[group] = kind
    for code in present:
        groups = np.flatnonzero(group_code == code)
        members = np.flatnonzero(kind == code)
        slot = np.searchsorted(groups, group[members])
        m = len(members)
        if code == CLASSROOM:
            # The course started in the last few months or in the window's first week, on a Monday.
            event = start + rng.uniform(-100, 7, len(groups)) * DAY
            event = event - (event // DAY + 3) % 7 * DAY  # back to that week's Monday (1970-01-01 was a Thursday)
            group_event[groups] = (event // DAY * DAY).astype(np.int64)
            created[members] = group_event[groups][slot] + np.abs(rng.normal(0, 4 * DAY, m))
        elif code == EVAL_COMPANY:
            created[members] = group_base[members] + rng.exponential(90 * DAY, m)
            group_event[groups] = group_base[first[groups]].astype(np.int64)
        elif code == HACKATHON:
            # Most hackathons fall inside the window, where their requests are seen.
            inside = rng.random(len(groups)) < 0.8
            event = np.where(
                inside,
                start + rng.uniform(0, max(days - 2, 0.5), len(groups)) * DAY,
                start - rng.uniform(1, 200, len(groups)) * DAY,
            )
            group_event[groups] = event.astype(np.int64)
            created[members] = group_event[groups][slot] + rng.uniform(0, CREATED_WITHIN_HOURS * HOUR, m)
        else:  # SIGNUP_WAVE: a marketing campaign in the last year or during the window
            event = start + rng.uniform(-365, max(days - 2, 0.5), len(groups)) * DAY
            hours = rng.uniform(12, 72, len(groups))
            group_event[groups] = event.astype(np.int64)
            created[members] = group_event[groups][slot] + rng.random(m) * hours[slot] * HOUR
        if code != EVAL_COMPANY:  # seats due after the window are spread up to its end, as a company's are
            created[members] = np.minimum(created[members], end - 2 * HOUR)
