"""Realistic raw prompt text for the generator's "raw" mode.

The generator decides which prompt *template* each request uses; this module
turns that choice into the text an investigator would actually see in API
logs: the template's wording, its slots filled with names, numbers, quoted
text, code, URLs, dates and maths problems, and a light per-request paraphrase
(a few synonym swaps, a politeness prefix or suffix, sometimes two sentences in
another order). Deriving the templates back from such text
(:mod:`graphsleuth.templates`) is therefore real work, as it is on real logs.

Two calls make up the public API:

* :func:`template_texts` writes one distinct canonical template (with ``{slot}``
  markers) per requested family entry.
* :func:`render_prompts` renders millions of prompts quickly: rows are grouped
  by (template, paraphrase variant) and strings are built column-wise with
  Arrow, never with a Python loop over rows.

Templates of one family are built from four phrase lists, one phrase from
each. Template number ``i`` picks its phrases with a Reed-Solomon code (the
base-P digits of ``i`` are the coefficients of a polynomial evaluated at four
points), so any two templates of a family share at most one of the four
phrases while there are fewer than P*P of them. That keeps distinct templates
distinguishable, which is what real distillation rings look like too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .group_phrases import GROUP_FAMILY_PARTS
from .prompt_phrases import FAMILY_PARTS as _BASE_PARTS
from .prompt_slots import SLOT_KINDS, slot_pools

__all__ = [
    "FAMILIES",
    "SLOT_KINDS",
    "template_texts",
    "phrasing_texts",
    "render_prompts",
    "slot_pattern",
]

# Families added later come last, so that each earlier family keeps its shuffle (seeded by its position).
FAMILIES = ("benign", "cot", "tool_use", "coding", "grading", "integrator", "internal", "assignment", "agent_framework", "starter_kit")
FAMILY_PARTS = {**_BASE_PARTS, **GROUP_FAMILY_PARTS}


_SLOT_RE = re.compile(r"\{(" + "|".join(SLOT_KINDS) + r")\}")


def slot_pattern() -> re.Pattern:
    """The compiled pattern matching a ``{kind}`` slot marker in template text."""
    return _SLOT_RE


# ---------------------------------------------------------------------------
# Phrase lists, one tuple of four lists per family.
# ---------------------------------------------------------------------------


def _largest_prime_at_most(n: int) -> int:
    """The largest prime <= n (n >= 2); the code alphabet size for a family."""
    for p in range(n, 1, -1):
        if all(p % d for d in range(2, int(p**0.5) + 1)):
            return p
    return 2


def _codeword(i: int, prime: int, width: int = 4) -> tuple[list[int], int]:
    """Phrase choices for template ``i``: a polynomial with the base-``prime``
    digits of ``i`` as coefficients, evaluated at 0..width-1.

    Two templates whose numbers are below ``prime**2`` share at most one phrase;
    below ``prime**3`` at most two. Returns (choices, overflow) where overflow
    counts how many times the code space wrapped (used to keep texts distinct).
    """
    capacity = prime**width
    overflow, i = divmod(i, capacity)
    coeffs = []
    for _ in range(width):
        i, digit = divmod(i, prime)
        coeffs.append(digit)
    choices = [sum(c * x**k for k, c in enumerate(coeffs)) % prime for x in range(width)]
    return choices, overflow


def _compose(family: str, phrases: list[str]) -> str:
    """Join a family's four chosen phrases into one template text."""
    if family == "benign":
        context, request, topic, constraint = phrases
        return f"{context} {request.replace('{T}', topic)} {constraint}"
    text = ""
    for phrase in phrases:
        if not text or text.endswith("\n"):
            text += phrase
        else:
            text += " " + phrase
    return text


def _tidy(text: str) -> str:
    """Strip spaces around line breaks and at both ends of a template text."""
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return text.strip()


