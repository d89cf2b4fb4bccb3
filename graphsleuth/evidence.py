"""Read and validate a directory of evidence tables.

The evidence format is a directory of tables, each stored as ``NAME.csv``,
``NAME.csv.gz`` or ``NAME.parquet``:

========== ================================ =====================================
table      required columns                 optional columns
========== ================================ =====================================
accounts   account_id (unique)              created_at, email, country
payments   account_id, payment_id           kind, bin
ips        account_id, ip                   first_seen, last_seen, requests
prompts    account_id, template_id|prompt   ts, count (default 1)
links      account_id, kind, value          (none)
========== ================================ =====================================

Only ``accounts`` is required. Unknown extra columns are kept as properties.
Rows are numbered from 1 for the first data row (in a plain CSV file, row N
stands on line N + 1).

Strict mode (the default) stops at the first bad row with an
:class:`~graphsleuth.errors.InputError` that names file, row and column.
Lenient mode drops bad rows and keeps each one, with its reason, in
``Evidence.rejects`` so that nothing is dropped silently.
"""

from __future__ import annotations

import csv
import gzip
import io
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import InputError

__all__ = [
    "Evidence",
    "TableSpec",
    "TABLES",
    "read_evidence",
    "find_table",
    "REJECT_COLUMNS",
]

#: Longest value accepted in an identifier column (ids, ips, kinds, countries).
MAX_ID_CHARS = 2048
#: Longest value accepted in a free-text column (prompt text, emails, extras).
MAX_TEXT_CHARS = 200_000

REJECT_COLUMNS = ["file", "row", "column", "reason", "value"]

_KIND_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_IPV4 = r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"


@dataclass(frozen=True)
class TableSpec:
    """What one evidence table must and may hold.

    ``columns`` maps each known column to its kind: ``id`` (non-empty short
    text), ``text`` (any text, may be empty), ``time`` (ISO-8601, UTC),
    ``count`` (non-negative integer), ``ip`` (IPv4 or IPv6) or ``kind`` (a
    short identifier that names a kind of link).
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
        {"account_id": "id", "created_at": "time", "email": "text", "country": "text"},
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
        {"account_id": "id", "template_id": "text", "prompt": "text", "ts": "time", "count": "count"},
        one_of=("template_id", "prompt"),
        defaults={"count": 1},
    ),
    "links": TableSpec(
        "links",
        ("account_id", "kind", "value"),
        {"account_id": "id", "kind": "kind", "value": "id"},
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

    def table(self, name: str) -> pd.DataFrame:
        """The table called ``name`` (one of :data:`TABLES`)."""
        return getattr(self, name)

    @property
    def raw_prompts(self) -> bool:
        """True when prompts carry raw text that still needs templates derived."""
        p = self.prompts
        return "prompt" in p.columns and (
            "template_id" not in p.columns or bool(p["template_id"].isna().any())
        )


class _Problems:
    """Collects bad rows; in strict mode the first one found is raised."""

    def __init__(self, lenient: bool):
        self.lenient = lenient
        self.rows: list[dict] = []

    def report(self, file: str, rows: np.ndarray, column: str | None, reason: str, values) -> None:
        """Record bad rows (1-based numbers) or raise for the first of them."""
        if len(rows) == 0:
            return
        if not self.lenient:
            first = int(np.argmin(rows))
            value = _shorten(values[first]) if values is not None else None
            detail = f"{reason} (got {value!r})" if value is not None else reason
            raise InputError(file, detail, row=int(rows[first]), column=column) from None
        vals = [None] * len(rows) if values is None else [_shorten(v) for v in values]
        self.rows.extend(
            {"file": file, "row": int(r), "column": column, "reason": reason, "value": v}
            for r, v in zip(rows, vals)
        )

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=REJECT_COLUMNS)
        return frame.sort_values(["file", "row"], kind="stable").reset_index(drop=True)


def _shorten(value, limit: int = 60):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def find_table(directory: Path, name: str) -> Path | None:
    """The file that holds table ``name`` in ``directory``, or None.

    Raises :class:`InputError` when the table is stored twice (say as CSV and
    as Parquet), since reading either silently would be a guess.
    """
    found = [directory / f"{name}{ext}" for ext in (".csv", ".csv.gz", ".parquet")]
    found = [p for p in found if p.exists()]
    if len(found) > 1:
        raise InputError(str(found[0]), f"table {name} is stored more than once: " + ", ".join(p.name for p in found))
    return found[0] if found else None


def read_evidence(directory: str | Path, lenient: bool = False) -> Evidence:
    """Read, validate and return the evidence tables in ``directory``.

    Strict by default: the first bad row raises :class:`InputError` naming
    file, row and column. With ``lenient=True`` bad rows are dropped and listed
    in ``Evidence.rejects`` with their reasons.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "not a directory of evidence tables")
    problems = _Problems(lenient)
    files: dict[str, Path] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, spec in TABLES.items():
        path = find_table(directory, name)
        if path is None:
            if name == "accounts":
                raise InputError(
                    str(directory / "accounts.csv"),
                    "missing file: the accounts table is required (accounts.csv, accounts.csv.gz or accounts.parquet)",
                )
            frames[name] = _empty_frame(spec)
            continue
        files[name] = path
        raw = _read_table(path, spec, problems)
        frames[name] = _validate(raw, spec, path.name, problems)
    _check_accounts(frames, files, problems)
    prompt_rows = frames.pop("_prompt_rows", None)
    return Evidence(directory=directory, rejects=problems.frame(), files=files, prompt_rows=prompt_rows, **frames)


