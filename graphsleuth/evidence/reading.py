"""Reading an evidence directory: finding its tables, parsing CSV and Parquet, checking accounts."""

from __future__ import annotations

import csv
import gzip
import re
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from .bad_rows import BadRows
from .tables import TABLES, Evidence, TableSpec, account_positions, arrow_text
from .values import validate_table

__all__ = ["read_evidence", "find_table", "read_table", "evidence_from_text"]


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
    problems = BadRows(lenient)
    frames = _read_tables(files, lenient, problems)
    positions = _check_accounts(frames, files, problems)
    prompt_rows = frames.pop("_prompt_rows", None)
    evidence = Evidence(directory=directory, rejects=problems.frame(), files=files, prompt_rows=prompt_rows, **frames)
    if "lockstep" not in files:
        evidence.lockstep = None
    for name, found in positions.items():
        evidence.keep_account_positions(name, found)
    return evidence


def evidence_from_text(tables: dict[str, pd.DataFrame], files: dict[str, str], where: str, lenient: bool = False) -> Evidence:
    """Evidence from tables another reader read, every column as text (empty text for a missing value), in file order.

    The checks are :func:`read_evidence`'s: required columns, every value, unique accounts,
    no unknown account; errors name ``files[name]`` (the file's name or URI), row and column.
    The Spark engine reads tables from any URI Spark reads and hands them over here.
    """
    if "accounts" not in tables:
        raise InputError(
            f"{where}/accounts.csv", "missing file: the accounts table is required (accounts.csv, accounts.csv.gz or accounts.parquet)"
        )
    problems = BadRows(lenient)
    frames = {name: _empty_frame(spec) for name, spec in TABLES.items() if name not in tables}
    for name, spec in TABLES.items():
        if name not in tables:
            continue
        frame = tables[name].copy()
        file = Path(files[name]).name
        missing = [c for c in spec.required if c not in frame.columns]
        if missing:
            raise InputError(
                file, f"missing column {missing[0]} (the header has: {', '.join(frame.columns) or 'nothing'})", column=missing[0]
            )
        if spec.one_of and not any(c in frame.columns for c in spec.one_of):
            raise InputError(file, f"missing column: needs {' or '.join(spec.one_of)}", column=spec.one_of[0])
        frame["_row"] = np.arange(1, len(frame) + 1)
        found = BadRows(lenient)
        frames[name] = validate_table(frame, spec, file, found)
        problems.merge(found)
        problems.check()
    paths = {name: Path(files[name]) for name in tables}
    positions = _check_accounts(frames, paths, problems)
    prompt_rows = frames.pop("_prompt_rows", None)
    evidence = Evidence(directory=Path(where), rejects=problems.frame(), files=paths, prompt_rows=prompt_rows, **frames)
    if "lockstep" not in tables:
        evidence.lockstep = None
    for name, found_positions in positions.items():
        evidence.keep_account_positions(name, found_positions)
    return evidence


def read_table(path: str | Path, name: str, lenient: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One table ``name`` of the evidence format read alone from ``path`` (CSV, gzipped CSV or Parquet), checked.

    Returns the table and its rejects (lenient); strict mode raises the first bad row.
    Ingest reads the side tables that come beside request logs with it.
    """
    path = Path(path)
    with _reading_settings():
        frame, problems = _read_and_validate(path, TABLES[name], lenient)
    problems.check()
    return frame.drop(columns="_row"), problems.frame()


#: Tables read at once. Arrow's CSV parser and compute kernels release the GIL, so two
#: tables read side by side take the time of the larger (5.9 s → 2.9 s at 1M accounts).
_READERS = 2


def _read_tables(files: dict[str, Path], lenient: bool, problems: BadRows) -> dict[str, pd.DataFrame]:
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


def _read_and_validate(path: Path, spec: TableSpec, lenient: bool) -> tuple[pd.DataFrame, BadRows]:
    """One table, read and validated, with the bad rows it holds."""
    problems = BadRows(lenient)
    raw = _read_table(path, spec, problems)
    return validate_table(raw, spec, path.name, problems), problems


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


def _read_table(path: Path, spec: TableSpec, problems: BadRows) -> pd.DataFrame:
    """Read one file with every column as text, plus a ``_row`` column of row numbers."""
    if path.name.endswith(".parquet"):
        frame = _read_parquet(path)
    else:
        frame = _read_csv(path, problems)
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise InputError(
            path.name,
            f"missing column {missing[0]} (the header has: {', '.join(c for c in frame.columns if c != '_row') or 'nothing'})",
            column=missing[0],
        )
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


def _read_csv(path: Path, problems: BadRows) -> pd.DataFrame:
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


def _decode_utf8(table: pa.Table, file: str, rows: np.ndarray, problems: BadRows) -> tuple[pa.Table, np.ndarray]:
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
    suspicious = any(pc.any(pc.match_substring_regex(column.slice(table.num_rows - 1), r"[\r\n]")).as_py() for column in table.columns)
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
            for records, _row in enumerate(reader, start=1):  # noqa: B007 - the count is read after the loop
                pass
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return  # something the CSV reader above judged differently; not an open quote
            names = table.column_names
            last = [
                n for n, c in zip(names, table.columns) if pc.any(pc.match_substring_regex(c.slice(table.num_rows - 1), r"[\r\n]")).as_py()
            ]
            raise InputError(
                path.name,
                'a quoted value is never closed: it runs to the end of the file (a missing " ?)',
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
        return InputError(
            path.name, f"expected {expected} fields as in the header, found {found} (in a row that is not UTF-8 text either)", row=row - 1
        )
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


def _check_accounts(frames: dict[str, pd.DataFrame], files: dict[str, Path], problems: BadRows) -> dict[str, np.ndarray]:
    """Account ids are unique, and every other table names only known accounts.

    Returns, for each table read, the position of each row's account in the
    accounts table: the lookup that finds unknown accounts finds them too.
    """
    accounts = frames["accounts"]
    file = files["accounts"].name
    dup = accounts["account_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        problems.report(
            file, accounts["_row"].to_numpy()[dup], "account_id", "duplicate account_id", accounts["account_id"].to_numpy()[dup]
        )
        accounts = accounts[~dup].reset_index(drop=True)
    problems.check()
    if len(accounts) == 0:
        raise InputError(file, "no valid rows: every account row was rejected")
    ids = arrow_text(accounts["account_id"])
    frames["accounts"] = accounts.drop(columns="_row")
    positions = {}
    for name in ("payments", "ips", "prompts", "links", "lockstep"):
        frame = frames[name]
        if "_row" not in frame.columns:
            continue
        found = account_positions(frame["account_id"], ids)
        unknown = found < 0
        if unknown.any():
            problems.report(
                files[name].name,
                frame["_row"].to_numpy()[unknown],
                "account_id",
                "account_id not in the accounts table",
                frame["account_id"].to_numpy()[unknown],
            )
            frame, found = frame[~unknown].reset_index(drop=True), found[~unknown]
            problems.check()
        if name == "prompts":
            frames["_prompt_rows"] = frame["_row"].to_numpy()
        frames[name] = frame.drop(columns="_row")
        positions[name] = found
    return positions
