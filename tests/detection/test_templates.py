"""Deriving prompt templates from raw prompt text."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphsleuth.detection.templates import (
    derive_templates,
    normalise_prompt,
    normalise_prompts,
    prompt_tokens,
    template_agreement,
)
from graphsleuth.synth.prompt_text import render_prompts, template_texts

DISTILLATION = ("cot", "tool_use", "coding", "grading")

# Text made of the pieces the normaliser reacts to, so properties are tested
# where the rules actually fire, plus arbitrary unicode.
_PIECES = list("aZ1 .,:;\"'`\n\t{}()=+-*/<>@#$%_^?!“”«»") + [
    "Maria",
    "Lopez",
    "http://",
    "www.",
    "```",
    " SELECT ",
    "def ",
    "if ",
    "March ",
    "2024-01-02",
    " = ",
    "\u00a0",
    "\u200b",
    "İ",
    "ǅ",
    "𝐀",
    "Ⅷ",
    "²",
    "東京",
    "<num>",
    "Explain ",
]
_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
)
_PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
_FEW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


# --- normalising -----------------------------------------------------------


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("Write   a short EMAIL to Maria Lopez!", "write a short email to <name>"),
        ("Summarise https://example.com/a?b=1. Thanks", "summarise <url> thanks"),
        ("Mail me at jo.doe+x@mail.example.org today", "mail me at <email> today"),
        ("Is it on March 3, 2025 or 2025-03-04 or 03/05/2025?", "is it on <date> or <date> or <date>"),
        ('Translate this: "Guten Morgen, Herr Müller." please', "translate this <str> please"),
        ("Solve for x: 3x + 5 = 20.", "solve for x <math>"),
        ("Give me 3 ideas for 1,200 dollars or 4.5%", "give me <num> ideas for <num> dollars or <num>"),
        ("Fix this:\n```python\ndef f(a):\n    return a\n```\nThanks", "fix this <code> thanks"),
        ("Fix this:\ndef f(a):\n    return a\nThanks", "fix this <code> thanks"),
        ("Review the Norvik AirLite 300 Headphones now", "review the <name> now"),
        ("Explain Python decorators", "explain <name> decorators"),
    ],
)
def test_normalise_replaces_slots_and_keeps_template_words(prompt, expected):
    assert normalise_prompt(prompt) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "   ",
        "\x00\x01\x07\x1b[31m red \x7f",
        "line\r\nbreak\n\n\ttab",
        "日本語のプロンプト、東京で２０２４年",
        "Привет, как дела? Ответь кратко.",
        "مرحبا كيف حالك",
        "🙂" * 500,
        "a" * 100_000,
        "Explain 3 + 4 = 7. " * 6000,
        "```" + "x = 1\n" * 20000,
        '"' * 10001,
        "\ud800 lone surrogate",
    ],
)
def test_hostile_text_never_breaks_the_normaliser(hostile):
    out = normalise_prompt(hostile)
    assert isinstance(out, str)
    assert "\n" not in out and "  " not in out and out == out.strip()
    assert normalise_prompt(out) == out


def test_normalise_prompts_keeps_index_and_handles_missing():
    series = pd.Series(["Hi Maria Lopez", None, float("nan"), 42, "Hi Ana Ruiz"], index=[5, 6, 7, 8, 9])
    out = normalise_prompts(series)
    assert list(out.index) == [5, 6, 7, 8, 9]
    assert list(out) == ["hi <name>", "", "", "<num>", "hi <name>"]


@_PROPERTY
@given(_TEXT)
def test_normalise_is_idempotent_and_never_raises(text):
    once = normalise_prompt(text)
    assert normalise_prompt(once) == once


@_FEW
@given(st.integers(-(10**9), 10**9), st.integers(-(10**9), 10**9), st.floats(0, 1e6, allow_nan=False))
def test_numbers_of_any_value_share_a_normal_form(a, b, c):
    template = "Give me {} bullet points about item {}, budget {:.2f} dollars."
    assert normalise_prompt(template.format(a, b, c)) == normalise_prompt(template.format(7, 8, 9.5))


@_FEW
@given(st.sampled_from(["Maria Lopez", "José Álvarez", "Li Wei", "Anne-Marie O'Neil"]))
def test_names_of_any_person_share_a_normal_form(name):
    assert normalise_prompt(f"Write an email to {name} about the launch.") == "write an email to <name> about the launch"


def test_prompt_tokens_drop_politeness_but_not_everything():
    assert prompt_tokens("please write a short poem thanks") == ["poem", "short", "write"]
    assert prompt_tokens("hello") == ["hello"]
    assert prompt_tokens("") == ["<empty>"]


# --- deriving templates ----------------------------------------------------


@pytest.fixture(scope="module")
def rendered():
    """600 benign templates (Zipf-used) and 40 distillation templates, 40k prompts."""
    families = ["benign"] * 600 + [f for f in DISTILLATION for _ in range(10)] + ["integrator"] * 5 + ["internal"] * 5
    texts = template_texts(families, seed=21)
    rng = np.random.default_rng(21)
    weights = 1.0 / np.arange(1, 601) ** 1.1
    benign = rng.choice(600, size=30_000, p=weights / weights.sum())
    other = rng.integers(600, len(texts), size=10_000)
    index = np.concatenate([benign, other])
    rng.shuffle(index)
    prompts = pd.Series(render_prompts(index, texts, seed=21), index=np.arange(100, 100 + len(index)))
    return np.array(families)[index], index, prompts, derive_templates(prompts, seed=0)


def test_derived_templates_match_the_true_ones(rendered):
    families, index, _, derived = rendered
    overall = template_agreement(derived, index)
    print("overall", overall)
    assert overall["v_measure"] >= 0.9
    assert overall["homogeneity"] >= 0.9
    distill = np.isin(families, DISTILLATION)
    figures = template_agreement(derived[distill], index[distill])
    print("distillation", figures)
    assert figures["completeness"] >= 0.9
    assert figures["homogeneity"] >= 0.9


def test_distillation_templates_are_never_merged_and_rarely_split(rendered):
    families, index, _, derived = rendered
    table = pd.DataFrame({"derived": derived.to_numpy(), "true": index, "family": families})
    distill = table[table.family.isin(DISTILLATION)]
    members = table[table.derived.isin(set(distill.derived))].groupby("derived").true.nunique()
    assert (members == 1).all()
    # A template whose questions come from different problem banks may split in a few
    # pieces (every ring member still sends all of them); most stay whole.
    share_in_main = distill.groupby("true").derived.agg(lambda d: d.value_counts(normalize=True).iloc[0])
    pieces = distill.groupby("true").derived.nunique()
    assert share_in_main.min() >= 0.7
    assert (pieces == 1).mean() >= 0.8 and pieces.max() <= 5


def test_chain_of_thought_templates_of_one_family_stay_apart():
    # Legitimate step-by-step users and rings send templates of the same family that
    # share whole instructions; a template that fused two of them put legitimate users
    # into a ring (with a looser similarity bar, one pair in 60 fused on every seed).
    texts = template_texts(["cot"] * 60, seed=2)
    index = np.random.default_rng(2).integers(0, 60, size=20_000)
    derived = derive_templates(pd.Series(render_prompts(index, texts, seed=2)), seed=0)
    true_per_derived = pd.Series(index).groupby(derived.to_numpy()).nunique()
    assert true_per_derived.max() == 1
    assert derived.nunique() <= 3 * 60


def test_ids_are_stable_shaped_and_indexed(rendered):
    _, _, prompts, derived = rendered
    assert derived.index.equals(prompts.index)
    assert derived.map(lambda s: bool(re.fullmatch(r"tpl_[0-9a-f]{12}", s))).all()
    again = derive_templates(prompts.iloc[::-1], seed=0)
    assert again.reindex(prompts.index).equals(derived)


def test_derive_handles_empty_and_hostile_input():
    assert derive_templates(pd.Series([], dtype=object)).empty
    hostile = pd.Series(["", None, "a" * 100_000, "東京", "\x00\n", "Hello", "Hello", "hello!"])
    out = derive_templates(hostile)
    assert len(out) == len(hostile) and out.str.startswith("tpl_").all()
    assert out.iloc[5] == out.iloc[6] == out.iloc[7]
    assert out.iloc[0] == out.iloc[1] != out.iloc[5]


# --- agreement figures -----------------------------------------------------


def test_agreement_of_identical_labelings_is_perfect():
    figures = template_agreement(["x", "x", "y", "z"], [1, 1, 2, 3])
    assert figures == {"homogeneity": 1.0, "completeness": 1.0, "v_measure": 1.0, "adjusted_rand": 1.0, "n_derived": 3, "n_true": 3}


def test_agreement_separates_merging_from_splitting():
    truth = [0, 0, 1, 1]
    merged = template_agreement(["a", "a", "a", "a"], truth)
    assert merged["completeness"] == 1.0 and merged["homogeneity"] == 0.0
    split = template_agreement(["a", "b", "c", "d"], truth)
    assert split["homogeneity"] == 1.0 and split["completeness"] < 0.6
    assert all(isinstance(v, (int, float)) for v in split.values())


def test_agreement_matches_known_values():
    # worked by hand: contingency [[2, 1, 0], [0, 2, 1]] (true rows, derived columns)
    # H(C) = ln 2, H(K) = H(1/3, 1/2, 1/6), H(C|K) = H(K|C) = H(1/3, 2/3) / 2 * 2
    figures = template_agreement([0, 0, 1, 1, 1, 2], [0, 0, 0, 1, 1, 1])
    h_third = -(np.log(1 / 3) / 3 + np.log(2 / 3) * 2 / 3)
    h_k = -(np.log(1 / 3) / 3 + np.log(1 / 2) / 2 + np.log(1 / 6) / 6)
    assert figures["homogeneity"] == pytest.approx(1 - 0.5 * h_third / np.log(2))
    assert figures["completeness"] == pytest.approx(1 - h_third / h_k)
    # pairs: sum C(nij, 2) = 2, rows 6, columns 4, all 15 -> (2 - 1.6) / (5 - 1.6)
    assert figures["adjusted_rand"] == pytest.approx(0.4 / 3.4)
