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

__all__ = ["write_findings", "neutralise_formulas", "pseudonymise_findings", "pseudonymise_rejects", "pseudonym_key", "PSEUDONYM_KEY_VARIABLE"]

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
        frame.to_json(stem.with_suffix(".jsonl"), orient="records", lines=True, force_ascii=False, double_precision=15)


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


#: Evidence groups of a ring record that hold no personal data (issuer BINs, prompt templates);
#: every other group (cards, ips, subnets and each link kind: device, phone, email, ...) is pseudonymised.
_NOT_PERSONAL = frozenset({"bins", "templates"})
_KIND_OF_GROUP = {"cards": "card", "ips": "ip", "subnets": "subnet"}
#: Input columns whose values in rejects.csv are not personal data and stay readable.
_PLAIN_REJECT_COLUMNS = frozenset({
    "account_id", "template_id", "kind", "created_at", "first_seen", "last_seen", "ts", "requests", "count", "country", "bin",
})


def pseudonym_key(key: bytes | str | None = None) -> bytes:
    """The pseudonymisation key: ``key`` if given, else GRAPHSLEUTH_PSEUDONYM_KEY; one-line error when neither."""
    if key is None:
        key = os.environ.get(PSEUDONYM_KEY_VARIABLE, "")
        if not key:
            raise GraphsleuthError(f"--pseudonymise needs a key in the environment variable {PSEUDONYM_KEY_VARIABLE}")
    return key.encode() if isinstance(key, str) else bytes(key)


def pseudonymise_findings(findings: Findings, key: bytes | None = None) -> Findings:
    """Replace payment ids, IPs, subnets and link values (devices, phones, emails, ...) in ring records with keyed hashes.

    The key comes from ``GRAPHSLEUTH_PSEUDONYM_KEY`` unless given; the same key
    gives the same pseudonyms, so partners can match rings without seeing
    personal data. BINs and prompt template ids are kept; account ids are not
    personal data here and are kept too.
    """
    key = pseudonym_key(key)
    rings = []
    for ring in findings.rings:
        ring = json.loads(json.dumps(ring, default=_plain))
        evidence = ring.get("evidence")
        for name, group in (evidence.items() if isinstance(evidence, dict) else ()):
            if name in _NOT_PERSONAL or not isinstance(group, dict):
                continue
            kind = _KIND_OF_GROUP.get(name, name)
            for item in group.get("top", []) or []:
                if isinstance(item, dict) and item.get("value") is not None:
                    item["value"] = _pseudonym(key, str(item["value"]), kind)
        rings.append(ring)
    return Findings(findings.members, rings, findings.clusters, findings.run_id, findings.algorithm, findings.seed, dict(findings.stats))


def pseudonymise_rejects(rejects: pd.DataFrame, key: bytes | None = None) -> pd.DataFrame:
    """rejects (file, row, column, reason, value) with the values of personal columns (emails, IPs, ...) hashed."""
    key = pseudonym_key(key)
    out = rejects.copy()
    if len(out) == 0:
        return out
    out["value"] = [
        value if value is None or (isinstance(value, float) and np.isnan(value)) or column in _PLAIN_REJECT_COLUMNS
        else _pseudonym(key, str(value), str(column))
        for column, value in zip(out["column"], out["value"])
    ]
    return out


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
