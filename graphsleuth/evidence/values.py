"""Checking and converting the values of one evidence table: identifiers, text, times, counts, IP addresses."""

from __future__ import annotations

import ipaddress
import re
import socket

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .bad_rows import BadRows
from .tables import MAX_ID_CHARS, MAX_TEXT_CHARS, TableSpec

__all__ = ["validate_table", "convert_column", "canonical_ipv6"]

_KIND_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_IPV4 = r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"


def validate_table(frame: pd.DataFrame, spec: TableSpec, file: str, problems: BadRows) -> pd.DataFrame:
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
        converted, bad, reason = convert_column(values, kind, spec.defaults.get(name), required=name in spec.required)
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


def convert_column(values: pd.Series, kind: str, default, required: bool):
    """Convert one text column to its kind; return (converted, bad mask, reason) or (converted, [(mask, reason), ...], None)."""
    text = values.astype("str")
    empty = (text.str.len() == 0).to_numpy()
    if kind in ("id", "kind"):
        stripped_empty = (text.str.strip().str.len() == 0).to_numpy()
        too_long = (text.str.len() > MAX_ID_CHARS).to_numpy()
        if kind == "kind":
            pattern_bad = ~text.str.match(_KIND_PATTERN).to_numpy(dtype=bool)
            return text, pattern_bad, "expected a kind name of letters, digits and _ starting with a letter (at most 40)"
        return (
            text,
            [(stripped_empty, "empty value where an identifier is required"), (too_long, f"value longer than {MAX_ID_CHARS} characters")],
            None,
        )
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
    if kind == "number":
        numbers = pd.to_numeric(text.where(~empty, other=None), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bad = ~empty & (np.isnan(numbers) | (numbers < 0) | ~np.isfinite(numbers))
        return pd.Series(np.where(bad, np.nan, numbers), index=values.index), bad, "expected a number >= 0"
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
        canonical = {value: canonical_ipv6(value) for value in candidates}  # only the non-IPv4 values, a small share
        mapped = text[other].map(canonical)
        bad[other] = mapped.isna().to_numpy()
        out.loc[other] = mapped.fillna("")
    return out, bad, "expected an IPv4 or IPv6 address"


def canonical_ipv6(value: str) -> str | None:
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
