"""Derive prompt templates from raw prompt text.

Distillation rings send the same prompt *template* thousands of times with
different questions, code or names poured into it. Raw API logs only hold the
filled-in text, so detection first has to recover the templates:

1. **Normalise** each prompt: code blocks, URLs, emails, dates, quoted
   strings, maths expressions, person/product names and numbers become
   placeholders (``<code>``, ``<url>``, ``<email>``, ``<date>``, ``<str>``,
   ``<math>``, ``<name>``, ``<num>``); case, punctuation and whitespace are
   folded. Runs of adjacent placeholders collapse into the first one, so "the
   Norvik AirLite 300 Kettle" and "the Orrin Duo Kettle" agree.
2. **Group near-duplicates**: a prompt and its light paraphrases (synonyms,
   "Please ...", "Thanks!", reordered sentences) share most content words, so
   MinHash signatures of their word sets collide in LSH buckets. Candidate
   pairs are confirmed on the estimated Jaccard similarity and joined into
   connected components: one component is one derived template.

Everything heavy runs on *unique* strings only: raw prompts are deduplicated
before normalising, normal forms before tokenising, and token sets before
hashing, so millions of prompts that repeat a few thousand templates stay
fast. Regular expressions run in Arrow (RE2: linear time, so hostile 100k-char
prompts cannot blow up) on several threads.

Template ids are ``"tpl_"`` + 12 hex digits of the SHA-1 of the component's
most frequent normal form, so the same input gives the same ids.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "PLACEHOLDERS",
    "normalise_prompt",
    "normalise_prompts",
    "prompt_tokens",
    "derive_templates",
    "template_agreement",
]

#: The placeholders a normal form may contain.
PLACEHOLDERS = ("<code>", "<url>", "<email>", "<date>", "<str>", "<math>", "<name>", "<num>")

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_CODE_KEYWORDS_UPPER = r"(?:SELECT|FROM|WHERE|GROUP BY|ORDER BY|JOIN|LEFT JOIN|LIMIT|INSERT|UPDATE|DELETE|HAVING|CREATE|WITH|VALUES)"
_CODE_KEYWORDS = (
    r"(?:def|class|return|import|from|function|const|let|var|for|if|elif|else|while|try|except"
    r"|catch|print|console|async|await|public|private|static|fn|func|package|#include)"
)
_NAME_WORD = r"\p{Lu}\p{Ll}[\p{L}\p{M}\p{N}'’-]*"
_NAME_NEXT = r"\p{Lu}[\p{L}\p{M}\p{N}'’-]*"
_TOKEN = r"[\p{L}\p{N}^().]"
_TOKEN_END = r"[\p{L}\p{N}^)]"

#: Rewrites applied in order before lowercasing. Each is (RE2 pattern, replacement).
#: Order matters: code and URLs first (they contain everything else), dates
#: before numbers, quoted text before names, names before lowercasing.
_RULES_BEFORE_LOWER: list[tuple[str, str]] = [
    (r"\r\n?", "\n"),
    (r"\p{Cf}+", ""),
    (r"[\x00-\x09\x0b-\x1f\x7f-\x9f]+", " "),
    # fenced code blocks, closed or running to the end of the prompt
    (r"(?s)```.*?```|(?s)```.*", " <code> \n"),
    (r"`[^`\n]+`", " <code> "),
    (r"(?i)(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'“”]*[^\s<>\"'“”.,;:!?)]", " <url> "),
    (r"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+", " <email> "),
    # lines that look like code: indented, SQL keywords, code keywords with code
    # punctuation, assignments, braces, statement ends
    (
        r"(?m)^(?:[ \t]{2,}\S.*"
        r"|[ \t]*" + _CODE_KEYWORDS_UPPER + r"\b.*"
        r"|[ \t]*" + _CODE_KEYWORDS + r"\b[^\n]*(?:[(){}\[\]=;]|:[ \t]*$)[^\n]*"
        r"|[ \t]*[\p{L}_][\p{L}\p{N}_.]*(?:\[[^\]\n]*\])?[ \t]*[-+*/]?=[ \t]*[^=\s][^\n]*"
        r"|[^\n]*(?:[{}]|;[ \t]*$|==|!=|=>|\):|\(\)[ \t]*$)[^\n]*)$",
        "<code>",
    ),
    (
        r"\b" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b"
        r"|\b\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r"(?:,?\s+\d{4})?\b"
        r"|\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?Z?)?\b"
        r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
        " <date> ",
    ),
    (r"\"[^\"\n]*\"|“[^”\n]*”|„[^“”\n]*[“”]|«[^»\n]*»|「[^」\n]*」", " <str> "),
    (r"(^|[\s(\[:])'[^'\n]+?'([\s.,;:!?)\]]|$)", r"\1 <str> \2"),
    (
        _TOKEN
        + r"*\p{N}"
        + _TOKEN
        + r"*(?:\s*[+*/=×÷^]\s*"
        + _TOKEN
        + r"*"
        + _TOKEN_END
        + r"|\s+[-−]\s+"
        + _TOKEN
        + r"*"
        + _TOKEN_END
        + r")+",
        " <math> ",
    ),
    # a capitalised word (and the capitalised words after it) inside a sentence is a
    # name; not right after a placeholder, which may have swallowed a full stop, and
    # never the first word of a sentence or line ("Explain Python decorators" keeps
    # "explain"; a name opening a sentence keeps its first word, a rare small leak)
    (r"([^\s.!?:;>\]][ \t]+|[,(][ \t]*)" + _NAME_WORD + r"(?:[ \t]+" + _NAME_NEXT + r")*", r"\1<name>"),
    (r"[$€£¥]?[\p{L}\p{N}_]*\p{N}(?:[.,:/%-]?[\p{L}\p{N}_])*%?", " <num> "),
]

#: Rewrites applied after lowercasing: leftovers, punctuation, whitespace, runs.
_RULES_AFTER_LOWER: list[tuple[str, str]] = [
    # punctuation, symbols, unicode spaces and the rare capitals that have no lower
    # case; afterwards only "\n" and " " separate words
    (r"(?:[^\p{L}\p{M}\p{N}<>_\s]|[\p{Lu}\p{Lt}])+", " "),
    (r"[\s]{2,}|\n", " "),
    (r"<([a-z]+)>(?: ?<[a-z]+>)+", r"<\1>"),
]

#: Words that carry no template identity: function words and politeness.
_STOPWORDS = frozenset(
    """a an the of to in on at for and or but with by from as is are was were be been it its this that
    these those i me my we our you your he she they them their his her im i'm can could would should will
    do does did so if then than not no yes just also please pls thanks thank thx hi hello hey there dear
    cheers much appreciated advance kindly quick one ok okay""".split()
)

_CHUNK = 20_000
_THREADS = max(1, min(8, os.cpu_count() or 1))


def _apply_rules(chunk: pa.Array) -> pa.Array:
    """Run every normalisation rule over one Arrow chunk of prompt text."""
    for pattern, replacement in _RULES_BEFORE_LOWER:
        chunk = pc.replace_substring_regex(chunk, pattern=pattern, replacement=replacement)
    chunk = pc.utf8_lower(chunk)
    for pattern, replacement in _RULES_AFTER_LOWER[:-1]:
        chunk = pc.replace_substring_regex(chunk, pattern=pattern, replacement=replacement)
    chunk = pc.utf8_trim(chunk, characters=" ")
    pattern, replacement = _RULES_AFTER_LOWER[-1]
    return pc.replace_substring_regex(chunk, pattern=pattern, replacement=replacement)


def _to_arrow_text(values) -> pa.Array:
    """Prompt text as an Arrow large_string array; missing values become "".

    Text that is not valid UTF-8 (lone surrogates) is repaired with U+FFFD
    rather than rejected.
    """
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    objects = series.astype(object).where(series.notna(), "").to_numpy(dtype=object)
    try:
        return pa.array(objects, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        repaired = [
            str(v).encode("utf-8", "surrogatepass").decode("utf-8", "replace") if not isinstance(v, bytes) else v.decode("utf-8", "replace")
            for v in objects
        ]
        return pa.array(repaired, type=pa.large_string())


def _normalise_arrow(text: pa.Array) -> pa.Array:
    """Normalise an Arrow array of prompts, in chunks on several threads."""
    if len(text) <= _CHUNK or _THREADS == 1:
        return _apply_rules(text)
    chunks = [text.slice(i, _CHUNK) for i in range(0, len(text), _CHUNK)]
    with ThreadPoolExecutor(_THREADS) as pool:
        done = list(pool.map(_apply_rules, chunks))
    return pa.concat_arrays(done)


def normalise_prompts(prompts: pd.Series) -> pd.Series:
    """Normal form of each prompt (same index), computed once per distinct prompt.

    Never raises on text: empty, huge, non-Latin or control-character prompts
    all get a (possibly empty) normal form. Missing values count as "".
    """
    prompts = prompts if isinstance(prompts, pd.Series) else pd.Series(prompts, dtype=object)
    text = _to_arrow_text(prompts)
    encoded = pc.dictionary_encode(text)
    normal = _normalise_arrow(encoded.dictionary)
    out = normal.take(encoded.indices).to_numpy(zero_copy_only=False)
    return pd.Series(out, index=prompts.index, dtype=object, name=prompts.name)


def normalise_prompt(text: str) -> str:
    """Normal form of one prompt: slots replaced by placeholders, case, punctuation
    and whitespace folded. Idempotent: normalising a normal form changes nothing.
    """
    return str(normalise_prompts(pd.Series([text], dtype=object)).iloc[0])


def prompt_tokens(normal_form: str) -> list[str]:
    """The words of a normal form that identify its template, sorted and unique.

    Function words and politeness ("please", "thanks") are dropped so that they
    cannot tell paraphrases apart, unless nothing else is left ("Hello" stays
    "hello", and only the empty prompt becomes ``<empty>``).
    """
    words = {w for w in normal_form.split(" ") if w}
    content = {w for w in words if w not in _STOPWORDS}
    if content:
        return sorted(content)
    return sorted(words) if words else ["<empty>"]


# ---------------------------------------------------------------------------
# Grouping near-duplicate normal forms.
# ---------------------------------------------------------------------------

_PERMUTATIONS = 128
_BAND_ROWS = 4
#: Estimated Jaccard similarity at or above which two normal forms share a template.
#: Components chain pairs transitively, so a looser bar lets two templates that only
#: share an opening instruction ("work through the problem below one step at a time")
#: fuse through their paraphrases: at 0.6 legitimate step-by-step users were joined to a
#: ring's chain-of-thought template (55.6 false positives per 100k at 200k accounts).
_SIMILARITY = 0.7
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _minhash(doc_of_token: np.ndarray, token_hash: np.ndarray, n_docs: int, seed: int) -> np.ndarray:
    """MinHash signatures (n_docs x _PERMUTATIONS, uint64) of token sets, vectorised.

    ``doc_of_token`` must be sorted and every doc must own at least one token.
    Each permutation is a multiply-add-xorshift on 64-bit token hashes.
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 2654435761])
    mult = rng.integers(1, np.iinfo(np.int64).max, _PERMUTATIONS, dtype=np.int64).astype(np.uint64) | np.uint64(1)
    add = rng.integers(0, np.iinfo(np.int64).max, _PERMUTATIONS, dtype=np.int64).astype(np.uint64)
    starts = np.flatnonzero(np.r_[True, doc_of_token[1:] != doc_of_token[:-1]])
    signature = np.empty((n_docs, _PERMUTATIONS), dtype=np.uint64)
    block_docs = max(1, 4_000_000 // (_PERMUTATIONS * max(1, len(token_hash) // max(1, n_docs))))
    with np.errstate(over="ignore"):
        for d0 in range(0, n_docs, block_docs):
            d1 = min(n_docs, d0 + block_docs)
            t0 = starts[d0]
            t1 = starts[d1] if d1 < n_docs else len(token_hash)
            h = token_hash[t0:t1, None] * mult[None, :] + add[None, :]
            h ^= h >> np.uint64(29)
            h *= _MIX
            h ^= h >> np.uint64(32)
            signature[d0:d1] = np.minimum.reduceat(h, starts[d0:d1] - t0, axis=0)
    return signature


def _candidate_pairs(signature: np.ndarray) -> np.ndarray:
    """Pairs (i, j), i < j, that share an LSH bucket in some band (each member is
    paired with its bucket's first member, so huge buckets stay linear)."""
    n = signature.shape[0]
    pairs = []
    with np.errstate(over="ignore"):
        for band in range(_PERMUTATIONS // _BAND_ROWS):
            cols = signature[:, band * _BAND_ROWS : (band + 1) * _BAND_ROWS]
            key = cols[:, 0].copy()
            for c in range(1, _BAND_ROWS):
                key = key * _MIX + cols[:, c]
            order = np.argsort(key, kind="stable")
            sorted_key = key[order]
            new_bucket = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
            first = order[np.maximum.accumulate(np.where(new_bucket, np.arange(n), 0))]
            keep = ~new_bucket
            if keep.any():
                a, b = first[keep], order[keep]
                pairs.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(pairs))
    return np.stack([codes // n, codes % n], axis=1)


def _similar_pairs(signature: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The candidate pairs whose estimated Jaccard similarity reaches _SIMILARITY."""
    keep = np.zeros(len(pairs), dtype=bool)
    step = 200_000
    for s in range(0, len(pairs), step):
        p = pairs[s : s + step]
        agree = (signature[p[:, 0]] == signature[p[:, 1]]).mean(axis=1)
        keep[s : s + step] = agree >= _SIMILARITY
    return pairs[keep]


def _group_token_sets(token_sets: list[list[str]], seed: int) -> np.ndarray:
    """Component label per token set: near-duplicate sets share a label."""
    n = len(token_sets)
    if n <= 1:
        return np.zeros(n, dtype=np.int64)
    lengths = np.fromiter((len(t) for t in token_sets), dtype=np.int64, count=n)
    flat = np.fromiter((w for t in token_sets for w in t), dtype=object, count=int(lengths.sum()))
    token_hash = pd.util.hash_array(flat, hash_key="graphsleuth-tpl0", categorize=True).astype(np.uint64)
    doc_of_token = np.repeat(np.arange(n), lengths)
    signature = _minhash(doc_of_token, token_hash, n, seed)
    edges = _similar_pairs(signature, _candidate_pairs(signature))
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def _template_id(canonical: str) -> str:
    """Stable id of a template from its canonical normal form."""
    return "tpl_" + hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:12]


def derive_templates(prompts: pd.Series, seed: int = 0) -> pd.Series:
    """Template id for each prompt (same index). Stable ids for the same input and seed.

    Prompts whose normal forms are near-duplicates (estimated Jaccard
    similarity of their content words >= 0.7, chained transitively) share a
    template. The id digests the group's most frequent normal form.
    """
    prompts = prompts if isinstance(prompts, pd.Series) else pd.Series(prompts, dtype=object)
    if len(prompts) == 0:
        return pd.Series([], index=prompts.index, dtype=object, name="template_id")
    raw = pc.dictionary_encode(_to_arrow_text(prompts))
    normal = pc.dictionary_encode(_normalise_arrow(raw.dictionary))
    # prompt -> distinct raw text -> distinct normal form
    form_of_prompt = normal.indices.to_numpy(zero_copy_only=False)[raw.indices.to_numpy(zero_copy_only=False)]
    forms = normal.dictionary.to_numpy(zero_copy_only=False)
    form_count = np.bincount(form_of_prompt, minlength=len(forms))
    # distinct normal form -> distinct token set -> component
    keys = pd.Series([" ".join(prompt_tokens(f)) for f in forms], dtype=object)
    set_of_form, set_keys = pd.factorize(keys, sort=True)
    labels = _group_token_sets([k.split(" ") for k in set_keys], seed)
    label_of_form = labels[set_of_form]
    ids = _component_ids(label_of_form, forms, form_count)
    out = ids[form_of_prompt]
    return pd.Series(out, index=prompts.index, dtype=object, name="template_id")


def _component_ids(label_of_form: np.ndarray, forms: np.ndarray, form_count: np.ndarray) -> np.ndarray:
    """Template id per normal form: the digest of its component's most frequent
    normal form (ties broken by the smaller string, so ids do not depend on order)."""
    table = pd.DataFrame({"label": label_of_form, "form": forms, "count": form_count})
    best = table.sort_values(["label", "count", "form"], ascending=[True, False, True]).drop_duplicates("label")
    id_of_label = dict(zip(best["label"], (_template_id(f) for f in best["form"])))
    return np.array([id_of_label[label] for label in label_of_form], dtype=object)


# ---------------------------------------------------------------------------
# Agreement with the true templates.
# ---------------------------------------------------------------------------


def _entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of a distribution given by counts."""
    counts = counts[counts > 0].astype(float)
    if counts.size == 0:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def template_agreement(derived: Sequence, truth: Sequence) -> dict:
    """How well derived templates match the true ones: homogeneity, completeness,
    v_measure, adjusted_rand, n_derived, n_true (plain numbers).

    Homogeneity is 1 when no derived template mixes true templates (nothing
    merged); completeness is 1 when every true template lands in a single
    derived one (nothing split). Missing labels count as one label of their own.
    """
    derived = pd.Series(np.asarray(derived, dtype=object)).fillna("<missing>")
    truth = pd.Series(np.asarray(truth, dtype=object)).fillna("<missing>")
    if len(derived) != len(truth):
        raise ValueError(f"derived has {len(derived)} labels but truth has {len(truth)}")
    n = len(derived)
    k_codes, k_uniques = pd.factorize(derived)
    c_codes, c_uniques = pd.factorize(truth)
    if n == 0:
        return {"homogeneity": 1.0, "completeness": 1.0, "v_measure": 1.0, "adjusted_rand": 1.0, "n_derived": 0, "n_true": 0}
    cells = pd.Series(1, index=pd.MultiIndex.from_arrays([c_codes, k_codes])).groupby(level=[0, 1]).sum()
    nij = cells.to_numpy(dtype=float)
    a = np.bincount(c_codes).astype(float)
    b = np.bincount(k_codes).astype(float)
    h_c, h_k = _entropy(a), _entropy(b)
    h_joint = _entropy(nij)
    h_c_given_k = h_joint - h_k
    h_k_given_c = h_joint - h_c
    homogeneity = 1.0 if h_c == 0 else 1.0 - h_c_given_k / h_c
    completeness = 1.0 if h_k == 0 else 1.0 - h_k_given_c / h_k
    v = 0.0 if homogeneity + completeness == 0 else 2 * homogeneity * completeness / (homogeneity + completeness)
    pairs = lambda x: (x * (x - 1) / 2).sum()  # noqa: E731
    index, sum_a, sum_b = pairs(nij), pairs(a), pairs(b)
    total = n * (n - 1) / 2
    expected = sum_a * sum_b / total if total else 0.0
    maximum = (sum_a + sum_b) / 2
    ari = 1.0 if maximum == expected else float((index - expected) / (maximum - expected))
    return {
        "homogeneity": float(max(0.0, min(1.0, homogeneity))),
        "completeness": float(max(0.0, min(1.0, completeness))),
        "v_measure": float(max(0.0, min(1.0, v))),
        "adjusted_rand": ari,
        "n_derived": int(len(k_uniques)),
        "n_true": int(len(c_uniques)),
    }
