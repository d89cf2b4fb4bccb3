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
import ipaddress
import re
import socket
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
    "arrow_text",
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
            found = _account_positions(self.table(name)["account_id"], ids)
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
        return "prompt" in p.columns and (
            "template_id" not in p.columns or bool(p["template_id"].isna().any())
        )


class _Problems:
    """Collects bad rows.

    Lenient mode keeps every one (one entry per row: its first problem). Strict
    mode keeps the earliest bad row of each report, and :meth:`check` raises
    the earliest of them all, so the error names the first bad row of a table
    whatever column it is in.
    """

    def __init__(self, lenient: bool):
        self.lenient = lenient
        self.rows: list[dict] = []
        self._first: tuple[int, InputError] | None = None

    def report(self, file: str, rows: np.ndarray, column: str | None, reason: str, values, details=None) -> None:
        """Record bad rows (1-based numbers); ``details`` optionally gives a longer strict-mode reason per row."""
        if len(rows) == 0:
            return
        if not self.lenient:
            first = int(np.argmin(rows))
            value = _shorten(values[first]) if values is not None else None
            why = details[first] if details is not None else reason
            detail = f"{why} (got {value!r})" if value is not None else why
            if self._first is None or int(rows[first]) < self._first[0]:
                self._first = (int(rows[first]), InputError(file, detail, row=int(rows[first]), column=column))
            return
        vals = [None] * len(rows) if values is None else [_shorten(v) for v in values]
        reasons = [reason] * len(rows) if details is None else list(details)
        self.rows.extend(
            {"file": file, "row": int(r), "column": column, "reason": why, "value": v}
            for r, v, why in zip(rows, vals, reasons)
        )

    def merge(self, other: "_Problems") -> None:
        """Take over the bad rows another collector found (one table's, read apart)."""
        self.rows.extend(other.rows)
        if other._first is not None and (self._first is None or other._first[0] < self._first[0]):
            self._first = other._first

    def check(self) -> None:
        """Strict mode: raise the error of the earliest bad row reported since the last check."""
        if self._first is not None:
            error, self._first = self._first[1], None
            raise error

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
    files = {name: path for name in TABLES if (path := find_table(directory, name)) is not None}
    if "accounts" not in files:
        raise InputError(
            str(directory / "accounts.csv"),
            "missing file: the accounts table is required (accounts.csv, accounts.csv.gz or accounts.parquet)",
        )
    problems = _Problems(lenient)
    frames = _read_tables(files, lenient, problems)
    positions = _check_accounts(frames, files, problems)
    prompt_rows = frames.pop("_prompt_rows", None)
    evidence = Evidence(directory=directory, rejects=problems.frame(), files=files, prompt_rows=prompt_rows, **frames)
    for name, found in positions.items():
        evidence.keep_account_positions(name, found)
    return evidence


#: Tables read at once. Arrow's CSV parser and compute kernels release the GIL, so two
#: tables read side by side take the time of the larger (5.9 s → 2.9 s at 1M accounts).
_READERS = 2


def _read_tables(files: dict[str, Path], lenient: bool, problems: _Problems) -> dict[str, pd.DataFrame]:
    """Read and validate every table, the largest files first, and report them in table order.

    Each table collects its own bad rows; they are merged in the order of
    :data:`TABLES`, so strict mode names the same first bad row as reading the
    tables one by one would.
    """
    by_size = sorted(files, key=lambda name: -files[name].stat().st_size)
    frames = {name: _empty_frame(spec) for name, spec in TABLES.items() if name not in files}
    with _reading_settings(), ThreadPoolExecutor(_READERS, thread_name_prefix="graphsleuth-read") as pool:
        pending = {name: pool.submit(_read_and_validate, files[name], TABLES[name], lenient) for name in by_size}
        try:
            for name in TABLES:
                if name in pending:
                    frames[name], found = pending[name].result()
                    problems.merge(found)
                    problems.check()
        except BaseException:
            for future in pending.values():
                future.cancel()
            raise
    return frames


def _read_and_validate(path: Path, spec: TableSpec, lenient: bool) -> tuple[pd.DataFrame, _Problems]:
    """One table, read and validated, with the bad rows it holds."""
    problems = _Problems(lenient)
    raw = _read_table(path, spec, problems)
    return _validate(raw, spec, path.name, problems), problems


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


