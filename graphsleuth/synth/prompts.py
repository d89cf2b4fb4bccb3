"""The prompts table: who sent which template when, and how often.

Everybody draws from a Zipf-popular catalogue of ordinary templates; heavy
users ask for step-by-step reasoning too; integrators and companies with an
internal tool send their own; rings send their distillation templates with
some camouflage, part of it in synchronised waves. In raw mode the rows carry
prompt text written from each template (:mod:`.prompt_text`) instead of its id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .arrays import DAY, HOUR, hex_text, iso_times, prefixed, scramble, zipf_weights
from .group_prompts import group_rows
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
from .plan import COUNTRY_WEIGHTS, AccountPlan, Streams
from .scenario import DISTILLATION_FAMILIES
from .timing import Clock, clock_times, needs_clock, ring_waves
from .tooling import Tooling, extend_catalogue, phrased_rows

__all__ = ["TemplateCatalogue", "PromptRows", "template_catalogue", "prompts_table"]

# Prompt rows (distinct template x time aggregates) per account: base + Poisson(mean).
ROWS = {
    INDIVIDUAL: (1, 2.5),
    HOUSEHOLD: (1, 2.5),
    COMPANY: (1, 3.0),
    CAMPUS: (1, 2.5),
    HEAVY: (4, 8.0),
    INTEGRATOR: (10, 20.0),
    RING: (5, 9.0),
    CLASSROOM: (1, 2.0),
    EVAL_COMPANY: (1, 3.0),
    FRAMEWORK_DEV: (3, 6.0),
    HACKATHON: (2, 3.0),
    SIGNUP_WAVE: (1, 2.5),
}


@dataclass
class TemplateCatalogue:
    """Every template of a population by number: its family, its id, and who sends it."""

    benign_p: np.ndarray = None
    benign_cot: np.ndarray = None
    integ_first: np.ndarray = None
    integ_count: np.ndarray = None
    integ_index: np.ndarray = None
    internal_first: np.ndarray = None
    internal_count: np.ndarray = None
    ring_templates: list = field(default_factory=list)
    families: list = field(default_factory=list)
    template_ids: pa.Array = None
    tools: Tooling | None = None


@dataclass
class PromptRows:
    """The prompts table, the true template of each row in raw mode, and the requests it counts.

    ``rows`` keeps the table's rows as arrays (account number, template number, time, count, and
    whether the row was part of a ring's wave or a ring's distillation), for the rings' truth.
    """

    table: pa.Table
    truth: pa.Table | None
    requests: int
    rows: dict[str, np.ndarray] = field(default_factory=dict)


def template_catalogue(plan: AccountPlan, rng: np.random.Generator, tooling: np.random.Generator | None = None) -> TemplateCatalogue:
    """Template ids and families: benign (Zipf-popular), integrators', companies' and rings', then
    the shared tools' (:mod:`.tooling`, drawn from ``tooling``)."""
    catalogue = TemplateCatalogue()
    pop = plan.scenario.population
    families: list[str] = []
    n_benign = pop.benign_templates
    benign_family = np.where(rng.random(n_benign) < 0.03, "cot", "benign")
    families.extend(benign_family.tolist())
    catalogue.benign_p = zipf_weights(n_benign, pop.template_zipf)
    catalogue.benign_cot = np.flatnonzero(benign_family == "cot")
    # Integrators: 1-4 templates of their own.
    integ_groups = np.flatnonzero(plan.group_kind == INTEGRATOR)
    n_own = rng.integers(1, 5, len(integ_groups))
    catalogue.integ_first = len(families) + np.concatenate([[0], np.cumsum(n_own)[:-1]]).astype(np.int64)
    catalogue.integ_count = n_own
    catalogue.integ_index = np.full(len(plan.group_size), -1)
    catalogue.integ_index[integ_groups] = np.arange(len(integ_groups))
    families.extend(["integrator"] * int(n_own.sum()))
    # Companies with an internal tool: one or two templates each.
    comp = np.flatnonzero((plan.group_kind == COMPANY) & (rng.random(len(plan.group_size)) < plan.scenario.legit.company_internal_template))
    n_int = rng.integers(1, 3, len(comp))
    catalogue.internal_first = np.full(len(plan.group_size), -1)
    catalogue.internal_count = np.zeros(len(plan.group_size), dtype=np.int64)
    catalogue.internal_first[comp] = len(families) + np.concatenate([[0], np.cumsum(n_int)[:-1]]).astype(np.int64)
    catalogue.internal_count[comp] = n_int
    families.extend(["internal"] * int(n_int.sum()))
    # Rings: their own small set of distillation templates.
    catalogue.ring_templates = []
    for ring in plan.scenario.rings:
        own = [f for f in DISTILLATION_FAMILIES for _ in range(ring.templates.get(f, 0))]
        first = len(families)
        families.extend(own)
        catalogue.ring_templates.append(np.arange(first, first + len(own)))
    catalogue.families = families
    catalogue.template_ids = prefixed("t", hex_text(scramble(np.arange(len(families)), plan.seed * 11 + 5), 10))
    if tooling is not None:
        catalogue.tools = extend_catalogue(catalogue, plan, tooling)
    return catalogue


