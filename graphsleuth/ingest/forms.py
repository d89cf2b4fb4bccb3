"""Templates from raw prompt text without holding the texts in Python.

The engine normalises each *distinct* prompt text with the very rules of
:mod:`graphsleuth.detection.templates` (RE2 regexes in both: Arrow there,
DuckDB here), so the same text gets the same normal form; Python receives only
the distinct normal forms (thousands, however many millions of requests),
groups near-duplicates with the same MinHash grouping as ``detect``, and hands
back one template id per form for the engine to map every text to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..detection import templates as _templates
from ..queries import sql_statement

__all__ = ["normalise_macro", "group_forms"]


def _literal(text: str) -> str:
    """A SQL string literal of one of our own rule strings (never of input)."""
    return "'" + text.replace("'", "''") + "'"


def normalise_macro() -> str:
    """The statement that makes macro ``gs_normalise(p)``: the normal form of a prompt, built from detection's rules.

    The statement is text made from graphsleuth's own constants (the rules'
    patterns must be literals for the engine to compile each regex once).
    """
    expr = "CAST(p AS VARCHAR)"
    for pattern, replacement in _templates._RULES_BEFORE_LOWER:
        expr = f"regexp_replace({expr}, {_literal(pattern)}, {_literal(replacement)}, 'g')"
    expr = f"lower({expr})"
    for pattern, replacement in _templates._RULES_AFTER_LOWER[:-1]:
        expr = f"regexp_replace({expr}, {_literal(pattern)}, {_literal(replacement)}, 'g')"
    expr = f"trim({expr}, ' ')"
    pattern, replacement = _templates._RULES_AFTER_LOWER[-1]
    expr = f"regexp_replace({expr}, {_literal(pattern)}, {_literal(replacement)}, 'g')"
    return sql_statement("templates", "normalise_macro").replace("/* normal form */ p", expr)


def group_forms(forms: pa.Table, seed: int = 0) -> pa.Table:
    """Template id of each distinct normal form (columns fkey, norm, requests -> fkey, norm, requests, template_id).

    Near-duplicate forms (estimated Jaccard similarity of their content words
    >= 0.7, chained) share a template named after its most frequent form, as
    :func:`graphsleuth.detection.templates.derive_templates` names them.
    """
    norms = forms.column("norm").to_numpy(zero_copy_only=False).astype(object)
    counts = forms.column("requests").to_numpy().astype(np.int64)
    if len(norms) == 0:
        return forms.append_column("template_id", pa.array([], pa.string()))
    keys = pd.Series([" ".join(_templates.prompt_tokens(f)) for f in norms], dtype=object)
    set_of_form, set_keys = pd.factorize(keys, sort=True)
    labels = _templates._group_token_sets([k.split(" ") for k in set_keys], seed)
    ids = _templates._component_ids(labels[set_of_form], norms, counts)
    return forms.append_column("template_id", pa.array(ids.tolist(), pa.string()))