def _family_lists(seed: int) -> dict[str, tuple[int, list[list[str]]]]:
    """Each family's code size and phrase lists, shuffled by the seed."""
    shuffled = {}
    for code, family in enumerate(FAMILIES):
        parts = FAMILY_PARTS[family]
        prime = _largest_prime_at_most(min(len(p) for p in parts))
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7919, code])
        lists = [[p[j] for j in rng.permutation(len(p))[:prime]] for p in parts]
        shuffled[family] = (prime, lists)
    return shuffled


def _text(family: str, lists: list[list[str]], choices: list[int], overflow: int) -> str:
    text = _tidy(_compose(family, [lists[k][c] for k, c in enumerate(choices)]))
    if overflow:
        text += f" Reference code {_overflow_tag(overflow)}."
    return text


def _template_choices(families: Sequence[str], seed: int, shuffled) -> list[tuple[str, list[int], int]]:
    """The phrases (choices and overflow) of each entry's template, and its text."""
    unknown = sorted({f for f in families if f not in FAMILY_PARTS})
    if unknown:
        raise ValueError(f"unknown template families: {', '.join(unknown)} (known: {', '.join(FAMILIES)})")
    counters = {f: 0 for f in FAMILIES}
    out: list[tuple[str, list[int], int]] = []
    seen: set[str] = set()
    for family in families:
        prime, lists = shuffled[family]
        while True:
            choices, overflow = _codeword(counters[family], prime)
            counters[family] += 1
            text = _text(family, lists, choices, overflow)
            if text not in seen:
                break
        seen.add(text)
        out.append((text, choices, overflow))
    return out


def template_texts(families: Sequence[str], seed: int) -> list[str]:
    """One distinct canonical template (with slots) per entry, in the style of its family.

    The k-th entry of a family gets that family's k-th template, so asking for
    more templates of a family keeps the earlier ones. The seed shuffles each
    phrase list, so different seeds give different template sets.
    """
    return [text for text, _, _ in _template_choices(families, seed, _family_lists(seed))]


def phrasing_texts(families: Sequence[str], templates: Sequence[int], phrasings: Sequence[int], seed: int) -> list[str]:
    """Phrasing ``phrasings[i]`` (1, 2, ...) of template number ``templates[i]`` of ``families``.

    A phrasing asks for the same task (it keeps the template's second phrase, the one that
    carries the task's slots) in other words: each of the other three phrases is replaced by
    another of its list. The same template, phrasing and seed always give the same text, so
    rings whose tools share a template share its phrasings too.
    """
    shuffled = _family_lists(seed)
    base = _template_choices(families, seed, shuffled)
    taken = {text for text, _, _ in base}
    out = []
    for template, k in zip(templates, phrasings):
        family = families[int(template)]
        prime, lists = shuffled[family]
        _, choices, overflow = base[int(template)]
        for attempt in range(8):
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 104729, int(template), int(k), attempt])
            moved = [c if part == 1 else (c + 1 + int(rng.integers(0, prime - 1))) % prime for part, c in enumerate(choices)]
            text = _text(family, lists, moved, overflow)
            if text not in taken:
                break
        else:
            text += f" Variant {_overflow_tag(int(k))}."
        taken.add(text)
        out.append(text)
    return out


def _overflow_tag(n: int) -> str:
    """A word-only tag (letters, no digits) that keeps overflow templates distinct."""
    letters = "bcdfghjklmnpqrstvwxz"
    tag = ""
    while True:
        n, r = divmod(n, len(letters))
        tag += letters[r]
        if n == 0:
            return tag


# ---------------------------------------------------------------------------
# Paraphrase.
# ---------------------------------------------------------------------------

