"""Keyed pseudonyms in place of personal data (card fingerprints, IPs, devices, phones, e-mails).

The same key gives the same pseudonyms, so partners who share a key can match
rings and indicators without seeing each other's personal data. BINs and prompt
template ids are not personal data and are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import replace

import numpy as np
import pandas as pd

from ..detection.findings import Findings
from ..errors import GraphsleuthError

__all__ = ["pseudonym", "pseudonym_key", "pseudonymise_findings", "pseudonymise_rejects", "PSEUDONYM_KEY_VARIABLE"]

PSEUDONYM_KEY_VARIABLE = "GRAPHSLEUTH_PSEUDONYM_KEY"


def pseudonym(key: bytes, value: str, kind: str) -> str:
    """The keyed pseudonym of ``value`` as evidence of ``kind``: the same key and value, the same pseudonym."""
    return f"{kind}_" + hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:16]


#: Evidence groups of a ring record that hold no personal data (issuer BINs, prompt templates);
#: every other group (cards, ips, subnets and each link kind: device, phone, email, ...) is pseudonymised.
_NOT_PERSONAL = frozenset({"bins", "templates"})
_KIND_OF_GROUP = {"cards": "card", "ips": "ip", "subnets": "subnet"}
#: Input columns whose values in rejects.csv are not personal data and stay readable.
_PLAIN_REJECT_COLUMNS = frozenset(
    {
        "account_id",
        "template_id",
        "kind",
        "created_at",
        "first_seen",
        "last_seen",
        "ts",
        "requests",
        "count",
        "country",
        "bin",
    }
)


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

    def hidden(name: str, group):
        if name in _NOT_PERSONAL:
            return group
        kind = _KIND_OF_GROUP.get(name, name)
        return group.with_values(lambda value: pseudonym(key, value, kind))

    rings = [replace(ring, evidence={name: hidden(name, group) for name, group in ring.evidence.items()}) for ring in findings.rings]
    return replace(findings, rings=rings)


def pseudonymise_rejects(rejects: pd.DataFrame, key: bytes | None = None) -> pd.DataFrame:
    """rejects (file, row, column, reason, value) with the values of personal columns (emails, IPs, ...) hashed."""
    key = pseudonym_key(key)
    out = rejects.copy()
    if len(out) == 0:
        return out
    out["value"] = [
        value
        if value is None or (isinstance(value, float) and np.isnan(value)) or column in _PLAIN_REJECT_COLUMNS
        else pseudonym(key, str(value), str(column))
        for column, value in zip(out["column"], out["value"])
    ]
    return out