def prompts_table(
    plan: AccountPlan, catalogue: TemplateCatalogue, rng: np.random.Generator, raw: bool = False, streams: Streams | None = None
) -> PromptRows:
    """The prompt rows of every account (raw: with prompt text written from each row's template).

    ``streams`` gives the later knobs (banks, waves, schedules, look-alikes, times of day) their
    own random streams; without them they are spawned from the plan's seed.
    """
    streams = streams or Streams.from_seed(plan.seed)
    clock = Clock.for_plan(plan, COUNTRY_WEIGHTS, streams.clock) if needs_clock(plan) else None
    tools = catalogue.tools
    volume = plan.volume
    n, kind = plan.n, plan.kind
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
    tpl = rng.choice(len(catalogue.benign_p), size=rows, p=catalogue.benign_p)
    # ...heavy users and some integrators ask for step-by-step reasoning too...
    cot_users = (rng.random(n) < plan.scenario.legit.step_by_step_share) & np.isin(kind, [HEAVY, INTEGRATOR, INDIVIDUAL])
    use_cot = cot_users[acct] & (rng.random(rows) < 0.3) & (len(catalogue.benign_cot) > 0)
    if len(catalogue.benign_cot):
        tpl[use_cot] = catalogue.benign_cot[rng.integers(0, len(catalogue.benign_cot), use_cot.sum())]
    # ...integrators mostly send their own templates...
    g = plan.group[acct]
    integ = (k == INTEGRATOR) & (rng.random(rows) < 0.85)
    ii = catalogue.integ_index[g[integ]]
    tpl[integ] = catalogue.integ_first[ii] + rng.integers(0, catalogue.integ_count[ii])
    # ...seats of companies with an internal tool use it often...
    has_tool = catalogue.internal_count[g] > 0
    tool_user = has_tool & (rng.random(n) < 0.6)[acct] & (rng.random(rows) < 0.4)
    gi = g[tool_user]
    tpl[tool_user] = catalogue.internal_first[gi] + rng.integers(0, catalogue.internal_count[gi])
    # ...and ring accounts send their distillation templates, with some camouflage.
    ts = plan.active_from[acct] + (rng.random(rows) * (plan.active_to[acct] - plan.active_from[acct])).astype(np.int64)
    release = (k != RING) & (rng.random(rows) < 0.06)
    first_sync = plan.scenario.rings[0].sync_days[0] if plan.scenario.rings and plan.scenario.rings[0].sync_days else 3
    release_t = plan.start + first_sync * DAY + rng.integers(0, DAY, release.sum())
    ts[release] = np.maximum(release_t, plan.active_from[acct[release]])
    wave = np.zeros(rows, dtype=bool)
    distilling = np.zeros(rows, dtype=bool)
    for i, ring in enumerate(plan.scenario.rings):
        sel = np.flatnonzero(plan.ring[acct] == i)
        own = catalogue.ring_templates[i]
        if tools is not None and len(tools.ring_bank[i]):
            own = np.concatenate([own, tools.ring_bank[i]])
        distil = rng.random(len(sel)) >= ring.camouflage
        chosen = rng.choice(len(own), size=int(distil.sum()), p=zipf_weights(len(own), 0.5))
        tpl[sel[distil]] = own[chosen]
        distilling[sel[distil]] = True
        if ring.waves:
            _waves(plan, i, sel[distil], own, acct, tpl, ts, wave, clock, streams.prompt_more)
        elif ring.sync_days:
            sync = rng.random(len(sel)) < ring.sync_share
            day = np.array(ring.sync_days)[rng.integers(0, len(ring.sync_days), sync.sum())]
            hour = rng.uniform(0, 20)  # the ring's operator starts its jobs at one time of day
            t_sync = plan.start + day * DAY + int(hour * HOUR) + rng.normal(0, 1.2 * HOUR, sync.sum()).astype(np.int64)
            ts[sel[sync]] = np.clip(t_sync, plan.active_from[acct[sel[sync]]], plan.active_to[acct[sel[sync]]] - 1)
            wave[sel[sync]] = True
    fixed = release | wave
    extra = group_rows(plan, tools, acct, tpl, ts, fixed, clock, streams.prompt_more)
    if clock is not None:
        clock_times(plan, clock, acct, ts, fixed, streams.clock)
    share = rng.exponential(1.0, rows)
    per_acct = np.bincount(acct, weights=share, minlength=n)
    count = np.maximum(1, np.round(volume[acct] * share / per_acct[acct])).astype(np.int64)
    if len(extra.acct):
        no = np.zeros(len(extra.acct), dtype=bool)
        acct, tpl, ts, count = (
            np.concatenate([a, b]) for a, b in ((acct, extra.acct), (tpl, extra.tpl), (ts, extra.ts), (count, extra.count))
        )
        wave, distilling = np.concatenate([wave, no]), np.concatenate([distilling, no])
        rows = len(acct)
    order = np.lexsort((ts, plan.id_number[acct]))
    acct, tpl, ts, count = acct[order], tpl[order], ts[order], count[order]
    wave, distilling = wave[order], distilling[order]
    columns = {"account_id": plan.account_id.take(pa.array(acct))}
    truth_prompts = None
    if raw:
        from .prompt_text import phrasing_texts, render_prompts, template_texts

        texts = template_texts(catalogue.families, plan.seed)
        text, of_template, phrasing = phrased_rows(plan, acct, tpl, distilling, len(texts), streams.tooling)
        if len(of_template):
            texts = texts + phrasing_texts(catalogue.families, of_template, phrasing, plan.seed)
        columns["prompt"] = pa.array(render_prompts(text, texts, plan.seed), type=pa.string())
        truth_prompts = pa.table({"row": pa.array(np.arange(1, rows + 1)), "template_id": catalogue.template_ids.take(pa.array(tpl))})
    else:
        columns["template_id"] = catalogue.template_ids.take(pa.array(tpl))
    columns["ts"] = iso_times(ts)
    columns["count"] = pa.array(count)
    arrays = {"acct": acct, "tpl": tpl, "ts": ts, "count": count, "wave": wave, "distilling": distilling}
    return PromptRows(pa.table(columns), truth_prompts, int(count.sum()), arrays)