_SYNONYMS = {
    "write": ["draft", "compose"],
    "short": ["brief"],
    "explain": ["describe", "clarify"],
    "give": ["provide", "offer"],
    "detailed": ["thorough", "in-depth"],
    "question": ["query"],
    "questions": ["queries"],
    "help": ["assist"],
    "include": ["add"],
    "avoid": ["skip"],
    "simple": ["plain", "easy"],
    "suggest": ["recommend", "propose"],
    "summarise": ["condense", "sum up"],
    "final": ["last"],
    "every": ["each"],
    "fix": ["repair"],
    "find": ["locate"],
    "important": ["key"],
    "friendly": ["warm"],
    "professional": ["formal"],
    "concise": ["succinct"],
    "mistakes": ["errors"],
    "options": ["choices"],
    "start": ["begin"],
    "carefully": ["thoroughly"],
    "strict": ["rigorous"],
    "small": ["little"],
    "message": ["note"],
    "create": ["build"],
    "want": ["would like"],
    "need": ["require"],
    "full": ["complete"],
    "entire": ["whole"],
    "detail": ["depth"],
    "common": ["typical"],
    "clear": ["obvious"],
    "very": ["really"],
    "quickly": ["fast"],
    "several": ["a few"],
    "expert": ["specialist"],
    "correct": ["right"],
}
#: Plain words only: not inside identifiers (search_web), hyphenated words or ALL-CAPS.
_WORD_RE = re.compile(r"(?<![\w-])[A-Za-z][a-z]+(?![\w-])")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[{])")

#: Politeness prefixes, and whether the template's first letter is lowered after them.
_PREFIXES = [("", False), ("Please ", True), ("Hi, ", True), ("Hello! ", False), ("Hey, ", True), ("Quick one: ", True)]
_PREFIX_P = [0.55, 0.15, 0.09, 0.08, 0.07, 0.06]
_SUFFIXES = ["", " Thanks!", " Thank you.", " Thanks in advance.", " Cheers!", " Much appreciated."]
_SUFFIX_P = [0.55, 0.15, 0.1, 0.08, 0.07, 0.05]
#: Paraphrase variants per template: 0 canonical, 1-2 synonym swaps, 3 reordered sentences.
_VARIANTS = 4
_VARIANT_P = [0.4, 0.2, 0.2, 0.2]


def _swap_synonyms(literal: str, rnd: random.Random, budget: int) -> tuple[str, int]:
    """Replace up to ``budget`` swappable words in a literal piece of template text."""
    spots = [m for m in _WORD_RE.finditer(literal) if m.group(0).lower() in _SYNONYMS]
    if not spots or budget <= 0:
        return literal, budget
    chosen = sorted(rnd.sample(spots, min(budget, len(spots))), key=lambda m: m.start())
    out, last = [], 0
    for m in chosen:
        word = m.group(0)
        alt = rnd.choice(_SYNONYMS[word.lower()])
        if word[0].isupper():
            alt = alt[0].upper() + alt[1:]
        out.append(literal[last : m.start()])
        out.append(alt)
        last = m.end()
    out.append(literal[last:])
    return "".join(out), budget - len(chosen)


def _paraphrase(text: str, variant: int, seed: int) -> str:
    """Variant ``variant`` of a template: 0 is the text itself, 1 and 2 swap up to
    three words for synonyms, 3 swaps two sentences (or, when the template has
    one sentence or code, swaps synonyms instead). Slots are never touched.
    """
    if variant == 0:
        return text
    rnd = random.Random(f"{seed}:{variant}:{text}")
    if variant == 3 and "\n" not in text:
        sentences = _SENTENCE_SPLIT.split(text)
        if len(sentences) >= 2:
            k = rnd.randrange(len(sentences) - 1)
            sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
            return " ".join(sentences)
    pieces = _SLOT_RE.split(text)
    budget = 3
    for k in range(0, len(pieces), 2):
        pieces[k], budget = _swap_synonyms(pieces[k], rnd, budget)
    return "".join(p if k % 2 == 0 else "{" + p + "}" for k, p in enumerate(pieces))


def _lower_first(text: str) -> str:
    """The text with its first letter lowered, unless it starts with "I" or an acronym."""
    if not text or not text[0].isupper():
        return text
    first = re.match(r"[A-Za-z']+", text)
    word = first.group(0) if first else text[0]
    if word == "I" or word.startswith("I'") or (len(word) > 1 and word[1].isupper()):
        return text
    return text[0].lower() + text[1:]


