"""Read and validate a directory of evidence tables.

The evidence format is a directory of tables, each stored as ``NAME.csv``,
``NAME.csv.gz`` or ``NAME.parquet``:

========== ================================ =====================================
table      required columns                 optional columns
========== ================================ =====================================
accounts   account_id (unique)              created_at, email, country
payments   account_id, payment_id           kind, bin
ips        account_id, ip                   first_seen, last_seen, requests
prompts    account_id, template_id|prompt   ts, count (default 1), last_ts, hours
links      account_id, kind, value          (none)
lockstep   account_id, template_id, hour    lift, requests, accounts, expected
========== ================================ =====================================

``lockstep`` is written by ``graphsleuth ingest`` from request logs: which
accounts sent which template in the same hour far above chance, from the
requests' own times. When it is there, detection takes its lockstep tokens
from it, and counts each account's template-hours from ``prompts.hours``.

Only ``accounts`` is required. Unknown extra columns are kept as properties.
Rows are numbered from 1 for the first data row (in a plain CSV file, row N
stands on line N + 1).

Strict mode (the default) stops at the first bad row with an
:class:`~graphsleuth.errors.InputError` that names file, row and column.
Lenient mode drops bad rows and keeps each one, with its reason, in
``Evidence.rejects`` so that nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Evidence", "TableSpec", "TABLES", "REJECT_COLUMNS", "MAX_ID_CHARS", "MAX_TEXT_CHARS", "arrow_text", "account_positions"]

#: Longest value accepted in an identifier column (ids, ips, kinds, countries).
MAX_ID_CHARS = 2048
#: Longest value accepted in a free-text column (prompt text, emails, extras).
MAX_TEXT_CHARS = 200_000

REJECT_COLUMNS = ["file", "row", "column", "reason", "value"]


@dataclass(frozen=True)
class TableSpec:
    """What one evidence table must and may hold.

    ``columns`` maps each known column to its kind: ``id`` (non-empty short
    text), ``text`` (any text, may be empty), ``time`` (ISO-8601, UTC),
    ``count`` (non-negative integer), ``number`` (non-negative real number),
    ``ip`` (IPv4 or IPv6) or ``kind`` (a short identifier that names a kind of link).
    """

    name: str
    required: tuple[str, ...]
    columns: dict[str, str]
    one_of: tuple[str, ...] = ()
    defaults: dict[str, int] = field(default_factory=dict)


TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(
        "accounts",
        ("account_id",),
        {
            "account_id": "id",
            "created_at": "time",
            "email": "text",
            "country": "text",
            "first_seen": "time",
            "last_seen": "time",
            "requests": "count",
        },
    ),
    "payments": TableSpec(
        "payments",
        ("account_id", "payment_id"),
        {"account_id": "id", "payment_id": "id", "kind": "text", "bin": "text"},
    ),
    "ips": TableSpec(
        "ips",
        ("account_id", "ip"),
        {
            "account_id": "id",
            "ip": "ip",
            "first_seen": "time",
            "last_seen": "time",
            "requests": "count",
        },
    ),
    "prompts": TableSpec(
        "prompts",
        ("account_id",),
        {
            "account_id": "id",
            "template_id": "text",
            "prompt": "text",
            "ts": "time",
            "count": "count",
            "last_ts": "time",
            "hours": "count",
        },
        one_of=("template_id", "prompt"),
        defaults={"count": 1},
    ),
    "links": TableSpec(
        "links",
        ("account_id", "kind", "value"),
        {"account_id": "id", "kind": "kind", "value": "id"},
    ),
    "lockstep": TableSpec(
        "lockstep",
        ("account_id", "template_id", "hour"),
        {
            "account_id": "id",
            "template_id": "id",
            "hour": "time",
            "lift": "number",
            "requests": "count",
            "accounts": "count",
            "expected": "number",
        },
    ),
}


@dataclass
class Evidence:
    """The validated evidence tables of one directory, as pandas DataFrames.

    Every table is present (empty with its required columns when its file is
    absent). Times are ``datetime64[ns, UTC]``; counts are ``int64``; missing
    optional values are NA. ``rejects`` lists the rows dropped in lenient mode.
    """

    directory: Path
    accounts: pd.DataFrame
    payments: pd.DataFrame
    ips: pd.DataFrame
    prompts: pd.DataFrame
    links: pd.DataFrame
    rejects: pd.DataFrame
    files: dict[str, Path]
    derived_templates: bool = False
    prompt_rows: np.ndarray | None = None
    #: Request-level lockstep (from ``graphsleuth ingest``); None when the evidence has no such table.
    lockstep: pd.DataFrame | None = None
    _positions: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def table(self, name: str) -> pd.DataFrame:
        """The table called ``name`` (one of :data:`TABLES`)."""
        return getattr(self, name)

    def account_positions(self, name: str) -> np.ndarray:
        """For each row of table ``name``, the position of its account in ``accounts`` (-1: unknown).

        A hash lookup of millions of ids, so it is done once per table and kept
        (until the table or the accounts table is replaced). Reading the
        evidence finds them while it checks the tables' accounts.
        """
        found = self._positions.get(self._positions_key(name))
        if found is None:
            ids = arrow_text(self.accounts["account_id"])
            found = account_positions(self.table(name)["account_id"], ids)
            self.keep_account_positions(name, found)
        return found

    def keep_account_positions(self, name: str, positions: np.ndarray) -> None:
        """Remember the account positions of table ``name``'s rows, found while reading it."""
        for old in [k for k in list(self._positions) if k[0] == name]:
            self._positions.pop(old, None)
        self._positions[self._positions_key(name)] = positions

    def _positions_key(self, name: str) -> tuple:
        frame = self.table(name)
        return (name, id(frame), len(frame), id(self.accounts), len(self.accounts))

    @property
    def raw_prompts(self) -> bool:
        """True when prompts carry raw text that still needs templates derived."""
        p = self.prompts
        return "prompt" in p.columns and ("template_id" not in p.columns or bool(p["template_id"].isna().any()))


def account_positions(account_ids: pd.Series, ids: pa.Array) -> np.ndarray:
    """Position of each of ``account_ids`` among ``ids`` (-1: not there), by Arrow's hash (4x pandas')."""
    found = pc.index_in(arrow_text(account_ids), value_set=ids)
    return found.fill_null(-1).to_numpy().astype(np.int64)


def arrow_text(values: pd.Series) -> pa.Array:
    """A text column as an Arrow string array, for Arrow's hash lookups and string kernels."""
    return pa.array(values.astype("str"))
