"""The tools behind the templates: shared distillation banks, an agent framework, a starter kit, classes' and evaluators' prompts.

The catalogue of :mod:`.prompts` gives every ring its own distillation templates. This
module adds, after them (so the earlier templates keep their ids):

* the scenario's **template banks**: distillation templates that public toolkits make common,
  drawn from by several rings (each its own subset, in its own order of preference) and by a
  share of legitimate power users;
* the popular **agent framework**'s system-prompt templates that framework developers' apps send;
* the provider's public **starter kit**, sent at hackathons and by many ordinary users;
* one **assignment** prompt per classroom, and one **benchmark suite** (grading and
  chain-of-thought templates) per evaluation company.

In raw mode a ring's tool may write each distillation task in several **phrasings**
(:func:`phrased_rows`): distinct wordings of the same task, each then varied lightly as
every prompt is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arrays import hex_text, prefixed, scramble
from .kinds import CLASSROOM, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON
from .plan import AccountPlan

__all__ = ["Tooling", "extend_catalogue", "phrased_rows"]


@dataclass
class Tooling:
    """Template numbers of the shared tools, and which group or ring uses which."""

    banks: list[np.ndarray] = field(default_factory=list)
    #: Per ring: the bank templates it uses, in its order of preference (empty without a bank).
    ring_bank: list[np.ndarray] = field(default_factory=list)
    framework: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    starter_kit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: Per group: a classroom's assignment template (-1 for other groups).
    assignment: np.ndarray | None = None
    #: Per group: the first template of an evaluation company's suite, and how many it has.
    suite_first: np.ndarray | None = None
    suite_count: np.ndarray | None = None


def _append(families: list[str], new: list[str]) -> np.ndarray:
    first = len(families)
    families.extend(new)
    return np.arange(first, first + len(new), dtype=np.int64)


def _bank_families(templates: dict[str, int]) -> list[str]:
    return [f for f, count in templates.items() for _ in range(count)]


def extend_catalogue(catalogue, plan: AccountPlan, rng: np.random.Generator) -> Tooling:
    """Add the shared tools' templates to ``catalogue`` (its families and ids), and say who uses them."""
    scenario = plan.scenario
    families: list[str] = catalogue.families
    before = len(families)
    tools = Tooling()
    tools.banks = [_append(families, _bank_families(bank.templates)) for bank in scenario.banks]
    for ring in scenario.rings:
        bank = scenario.bank(ring.bank) if ring.bank else None
        if bank is None:
            tools.ring_bank.append(np.zeros(0, np.int64))
            continue
        pool = tools.banks[scenario.banks.index(bank)]
        k = ring.bank_templates or len(pool)
        tools.ring_bank.append(pool[rng.permutation(len(pool))[:k]])
    kind = plan.kind
    if (kind == FRAMEWORK_DEV).any():
        tools.framework = _append(families, ["agent_framework"] * scenario.legit.framework_templates)
    if (kind == HACKATHON).any() or scenario.legit.starter_kit_users > 0:
        tools.starter_kit = _append(families, ["starter_kit"] * scenario.legit.starter_kit_templates)
    n_groups = len(plan.group_size)
    tools.assignment = np.full(n_groups, -1, np.int64)
    classes = np.flatnonzero(plan.group_kind == CLASSROOM)
    tools.assignment[classes] = _append(families, ["assignment"] * len(classes))
    tools.suite_first = np.full(n_groups, -1, np.int64)
    tools.suite_count = np.zeros(n_groups, np.int64)
    evaluators = np.flatnonzero(plan.group_kind == EVAL_COMPANY)
    for g in evaluators:  # a handful of companies at most
        size = int(rng.integers(4, 17))
        suite = np.where(rng.random(size) < 0.6, "grading", "cot").tolist()
        tools.suite_first[g] = len(families)
        tools.suite_count[g] = size
        _append(families, suite)
    if len(families) > before:
        catalogue.template_ids = prefixed("t", hex_text(scramble(np.arange(len(families)), plan.seed * 11 + 5), 10))
    return tools


def phrased_rows(
    plan: AccountPlan, acct: np.ndarray, tpl: np.ndarray, distilling: np.ndarray, n_templates: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which phrasing of its task each row's text takes: 0 (the template's own wording) unless a
    ring with several phrasings sent it.

    Returns the text number of every row (the template's number, or a new one past the
    catalogue's ``n_templates`` for a phrasing) and, for each new text, its template and phrasing.
    """
    phrasing = np.zeros(len(tpl), np.int64)
    for i, ring in enumerate(plan.scenario.rings):
        if ring.phrasings <= 1:
            continue
        rows = np.flatnonzero((plan.ring[acct] == i) & distilling)
        phrasing[rows] = rng.integers(0, ring.phrasings, len(rows))
    text = tpl.astype(np.int64).copy()
    phrased = np.flatnonzero(phrasing > 0)
    if len(phrased) == 0:
        return text, np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs, inverse = np.unique(tpl[phrased] * 64 + phrasing[phrased], return_inverse=True)
    text[phrased] = n_templates + inverse
    return text, pairs // 64, pairs % 64