def _variant_layout(text: str, variant: int, seed: int) -> tuple[list[str], list[int]]:
    """Literal pieces and slot kinds (1-based into SLOT_KINDS) of one paraphrase variant."""
    pieces = _SLOT_RE.split(_paraphrase(text, variant, seed))
    literals = pieces[0::2]
    kinds = [SLOT_KINDS.index(p) + 1 for p in pieces[1::2]]
    return literals, kinds


# ---------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------

_CHUNK_ROWS = 262_144


def render_prompts(template_index: np.ndarray, texts: Sequence[str], seed: int) -> np.ndarray:
    """One prompt string (dtype object) per row: texts[template_index[i]] with its slots
    filled and lightly paraphrased.

    Deterministic for the same inputs and seed. Work per distinct (template,
    variant) pair is done once in Python; everything per row is Arrow/numpy.
    """
    index = np.asarray(template_index, dtype=np.int64).ravel()
    n = len(index)
    if n == 0:
        return np.empty(0, dtype=object)
    if index.min() < 0 or index.max() >= len(texts):
        raise IndexError(f"template_index must lie in [0, {len(texts)}), got values outside it")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 15485863])
    variant = rng.choice(_VARIANTS, size=n, p=_VARIANT_P)
    groups, row_group = np.unique(index * _VARIANTS + variant, return_inverse=True)
    layouts = [_variant_layout(str(texts[g // _VARIANTS]), int(g % _VARIANTS), seed) for g in groups]
    width = max(len(kinds) for _, kinds in layouts)
    literal_cols, kind_cols = _layout_columns(layouts, width)
    pool, offsets, sizes = slot_pools(int(seed))
    prefix_texts = pa.array([p for p, _ in _PREFIXES], type=pa.large_string())
    prefix_lowers = np.array([low for _, low in _PREFIXES])
    suffix_texts = pa.array(_SUFFIXES, type=pa.large_string())
    out = np.empty(n, dtype=object)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(n, start + _CHUNK_ROWS)
        g = row_group[start:stop]
        m = stop - start
        prefix = rng.choice(len(_PREFIXES), size=m, p=_PREFIX_P)
        suffix = rng.choice(len(_SUFFIXES), size=m, p=_SUFFIX_P)
        draws = rng.random((width, m))
        first = pc.if_else(pa.array(prefix_lowers[prefix]), literal_cols[0][1].take(g), literal_cols[0][0].take(g))
        columns = [prefix_texts.take(prefix), first]
        for s in range(width):
            kind = kind_cols[s][g]
            pick = offsets[kind] + (draws[s] * sizes[kind]).astype(np.int64)
            columns.append(pool.take(pick))
            columns.append(literal_cols[s + 1][0].take(g))
        columns.append(suffix_texts.take(suffix))
        joined = pc.binary_join_element_wise(*columns, pa.scalar("", type=pa.large_string()))
        out[start:stop] = joined.to_numpy(zero_copy_only=False)
    return out


def _layout_columns(layouts: list[tuple[list[str], list[int]]], width: int):
    """Per-group literal pieces and slot kinds as columns padded to ``width`` slots.

    Column 0 of the literals comes in two versions: as written and with its
    first letter lowered (used after a prefix such as "Please ").
    """
    literal_cols = []
    for s in range(width + 1):
        col = [lits[s] if s < len(lits) else "" for lits, _ in layouts]
        as_written = pa.array(col, type=pa.large_string())
        lowered = pa.array([_lower_first(c) for c in col], type=pa.large_string()) if s == 0 else as_written
        literal_cols.append((as_written, lowered))
    kind_cols = [np.array([kinds[s] if s < len(kinds) else 0 for _, kinds in layouts], dtype=np.int64) for s in range(width)]
    return literal_cols, kind_cols
