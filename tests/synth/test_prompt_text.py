"""Raw prompt text for the generator: distinct templates, filled slots, light paraphrase."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from graphsleuth.detection.templates import normalise_prompts, prompt_tokens
from graphsleuth.synth.prompt_text import FAMILIES, render_prompts, slot_pattern, template_texts

DISTILLATION = ("cot", "tool_use", "coding", "grading")


def _jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two normal forms (template words only)."""
    x, y = set(prompt_tokens(a)), set(prompt_tokens(b))
    return len(x & y) / len(x | y)


def _normal(texts) -> list[str]:
    """Normal forms of many prompts at once."""
    return list(normalise_prompts(pd.Series(list(texts), dtype=object)))


def _as_normal_templates(texts) -> list[str]:
    """Canonical templates with each slot written as its placeholder, normalised."""
    placeholder = {
        "num": "<num>",
        "name": "<name>",
        "quote": "<str>",
        "product": "<name>",
        "code": "<code>",
        "url": "<url>",
        "date": "<date>",
        "math": "<math>",
    }
    return _normal(slot_pattern().sub(lambda m: " " + placeholder[m.group(1)] + " ", t) for t in texts)


@pytest.fixture(scope="module")
def population():
    """A small population: 300 benign templates and 10 of each other family."""
    families = ["benign"] * 300 + [f for f in FAMILIES[1:] for _ in range(10)]
    texts = template_texts(families, seed=5)
    index = np.random.default_rng(0).integers(0, len(texts), 6000)
    return families, texts, index, render_prompts(index, texts, seed=5)


def test_one_distinct_template_per_entry():
    families = ["benign"] * 2500 + [f for f in DISTILLATION for _ in range(50)] + ["integrator", "internal"] * 20
    texts = template_texts(families, seed=3)
    assert len(texts) == len(families)
    assert len(set(texts)) == len(texts)
    assert all(isinstance(t, str) and t.strip() == t and t for t in texts)


def test_templates_are_deterministic_and_seeded():
    families = ["benign"] * 50 + ["cot"] * 5
    assert template_texts(families, 1) == template_texts(families, 1)
    assert template_texts(families, 1) != template_texts(families, 2)


def test_asking_for_more_templates_keeps_the_earlier_ones():
    few = template_texts(["cot"] * 3 + ["benign"] * 4, 9)
    more = template_texts(["cot"] * 8 + ["benign"] * 20, 9)
    assert few[:3] == more[:3]
    assert few[3:] == more[8:12]


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown template famil"):
        template_texts(["benign", "phishing"], 0)


def test_families_have_their_own_style():
    texts = dict(zip(FAMILIES, template_texts(list(FAMILIES), 0)))
    assert re.search(r"reason|step|thought|deriv", texts["cot"], re.I)
    assert re.search(r"tool|function|call|agent", texts["tool_use"], re.I)
    assert re.search(r"code|function|query|script|implement|tests", texts["coding"], re.I)
    assert re.search(r"grade|score|rate|judge|evaluat|rank|assess|review|audit|label", texts["grading"], re.I)


def test_distillation_templates_are_far_apart():
    """Distinct distillation templates must not look like paraphrases of each other."""
    families = [f for f in DISTILLATION for _ in range(40)]
    normal = _as_normal_templates(template_texts(families, 11))
    worst = max(_jaccard(normal[i], normal[j]) for i in range(len(normal)) for j in range(i + 1, len(normal)))
    assert worst < 0.5


def test_every_slot_is_filled(population):
    _, _, index, prompts = population
    assert prompts.dtype == object and len(prompts) == len(index)
    assert not any(slot_pattern().search(p) for p in prompts)
    joined = "\n".join(prompts)
    for evidence in (r"https?://|www\.", r"```|def |SELECT |function ", r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}", r"\"[^\"]+\"", r"\b\d+\b"):
        assert re.search(evidence, joined), evidence


def test_render_is_deterministic(population):
    _, texts, index, prompts = population
    again = render_prompts(index, texts, seed=5)
    assert list(again) == list(prompts)
    other = render_prompts(index, texts, seed=6)
    assert list(other) != list(prompts)


def test_render_does_not_depend_on_other_rows_templates():
    """Rows rendered alone or among others use the same slot pools (same seed)."""
    texts = template_texts(["cot"] * 3, 0)
    out = render_prompts(np.array([0, 1, 2, 1, 0]), texts, 0)
    assert len(out) == 5 and all(isinstance(p, str) and p for p in out)


def test_paraphrases_stay_recognisable(population):
    """A rendered prompt keeps most words of its canonical template."""
    _, texts, index, prompts = population
    normal_templates = _as_normal_templates(texts)
    sims = np.array([_jaccard(p, normal_templates[t]) for p, t in zip(_normal(prompts[:2000]), index[:2000])])
    assert np.mean(sims >= 0.5) >= 0.95
    assert np.median(sims) >= 0.7


def test_paraphrase_actually_varies_the_text(population):
    _, _, index, prompts = population
    rows = prompts[index == index[0]]
    assert len(set(rows)) > 1
    stripped = {
        re.sub(
            r"^(Please|Hi,|Hello!|Hey,|Quick one:)\s*|\s*(Thanks!|Thank you\.|Thanks in advance\.|Cheers!"
            r"|Much appreciated\.)$",
            "",
            r,
        )
        for r in prompts
    }
    assert len(stripped) < len(set(prompts))


def test_render_handles_edge_inputs():
    texts = template_texts(["benign"], 0)
    assert render_prompts(np.array([], dtype=np.int64), texts, 0).shape == (0,)
    with pytest.raises(IndexError):
        render_prompts(np.array([0, 1]), texts, 0)
    custom = render_prompts(np.array([0, 0]), ["Plain text without slots.", "x"], 1)
    assert all("Plain text" in p or "plain text" in p for p in custom)
