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

import hashlib
import hmac
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import output_directory
from .errors import GraphsleuthError
from .evidence import Evidence
from .findings import Findings

__all__ = ["write_findings", "neutralise_formulas", "pseudonymise_findings", "PSEUDONYM_KEY_VARIABLE"]

FORMATS = ("csv", "jsonl", "parquet")
PSEUDONYM_KEY_VARIABLE = "GRAPHSLEUTH_PSEUDONYM_KEY"
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
        frame.to_json(stem.with_suffix(".jsonl"), orient="records", lines=True, force_ascii=False)


def _jsonl(records: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=False, default=_plain) + "\n")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _pseudonym(key: bytes, value: str, kind: str) -> str:
    return f"{kind}_" + hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:16]


def pseudonymise_findings(findings: Findings, key: bytes | None = None) -> Findings:
    """Replace emails, IPs, subnets, phones and payment ids in ring records with keyed hashes.

    The key comes from ``GRAPHSLEUTH_PSEUDONYM_KEY`` unless given; the same key
    gives the same pseudonyms, so partners can match rings without seeing
    personal data.
    """
    if key is None:
        raw = os.environ.get(PSEUDONYM_KEY_VARIABLE, "")
        if not raw:
            raise GraphsleuthError(f"--pseudonymise needs a key in the environment variable {PSEUDONYM_KEY_VARIABLE}")
        key = raw.encode()
    personal = {"cards": "card", "ips": "ip", "subnets": "subnet", "phone": "phone", "email": "email"}
    rings = []
    for ring in findings.rings:
        ring = json.loads(json.dumps(ring, default=_plain))
        for name, kind in personal.items():
            for item in ring.get("evidence", {}).get(name, {}).get("top", []):
                item["value"] = _pseudonym(key, item["value"], kind)
        rings.append(ring)
    return Findings(findings.members, rings, findings.clusters, findings.run_id, findings.algorithm, findings.seed, dict(findings.stats))


def write_findings(findings: Findings, out: str | Path, format: str = "csv", evidence: Evidence | None = None, force: bool = False) -> Path:
    """Write members, rings.jsonl, clusters.jsonl (and templates / rejects when present) to ``out``."""
    if format not in FORMATS:
        raise GraphsleuthError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    with output_directory(out, force) as tmp:
        _write_table(findings.members, tmp / "members", format)
        _jsonl(findings.rings, tmp / "rings.jsonl")
        _jsonl([{k: v for k, v in c.items() if k != "account_ids"} for c in findings.clusters], tmp / "clusters.jsonl")
        if evidence is not None and evidence.derived_templates:
            rows = evidence.prompt_rows if evidence.prompt_rows is not None else np.arange(1, len(evidence.prompts) + 1)
            _write_table(pd.DataFrame({"row": rows, "template_id": evidence.prompts["template_id"].to_numpy()}), tmp / "templates", "csv")
        if evidence is not None and len(evidence.rejects):
            _write_table(evidence.rejects, tmp / "rejects", "csv")
    return Path(out)