def _waves(plan: AccountPlan, i: int, rows: np.ndarray, templates: np.ndarray, acct, tpl, ts, wave, clock, rng) -> None:
    """A ring's operator sends its waves: each one template at one time, give or take ``wave_hours``.

    Of the ring's distillation rows, enough go to waves that they make ``sync_share`` of all its
    rows (or all its distillation rows, when camouflage leaves fewer); a row goes to a wave after
    its account was created.
    """
    ring = plan.scenario.rings[i]
    p = min(1.0, ring.sync_share / max(1e-9, 1.0 - ring.camouflage))
    rows = rows[rng.random(len(rows)) < p]
    offset = int(clock.operator_offset[i]) if clock is not None else 0
    wave_t, wave_tpl = ring_waves(ring.waves, plan.start, plan.end, offset, templates, rng)
    active, until = plan.active_from[acct[rows]], plan.active_to[acct[rows]]
    first = np.searchsorted(wave_t, active)
    last = np.searchsorted(wave_t, until)
    ok = first < last
    rows, first, last, active, until = rows[ok], first[ok], last[ok], active[ok], until[ok]
    k = first + (rng.random(len(rows)) * (last - first)).astype(np.int64)
    tpl[rows] = wave_tpl[k]
    jitter = rng.normal(0, ring.wave_hours * HOUR, len(rows)).astype(np.int64)
    ts[rows] = np.clip(wave_t[k] + jitter, active, until - 1)
    wave[rows] = True