#: The longest header field: the csv module's default field size limit.
_HEADER_FIELD_LIMIT = 131072


def _header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(path.name, f"cannot read the file: {_first_line(exc)}") from None
    if not first.strip():
        raise InputError(path.name, "empty file: expected a header line naming the columns")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path.name, "the header is not UTF-8 text") from None
    text = text.rstrip("\r\n")
    if "\r" in text:
        raise InputError(path.name, "lines end with a bare carriage return (\\r); expected \\n or \\r\\n line ends")
    try:
        names = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as exc:
        raise InputError(path.name, f"the header is not a valid CSV line: {_first_line(exc)}") from None
    if any(len(n) > _HEADER_FIELD_LIMIT for n in names):
        # The csv module's own limit is raised while tables are read (_reading_settings); a header keeps the default.
        raise InputError(path.name, f"the header is not a valid CSV line: field larger than field limit ({_HEADER_FIELD_LIMIT})")
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
            # Quoted values may hold line breaks (raw prompts do); reading is single-threaded, so this costs little.
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(
                # Read as bytes and decode below, so that a row with bytes that are not UTF-8 is one bad row.
                column_types={n: pa.binary() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, EOFError, zlib.error) as exc:
        raise _explain_csv_failure(path, exc) from None
    if bad_lines:
        rows = np.array([ln - 1 for ln, *_ in bad_lines])
        reason = f"expected {bad_lines[0][2]} fields as in the header"
        details = [f"expected {expected} fields as in the header, found {actual}" for _, _, expected, actual in bad_lines]
        problems.report(path.name, rows, None, reason, None, details=details)
    # Data rows are numbered from 1; rows skipped as malformed keep their numbers.
    row_numbers = _row_numbers(table.num_rows, sorted(r - 1 for r, *_ in bad_lines))
    table, undecodable = _decode_utf8(table, path.name, row_numbers, problems)
    _check_closing_quote(path, table, len(bad_lines))
    frame = table.to_pandas()
    frame["_row"] = row_numbers
    if undecodable.any():
        frame = frame[~undecodable].reset_index(drop=True)
    return frame


def _decode_utf8(table: pa.Table, file: str, rows: np.ndarray, problems: _Problems) -> tuple[pa.Table, np.ndarray]:
    """The byte columns of ``table`` as text; rows holding bytes that are not UTF-8 are reported (and masked)."""
    bad_rows = np.zeros(table.num_rows, dtype=bool)
    columns = []
    for name, column in zip(table.column_names, table.columns):
        try:
            columns.append(column.cast(pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        values = column.to_pylist()
        bad = np.zeros(len(values), dtype=bool)
        decoded = []
        for i, value in enumerate(values):
            try:
                decoded.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                bad[i] = True
                decoded.append("")
        new = bad & ~bad_rows
        problems.report(file, rows[new], name, "bytes that are not UTF-8 text (binary data or another encoding)", None)
        bad_rows |= bad
        columns.append(pa.array(decoded, type=pa.string()))
    return pa.table(dict(zip(table.column_names, columns))), bad_rows


def _check_closing_quote(path: Path, table: pa.Table, skipped: int) -> None:
    """Refuse a file whose last quoted value is never closed.

    The CSV reader takes everything from an unclosed quote to the end of the
    file as one value, which would silently swallow the rows after it. That
    can only happen when the last row's value holds a line break or the file
    does not end with one; only then is the file scanned again to be sure.
    """
    if table.num_rows == 0:
        return
    suspicious = any(
        pc.any(pc.match_substring_regex(column.slice(table.num_rows - 1), r"[\r\n]")).as_py()
        for column in table.columns
    )
    if not suspicious and not path.name.endswith(".gz"):
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            if fh.tell() > 0:
                fh.seek(-1, 2)
                suspicious = fh.read(1) not in (b"\n", b"\r")
    if not suspicious:
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    records = 0
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            for records, _ in enumerate(reader, start=1):
                pass
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return  # something the CSV reader above judged differently; not an open quote
            names = table.column_names
            last = [n for n, c in zip(names, table.columns) if pc.any(pc.match_substring_regex(c.slice(table.num_rows - 1), r"[\r\n]")).as_py()]
            raise InputError(
                path.name,
                "a quoted value is never closed: it runs to the end of the file (a missing \" ?)",
                row=records,
                column=last[-1] if last else names[-1],
            ) from None


@contextmanager
def _reading_settings():
    """Process-wide settings the readers need, set once around all of them (they run in threads).

    - pyarrow cannot hand a malformed row that is not UTF-8 to the
      invalid-row handler (it decodes the row's text first): it prints the
      decoding error as an "Exception ignored" report and then fails the read
      with "Row #N: Expected ...", which :func:`_explain_csv_failure` turns
      into a one-line error naming the row. That report is silenced; other
      unraisable exceptions pass through.
    - :func:`_check_closing_quote` re-reads a suspicious file with the csv
      module, whose field size limit must allow a whole file in one value.
    """
    previous_hook = sys.unraisablehook
    previous_limit = csv.field_size_limit()

    def hook(info):
        if not isinstance(info.exc_value, UnicodeDecodeError):
            previous_hook(info)

    sys.unraisablehook = hook
    csv.field_size_limit(max(previous_limit, 1 << 30))
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        csv.field_size_limit(previous_limit)


def _row_numbers(n: int, skipped: list[int]) -> np.ndarray:
    if not skipped:
        return np.arange(1, n + 1)
    all_rows = np.arange(1, n + len(skipped) + 1)
    return np.setdiff1d(all_rows, np.array(skipped))[:n]


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _explain_csv_failure(path: Path, exc: Exception) -> InputError:
    """Turn a low-level CSV failure into a one-line error that names the row."""
    message = str(exc)
    if "UTF8" in message or "UTF-8" in message:
        try:
            row, column = _first_undecodable(path)
        except (OSError, EOFError, zlib.error):
            row, column = None, None
        return InputError(path.name, "bytes that are not UTF-8 text (binary data or another encoding)", row=row, column=column)
    if isinstance(exc, (OSError, EOFError, zlib.error)) and not isinstance(exc, pa.ArrowException):
        return InputError(path.name, f"cannot read the file: {_first_line(exc)}")
    malformed = re.search(r"Row #(\d+): Expected (\d+) columns, got (\d+)", message)
    if malformed:
        row, expected, found = (int(g) for g in malformed.groups())
        return InputError(path.name, f"expected {expected} fields as in the header, found {found} (in a row that is not UTF-8 text either)", row=row - 1)
    if path.name.endswith(".gz") and any(w in message.lower() for w in ("gzip", "compress", "inflate", "zlib")):
        return InputError(path.name, f"cannot read the file: damaged gzip data: {_first_line(exc)}")
    return InputError(path.name, f"not a readable CSV file: {_first_line(exc)}")


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
        raise InputError(path.name, f"not a readable Parquet file: {_first_line(exc)}") from None
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
            except pa.ArrowException:
                raise InputError(path.name, f"column has type {column.type}, expected text or numbers", column=name) from None
        columns[name] = pc.fill_null(column, "")
    frame = pa.table(columns).to_pandas() if columns else pd.DataFrame()
    frame["_row"] = np.arange(1, len(frame) + 1)
    return frame


# --- validating ---------------------------------------------------------------------------


def _validate(frame: pd.DataFrame, spec: TableSpec, file: str, problems: _Problems) -> pd.DataFrame:
    """Check every known column of one table and convert it to its type."""
    if len(frame) == 0 and spec.name == "accounts":
        problems.check()  # every row was malformed: name the first
        if any(r["file"] == file for r in problems.rows):
            raise InputError(file, "no valid rows: every account row was rejected")
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
        for mask, why in bad if isinstance(bad, list) else [(bad, reason)]:
            if mask is not None and mask.any():
                mask = mask & keep  # a row is rejected once, for the first problem found in it
                problems.report(file, rows[mask], name, why, values.to_numpy()[mask])
                keep &= ~mask
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
    """Convert one text column to its kind; return (converted, bad mask, reason) or (converted, [(mask, reason), ...], None)."""
    text = values.astype("str")
    empty = (text.str.len() == 0).to_numpy()
    if kind in ("id", "kind"):
        stripped_empty = (text.str.strip().str.len() == 0).to_numpy()
        too_long = (text.str.len() > MAX_ID_CHARS).to_numpy()
        if kind == "kind":
            pattern_bad = ~text.str.match(_KIND_PATTERN).to_numpy(dtype=bool)
            return text, pattern_bad, "expected a kind name of letters, digits and _ starting with a letter (at most 40)"
        return text, [(stripped_empty, "empty value where an identifier is required"),
                      (too_long, f"value longer than {MAX_ID_CHARS} characters")], None
    if kind == "text":
        too_long = (text.str.len() > MAX_TEXT_CHARS).to_numpy()
        converted = text.where(~empty, other=None)
        return converted, too_long, f"value longer than {MAX_TEXT_CHARS} characters"
    if kind == "time":
        return _convert_time(text, empty, required)
    if kind == "count":
        numeric = _whole_numbers(text, empty)
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


def _whole_numbers(text: pd.Series, empty: np.ndarray) -> np.ndarray:
    """The column as float64 (NaN where it is not a number); a column of plain integers is cast by Arrow at once."""
    if not empty.any():
        try:
            return pc.cast(pa.array(text), pa.int64()).to_numpy().astype("float64")
        except pa.ArrowInvalid:
            pass  # some value is not a plain integer: judge each one below
    numbers = pd.to_numeric(text.where(~empty, other=None), errors="coerce")
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def _convert_time(text: pd.Series, empty: np.ndarray, required: bool):
    """Parse ISO-8601 times to UTC; the common ``YYYY-MM-DDTHH:MM:SSZ`` form takes a fast path."""
    seconds, fast = _iso_z_seconds(pa.array(text))
    stamps = np.where(fast, seconds, 0).astype("datetime64[s]").astype("datetime64[ns]")
    stamps[~fast] = np.datetime64("NaT")
    parsed = pd.Series(stamps, index=text.index).dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
    slow = ~fast & ~empty
    if slow.any():
        again = pd.to_datetime(text[slow], utc=True, format="ISO8601", errors="coerce")
        again = again.where((again >= _MIN_TIME) & (again <= _MAX_TIME))
        # pandas reads "now" and "today" as the current time: evidence must not change with the clock.
        again = again.where(~text[slow].str.strip().str.lower().isin(["now", "today"]))
        parsed.loc[slow] = again.astype("datetime64[ns, UTC]")
    bad = parsed.isna().to_numpy() & ~empty
    reason = "expected an ISO-8601 time such as 2026-02-01T12:00:00Z (years 1678 to 2261)"
    if required:
        bad |= empty
    return parsed, bad, reason


#: Byte positions of the digits and separators in ``YYYY-MM-DDTHH:MM:SSZ``.
_ISO_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_ISO_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":"), 19: ord("Z")}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_ISO_CHUNK = 1 << 20


def _iso_z_seconds(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of the values written exactly ``YYYY-MM-DDTHH:MM:SSZ``, and a mask of which are.

    Works on the Arrow string buffers with numpy (tens of millions of times per
    run). A value passes only if it is a real date and time in years 1678 to
    2261, so impossible dates (Feb 30, 24:00, second 60) go to the slow path and
    are judged there.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.large_string())
    n = len(values)
    seconds = np.zeros(n, dtype=np.int64)
    passes = np.zeros(n, dtype=bool)
    if n == 0 or values.buffers()[2] is None:
        return seconds, passes
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset : values.offset + n + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    rows = np.flatnonzero((np.diff(offsets) == 20) & values.is_valid().to_numpy(zero_copy_only=False))
    for start in range(0, len(rows), _ISO_CHUNK):
        chunk = rows[start : start + _ISO_CHUNK]
        first = offsets[chunk]
        if first[-1] - first[0] == 20 * (len(chunk) - 1):  # rows stored back to back: a plain slice
            text = data[first[0] : first[0] + 20 * len(chunk)].reshape(-1, 20)
        else:
            text = data[first[:, None] + np.arange(20)]
        chunk_seconds, chunk_passes = _iso_z_fields(text)
        seconds[chunk] = chunk_seconds
        passes[chunk] = chunk_passes
    return seconds, passes


def _iso_z_fields(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds and validity of rows of 20 bytes, each meant to read ``YYYY-MM-DDTHH:MM:SSZ``."""
    digits = text[:, _ISO_DIGITS] - np.uint8(ord("0"))  # bytes below "0" wrap round to large values
    ok = (digits <= 9).all(axis=1)
    digits = digits.astype(np.int32)
    for position, byte in _ISO_SEPARATORS.items():
        ok &= text[:, position] == byte
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day, hour, minute, second = (digits[:, i] * 10 + digits[:, i + 1] for i in (4, 6, 8, 10, 12))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59) & (year >= _MIN_TIME.year) & (year <= _MAX_TIME.year)
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = (era * 146097 + day_of_era - 719468).astype(np.int64)
    return days * 86400 + hour * 3600 + minute * 60 + second, ok


_MIN_TIME = pd.Timestamp("1678-01-01T00:00:00Z")
_MAX_TIME = pd.Timestamp("2261-12-31T23:59:59Z")


def _convert_ip(text: pd.Series, empty: np.ndarray):
    """Validate IPv4 and IPv6 addresses; IPv6 ones are written in canonical short form."""
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
    v4 = pc.match_substring_regex(arr, _IPV4).to_numpy(zero_copy_only=False)
    other = ~v4
    out = text.copy()
    bad = np.zeros(len(text), dtype=bool)
    if other.any():
        candidates = pd.unique(text[other])
        canonical = {value: _canonical_ipv6(value) for value in candidates}  # only the non-IPv4 values, a small share
        mapped = text[other].map(canonical)
        bad[other] = mapped.isna().to_numpy()
        out.loc[other] = mapped.fillna("")
    return out, bad, "expected an IPv4 or IPv6 address"


def _canonical_ipv6(value: str) -> str | None:
    """``value`` as an IPv6 address in canonical short form, or None if it is not one.

    The C inet_pton/inet_ntop pair gives the same text as :mod:`ipaddress` four
    times faster; the forms where they differ (scope ids, embedded IPv4) are left
    to :mod:`ipaddress`.
    """
    try:
        short = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
    except (OSError, ValueError):
        short = None
    if short is not None and "." not in short:
        return short
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return str(address) if address.version == 6 else None


def _check_accounts(frames: dict[str, pd.DataFrame], files: dict[str, Path], problems: _Problems) -> dict[str, np.ndarray]:
    """Account ids are unique, and every other table names only known accounts.

    Returns, for each table read, the position of each row's account in the
    accounts table: the lookup that finds unknown accounts finds them too.
    """
    accounts = frames["accounts"]
    file = files["accounts"].name
    dup = accounts["account_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        problems.report(file, accounts["_row"].to_numpy()[dup], "account_id", "duplicate account_id", accounts["account_id"].to_numpy()[dup])
        accounts = accounts[~dup].reset_index(drop=True)
    problems.check()
    if len(accounts) == 0:
        raise InputError(file, "no valid rows: every account row was rejected")
    ids = arrow_text(accounts["account_id"])
    frames["accounts"] = accounts.drop(columns="_row")
    positions = {}
    for name in ("payments", "ips", "prompts", "links"):
        frame = frames[name]
        if "_row" not in frame.columns:
            continue
        found = _account_positions(frame["account_id"], ids)
        unknown = found < 0
        if unknown.any():
            problems.report(files[name].name, frame["_row"].to_numpy()[unknown], "account_id", "account_id not in the accounts table", frame["account_id"].to_numpy()[unknown])
            frame, found = frame[~unknown].reset_index(drop=True), found[~unknown]
            problems.check()
        if name == "prompts":
            frames["_prompt_rows"] = frame["_row"].to_numpy()
        frames[name] = frame.drop(columns="_row")
        positions[name] = found
    return positions


def _account_positions(account_ids: pd.Series, ids: pa.Array) -> np.ndarray:
    """Position of each of ``account_ids`` among ``ids`` (-1: not there), by Arrow's hash (4x pandas')."""
    found = pc.index_in(arrow_text(account_ids), value_set=ids)
    return found.fill_null(-1).to_numpy().astype(np.int64)


def arrow_text(values: pd.Series) -> pa.Array:
    """A text column as an Arrow string array, for Arrow's hash lookups and string kernels."""
    return pa.array(values.astype("str"))
