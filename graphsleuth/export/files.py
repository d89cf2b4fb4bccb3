"""Write what detection found: members, rings and clusters, atomically.

* ``members.csv`` (or ``.parquet`` / ``.jsonl``): account_id, ring_id, score,
  one row per account placed in a suspected ring;
* ``rings.jsonl``: one record per suspected ring, best first;
* ``clusters.jsonl``: every scored cluster, flagged or not, with the reason;
* ``templates.csv``: when templates were derived from raw prompts, the
  derived template of each prompt row;
* ``rejects.csv``: in lenient mode, every input row that was skipped, with why.

CSV cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import output_directory
from ..detection.findings import Findings
from ..errors import GraphsleuthError
from ..evidence import Evidence

__all__ = ["write_findings", "write_jsonl", "neutralise_formulas", "to_json", "FORMATS"]

FORMATS = ("csv", "jsonl", "parquet")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix text a spreadsheet would evaluate as a formula with an apostrophe."""
    text = values.astype("str")
    risky = text.str.startswith(_FORMULA_START).fillna(False)
    return text.where(~risky, "'" + text)


def _write_table(frame: pd.DataFrame, stem: Path, format: str) -> None:
    if format == "csv":
        safe = frame.copy()
        for column in safe.columns:
            if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
                safe[column] = neutralise_formulas(safe[column])
        safe.to_csv(stem.with_suffix(".csv"), index=False)
    elif format == "parquet":
        frame.to_parquet(stem.with_suffix(".parquet"), index=False)
    else:
        frame.to_json(stem.with_suffix(".jsonl"), orient="records", lines=True, force_ascii=False, double_precision=15)


def to_json(record: dict) -> str:
    """One JSON line, as every JSON file graphsleuth writes holds them: UTF-8 as is, keys in their order,
    numpy numbers as plain numbers."""
    return json.dumps(record, ensure_ascii=False, sort_keys=False, default=_plain)


def write_jsonl(records, path: Path) -> None:
    """Write ``records`` (dicts, or typed records with ``to_dict()``) to ``path``, one JSON line each."""
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(to_json(record if isinstance(record, dict) else record.to_dict()) + "\n")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_findings(
    findings: Findings,
    out: str | Path,
    format: str = "csv",
    evidence: Evidence | None = None,
    force: bool = False,
    also: Callable[[Path], None] | None = None,
) -> Path:
    """Write members, rings.jsonl, clusters.jsonl (and templates / rejects when present) to ``out``.

    ``also`` writes further files into the same directory before it replaces
    ``out`` (the investigation's run files), so that they too come all at once or not at all.
    """
    if format not in FORMATS:
        raise GraphsleuthError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    with output_directory(out, force) as tmp:
        _write_table(findings.members, tmp / "members", format)
        write_jsonl(findings.rings, tmp / "rings.jsonl")
        write_jsonl(findings.clusters, tmp / "clusters.jsonl")
        write_jsonl(findings.campaigns, tmp / "campaigns.jsonl")
        if evidence is not None and evidence.derived_templates:
            rows = evidence.prompt_rows if evidence.prompt_rows is not None else np.arange(1, len(evidence.prompts) + 1)
            _write_table(pd.DataFrame({"row": rows, "template_id": evidence.prompts["template_id"].to_numpy()}), tmp / "templates", "csv")
        if evidence is not None and len(evidence.rejects):
            _write_table(evidence.rejects, tmp / "rejects", "csv")
        if also is not None:
            also(tmp)
    return Path(out)