def _empty_frame(spec: TableSpec) -> pd.DataFrame:
    cols = {c: pd.Series([], dtype=_dtype(spec.columns[c])) for c in spec.required}
    return pd.DataFrame(cols)


def _dtype(kind: str):
    if kind == "time":
        return "datetime64[ns, UTC]"
    if kind == "count":
        return "int64"
    return "str"


# --- reading ------------------------------------------------------------------------------


def _read_table(path: Path, spec: TableSpec, problems: _Problems) -> pd.DataFrame:
    """Read one file with every column as text, plus a ``_row`` column of row numbers."""
    if path.name.endswith(".parquet"):
        frame = _read_parquet(path)
    else:
        frame = _read_csv(path, problems)
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise InputError(path.name, f"missing column {missing[0]} (the header has: {', '.join(c for c in frame.columns if c != '_row') or 'nothing'})", column=missing[0])
    if spec.one_of and not any(c in frame.columns for c in spec.one_of):
        raise InputError(path.name, f"missing column: needs {' or '.join(spec.one_of)}", column=spec.one_of[0])
    return frame


def _header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(1 << 20)
    except (OSError, EOFError) as exc:
        raise InputError(path.name, f"cannot read the file: {exc}") from None
    if not first.strip():
        raise InputError(path.name, "empty file: expected a header line naming the columns")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path.name, "the header is not UTF-8 text") from None
    names = next(csv.reader([text.rstrip("\r\n")]))
    names = [n.strip() for n in names]
    if "" in names:
        raise InputError(path.name, f"the header has an empty column name at position {names.index('') + 1}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(path.name, f"the header names column {dupes[0]} twice", column=dupes[0])
    if "_row" in names:
        raise InputError(path.name, "column name _row is reserved", column="_row")
    return names


def _read_csv(path: Path, problems: _Problems) -> pd.DataFrame:
    names = _header(path)
    bad_lines: list[tuple[int, str, int, int]] = []

    def on_bad_row(row):
        bad_lines.append((row.number or 0, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=64 << 20, column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise _explain_csv_failure(path, exc) from None
    if bad_lines:
        rows = np.array([ln - 1 for ln, *_ in bad_lines])
        reason = f"expected {bad_lines[0][2]} fields as in the header"
        problems.report(
            path.name,
            rows,
            None,
            reason if problems.lenient else f"{reason}, found {bad_lines[0][3]}",
            None,
        )
    frame = table.to_pandas()
    # Data rows are numbered from 1; rows skipped as malformed keep their numbers.
    frame["_row"] = _row_numbers(len(frame), sorted(r - 1 for r, *_ in bad_lines))
    return frame


def _row_numbers(n: int, skipped: list[int]) -> np.ndarray:
    if not skipped:
        return np.arange(1, n + 1)
    all_rows = np.arange(1, n + len(skipped) + 1)
    return np.setdiff1d(all_rows, np.array(skipped))[:n]


def _explain_csv_failure(path: Path, exc: Exception) -> InputError:
    """Turn a low-level CSV failure into a one-line error that names the row."""
    message = str(exc)
    if "UTF8" in message or "UTF-8" in message:
        row, column = _first_undecodable(path)
        return InputError(path.name, "bytes that are not UTF-8 text (binary data or another encoding)", row=row, column=column)
    if isinstance(exc, (OSError, EOFError)):
        return InputError(path.name, f"cannot read the file: {message.splitlines()[0]}")
    return InputError(path.name, f"not a readable CSV file: {message.splitlines()[0]}")


def _first_undecodable(path: Path) -> tuple[int | None, str | None]:
    """Find the first data row (and its column) that holds bytes that are not UTF-8."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        header = fh.readline().decode("utf-8-sig", errors="replace")
        names = next(csv.reader([header.rstrip("\r\n")]))
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                column_index = line[: err.start].count(b",")
                column = names[column_index] if column_index < len(names) else None
                return number, column
    return None, None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InputError(path.name, f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    columns = {}
    for name, column in zip(table.column_names, table.columns):
        if name == "_row":
            raise InputError(path.name, "column name _row is reserved", column="_row")
        if pa.types.is_timestamp(column.type):
            if column.type.tz is None:
                column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_nested(column.type) or pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            raise InputError(path.name, f"column has type {column.type}, expected text or numbers", column=name)
        elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            try:
                column = column.cast(pa.string())
            except pa.ArrowInvalid:
                raise InputError(path.name, f"column has type {column.type}, expected text or numbers", column=name) from None
        columns[name] = pc.fill_null(column, "")
    frame = pa.table(columns).to_pandas() if columns else pd.DataFrame()
    frame["_row"] = np.arange(1, len(frame) + 1)
    return frame


# --- validating ---------------------------------------------------------------------------


def _validate(frame: pd.DataFrame, spec: TableSpec, file: str, problems: _Problems) -> pd.DataFrame:
    """Check every known column of one table and convert it to its type."""
    if len(frame) == 0 and spec.name == "accounts":
        raise InputError(file, "no rows: the accounts table must list at least one account")
    keep = np.ones(len(frame), dtype=bool)
    rows = frame["_row"].to_numpy()
    out = {}
    for name in frame.columns:
        if name == "_row":
            continue
        values = frame[name]
        kind = spec.columns.get(name, "text")
        converted, bad, reason = _convert(values, kind, spec.defaults.get(name), required=name in spec.required)
        if bad is not None and bad.any():
            problems.report(file, rows[bad], name, reason, values.to_numpy()[bad])
            keep &= ~bad
        out[name] = converted
    if spec.one_of:
        present = [c for c in spec.one_of if c in out]
        empty = np.ones(len(frame), dtype=bool)
        for c in present:
            empty &= out[c].isna().to_numpy()
        if empty.any():
            problems.report(file, rows[empty & keep], present[0], f"needs a value in {' or '.join(present)}", None)
            keep &= ~empty
    result = pd.DataFrame(out, index=frame.index)
    result["_row"] = rows
    result = result[keep].reset_index(drop=True)
    for name, default in spec.defaults.items():
        if name not in result.columns:
            result[name] = np.full(len(result), default, dtype="int64")
    return result


def _convert(values: pd.Series, kind: str, default, required: bool):
    """Convert one text column to its kind; return (converted, bad mask, reason)."""
    text = values.astype("str")
    empty = (text.str.len() == 0).to_numpy()
    if kind in ("id", "kind"):
        stripped_empty = (text.str.strip().str.len() == 0).to_numpy()
        too_long = (text.str.len() > MAX_ID_CHARS).to_numpy()
        if kind == "kind":
            pattern_bad = ~text.str.match(_KIND_PATTERN).to_numpy(dtype=bool)
            return text, pattern_bad, "expected a kind name of letters, digits and _ starting with a letter (at most 40)"
        if stripped_empty.any():
            return text, stripped_empty, "empty value where an identifier is required"
        return text, too_long, f"value longer than {MAX_ID_CHARS} characters"
    if kind == "text":
        too_long = (text.str.len() > MAX_TEXT_CHARS).to_numpy()
        converted = text.where(~empty, other=None)
        return converted, too_long, f"value longer than {MAX_TEXT_CHARS} characters"
    if kind == "time":
        return _convert_time(text, empty, required)
    if kind == "count":
        numbers = pd.to_numeric(text.where(~empty, other=None), errors="coerce")
        numeric = numbers.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~empty & (np.isnan(numeric) | (numeric < 0) | (numeric != np.floor(numeric)) | (numeric > 2**53))
        if default is not None:
            filled = np.where(empty | bad, default, np.nan_to_num(numeric)).astype("int64")
            return pd.Series(filled, index=values.index), bad, "expected a whole number >= 0"
        converted = pd.array(np.where(bad | empty, 0, np.nan_to_num(numeric)).astype("int64"), dtype="Int64")
        converted[empty] = pd.NA
        return pd.Series(converted, index=values.index), bad, "expected a whole number >= 0"
    if kind == "ip":
        return _convert_ip(text, empty)
    raise ValueError(f"unknown column kind {kind}")  # a bug in TABLES, not bad input


def _convert_time(text: pd.Series, empty: np.ndarray, required: bool):
    """Parse ISO-8601 times to UTC; the common ``...Z`` form takes a fast path."""
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
    fast = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    parsed = pd.Series(fast.to_pandas(), index=text.index)
    parsed = parsed.dt.tz_localize("UTC") if parsed.dt.tz is None else parsed
    parsed = parsed.astype("datetime64[ns, UTC]")
    slow = parsed.isna().to_numpy() & ~empty
    if slow.any():
        again = pd.to_datetime(text[slow], utc=True, format="ISO8601", errors="coerce")
        parsed.loc[slow] = again.astype("datetime64[ns, UTC]")
    bad = parsed.isna().to_numpy() & ~empty
    reason = "expected an ISO-8601 time such as 2026-02-01T12:00:00Z"
    if required:
        bad |= empty
    return parsed, bad, reason


def _convert_ip(text: pd.Series, empty: np.ndarray):
    """Validate IPv4 and IPv6 addresses; IPv6 ones are written in canonical short form."""
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
    v4 = pc.match_substring_regex(arr, _IPV4).to_numpy(zero_copy_only=False)
    other = ~v4
    out = text.copy()
    bad = np.zeros(len(text), dtype=bool)
    if other.any():
        candidates = pd.unique(text[other])
        canonical = {}
        for value in candidates:  # only the non-IPv4 values, usually a small share
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                canonical[value] = None
            else:
                canonical[value] = str(address) if address.version == 6 else None
        mapped = text[other].map(canonical)
        bad[other] = mapped.isna().to_numpy()
        out.loc[other] = mapped.fillna("")
    return out, bad, "expected an IPv4 or IPv6 address"


def _check_accounts(frames: dict[str, pd.DataFrame], files: dict[str, Path], problems: _Problems) -> None:
    """Account ids are unique, and every other table names only known accounts."""
    accounts = frames["accounts"]
    file = files["accounts"].name
    dup = accounts["account_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        problems.report(file, accounts["_row"].to_numpy()[dup], "account_id", "duplicate account_id", accounts["account_id"].to_numpy()[dup])
        accounts = accounts[~dup].reset_index(drop=True)
    if len(accounts) == 0:
        raise InputError(file, "no valid rows: every account row was rejected")
    known = pd.Index(accounts["account_id"])
    frames["accounts"] = accounts.drop(columns="_row")
    for name in ("payments", "ips", "prompts", "links"):
        frame = frames[name]
        if "_row" not in frame.columns:
            continue
        unknown = ~frame["account_id"].isin(known).to_numpy()
        if unknown.any():
            problems.report(files[name].name, frame["_row"].to_numpy()[unknown], "account_id", "account_id not in the accounts table", frame["account_id"].to_numpy()[unknown])
            frame = frame[~unknown].reset_index(drop=True)
        if name == "prompts":
            frames["_prompt_rows"] = frame["_row"].to_numpy()
        frames[name] = frame.drop(columns="_row")
