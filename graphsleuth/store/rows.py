"""The evidence tables turned into the rows a load writes: one frame per kind of node and relationship.

Every table is built column-wise with pandas/numpy (no Python loop per row): text columns
are object columns of str/None, times ISO-8601 text (or None), counts Int64.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..evidence import subnet_of
from .summary import LoadSummary

__all__ = ["link_label", "write_frame_csv"]

_RESERVED_LABELS = {
    "Account",
    "PaymentMethod",
    "Bin",
    "IpAddress",
    "Subnet",
    "PromptTemplate",
    "Link",
    "Ring",
    "Cluster",
    "Suspect",
}
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_LABEL = re.compile(r"^[A-Z][A-Za-z0-9]{0,47}$")


def link_label(kind: str) -> str:
    """The node label for a links ``kind``: ``device`` -> ``Device``, ``phone_number`` -> ``PhoneNumber``.

    Strictly checked (ingest already allows only ``^[A-Za-z][A-Za-z0-9_]{0,39}$``);
    a kind whose label would clash with ours gets ``Link`` appended (``account`` -> ``AccountLink``).
    """
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InputError("links", f"link kind {kind!r} is not a name like device or phone_number", column="kind")
    label = "".join(part[:1].upper() + part[1:] for part in kind.split("_") if part)
    if label in _RESERVED_LABELS:
        label += "Link"
    if not _LABEL.match(label):  # pragma: no cover - follows from _KIND, kept as a guard
        raise InputError("links", f"link kind {kind!r} does not make a valid label", column="kind")
    return label


def text_values(series: pd.Series) -> list:
    return [None if is_missing(v) else str(v) for v in series]


def is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def column_or_missing(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``, or an all-missing one when the table does not have it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


_ACCOUNT_COLUMNS = ("account_id", "created_at", "email", "country")


def records(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


# Every table below is built column-wise with pandas/numpy (no Python loop per row):
# text columns are object columns of str/None, times ISO-8601 text (or None), counts Int64.


def strs(series: pd.Series) -> pd.Series:
    """Text column as object dtype: str values, None where missing."""
    missing = series.isna().to_numpy()
    out = series.astype(str).astype(object).to_numpy(copy=True)
    out[missing] = None
    return pd.Series(out, index=series.index, dtype=object)


def strs_of(frame: pd.DataFrame, name: str) -> pd.Series:
    return strs(column_or_missing(frame, name))


def naive_utc(times: pd.Series) -> np.ndarray:
    """Time-zone aware times as naive UTC datetime64, in their own unit (NaT is the smallest int64)."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def iso_text(series: pd.Series) -> pd.Series:
    """Times as ISO-8601 UTC text with microseconds and ``Z`` (what Cypher's datetime() reads), NaT as None.

    The text is assembled digit by digit with numpy and turned into strings by
    Arrow: five times faster than numpy's datetime_as_string on millions of times.
    """
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True, errors="coerce")
    naive = naive_utc(series).astype("datetime64[us]")
    missing = np.isnat(naive)
    micros = np.where(missing, 0, naive.view(np.int64))
    days, rest = np.divmod(micros, 86_400_000_000)
    year, month, day = _civil_date(days)
    if len(year) and (year.min() < 1000 or year.max() > 9999):  # not four digits: let numpy write it
        text = np.char.add(np.datetime_as_string(naive, unit="us"), "Z").astype(object)
    else:
        seconds, micro = np.divmod(rest, 1_000_000)
        hour, minute = seconds // 3600, seconds // 60 % 60
        text = _ascii_rows(
            len(micros),
            [(year, 4), "-", (month, 2), "-", (day, 2), "T", (hour, 2), ":", (minute, 2), ":", (seconds % 60, 2), ".", (micro, 6), "Z"],
        )
    text[missing] = None
    return pd.Series(text, index=series.index, dtype=object)


def _civil_date(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of days since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil_from_days)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    day_of_era = z - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    return year_of_era + era * 400 + (month <= 2), month, day


def _ascii_rows(n: int, parts: list) -> np.ndarray:
    """``n`` strings of fixed layout: ``parts`` are literal text or (numbers, width) written zero-padded."""
    width = sum(len(part) if isinstance(part, str) else part[1] for part in parts)
    out = np.empty((n, width), dtype=np.uint8)
    position = 0
    for part in parts:
        if isinstance(part, str):
            out[:, position : position + len(part)] = np.frombuffer(part.encode(), dtype=np.uint8)
            position += len(part)
            continue
        numbers, digits = part
        for k in range(digits):
            out[:, position + digits - 1 - k] = ord("0") + (numbers // 10**k) % 10
        position += digits
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(out)])
    return fixed.cast(pa.binary()).cast(pa.string()).to_numpy(zero_copy_only=False)


#: The node group every account-side relationship step starts from.


def account_frame(accounts: pd.DataFrame) -> pd.DataFrame:
    extras = [c for c in accounts.columns if c not in _ACCOUNT_COLUMNS]
    extra_json: list = [None] * len(accounts)
    if extras:
        values = {c: text_values(accounts[c]) for c in extras}
        extra_json = [
            json.dumps({c: values[c][i] for c in extras if values[c][i] is not None}, sort_keys=True, ensure_ascii=False)
            for i in range(len(accounts))
        ]
    frame = pd.DataFrame(
        {
            "account_id": strs(accounts["account_id"]).to_numpy(),
            "created_at": iso_text(column_or_missing(accounts, "created_at")).to_numpy(),
            "email": strs_of(accounts, "email").to_numpy(),
            "country": strs_of(accounts, "country").to_numpy(),
            "extras": np.array(extra_json, dtype=object),
        }
    )
    return frame[frame["account_id"].notna()].drop_duplicates("account_id", keep="last").reset_index(drop=True)


def sorted_distinct(texts: np.ndarray) -> np.ndarray:
    """The distinct texts in sorted order (Arrow sorts UTF-8 bytes, which is Python's code point order)."""
    distinct = pd.unique(texts)
    return distinct[pc.sort_indices(pa.array(distinct, type=pa.string())).to_numpy()]


def payment_frames(payments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Payment methods, BINs, payment->BIN and account->payment, each deduplicated."""
    frame = pd.DataFrame(
        {
            "account_id": strs_of(payments, "account_id").to_numpy(),
            "payment_id": strs_of(payments, "payment_id").to_numpy(),
            "kind": strs_of(payments, "kind").to_numpy(),
            "bin": strs_of(payments, "bin").to_numpy(),
        }
    )
    frame = frame[frame["payment_id"].notna()]
    kinds = frame.groupby("payment_id", sort=True)["kind"].first()
    methods = pd.DataFrame({"payment_id": kinds.index.to_numpy(dtype=object), "kind": strs(kinds).to_numpy()})
    issued = frame.dropna(subset=["bin"]).drop_duplicates(["payment_id", "bin"])[["payment_id", "bin"]].reset_index(drop=True)
    bins = pd.DataFrame({"bin": sorted_distinct(issued["bin"].to_numpy(dtype=object))})
    paid = frame.dropna(subset=["account_id"]).drop_duplicates(["account_id", "payment_id"])[["account_id", "payment_id"]]
    return {"methods": methods, "bins": bins, "issued": issued, "paid": paid.reset_index(drop=True)}


@dataclass
class _Groups:
    """Rows grouped by text keys, groups in the keys' sorted order (as ``groupby(sort=True)``).

    ``rows`` lists the grouped rows' positions, group by group, in their table
    order within a group; ``starts`` is where each group begins in ``rows``;
    ``keys`` holds each key column's value per group (str). Rows missing a key
    are left out.
    """

    rows: np.ndarray
    starts: np.ndarray
    keys: list[np.ndarray]

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values[self.rows], self.starts) if len(self.starts) else values[:0]

    def earliest(self, naive: np.ndarray) -> pd.Series:
        """Per group, the earliest of the UTC times ``naive`` (NaT skipped; NaT when all are)."""
        ticks = naive.view(np.int64)
        ticks = np.where(ticks == _NAT, np.iinfo(np.int64).max, ticks)
        low = np.minimum.reduceat(ticks[self.rows], self.starts) if len(self.starts) else ticks[:0]
        return _times_of(np.where(low == np.iinfo(np.int64).max, _NAT, low), naive.dtype)

    def latest(self, naive: np.ndarray) -> pd.Series:
        """Per group, the latest of the UTC times ``naive`` (NaT skipped; NaT when all are)."""
        ticks = naive.view(np.int64)
        high = np.maximum.reduceat(ticks[self.rows], self.starts) if len(self.starts) else ticks[:0]
        return _times_of(high, naive.dtype)  # NaT is the smallest int64, so it only wins alone

    def first_present(self, values: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Per group, the first of ``values`` (in table order) where ``present``; None when none is."""
        n = len(self.rows)
        where = np.where(present[self.rows], np.arange(n), n)
        first = np.minimum.reduceat(where, self.starts) if len(self.starts) else where[:0]
        out = np.full(len(self.starts), None, dtype=object)
        found = first < n
        out[found] = values[self.rows[first[found]]]
        return out


_NAT = np.iinfo(np.int64).min


def _times_of(ticks: np.ndarray, dtype) -> pd.Series:
    return pd.Series(ticks.view(dtype)).dt.tz_localize("UTC")


def _text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's rank among the column's distinct texts in sorted order (-1: missing), and those texts."""
    if not isinstance(series.dtype, pd.StringDtype):  # others group by their text form, as strs writes them
        series = strs(series)
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _groups(first: pd.Series, second: pd.Series) -> _Groups:
    """Group rows by two text columns: a hash of each and one sort of packed integer pairs.

    Each code is below the row count, so a pair packs into one int64 for any
    table of fewer than three billion rows; sorting it is twice as fast as
    sorting the two codes, and many times faster than grouping by text.
    """
    coded = [_text_codes(first), _text_codes(second)]
    keep = (coded[0][0] >= 0) & (coded[1][0] >= 0)
    key = coded[0][0][keep] * max(len(coded[1][1]), 1) + coded[1][0][keep]
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    boundary = ordered[1:] != ordered[:-1]
    rows = np.flatnonzero(keep)[order]
    starts = np.flatnonzero(np.r_[True, boundary]) if len(rows) else np.zeros(0, dtype=np.int64)
    keys = [uniques[codes[rows[starts]]] for codes, uniques in coded]
    return _Groups(rows, starts, keys)


def aggregate_ips(ips: pd.DataFrame) -> pd.DataFrame:
    """One row per account x IP: requests summed (missing when all are), first and last time seen."""
    groups = _groups(ips["account_id"], ips["ip"])
    requests = pd.to_numeric(column_or_missing(ips, "requests"), errors="coerce").astype("Float64").round().astype("Int64").array
    known = ~np.asarray(requests.isna())
    summed = pd.array(groups.total(requests.to_numpy(dtype=np.int64, na_value=0)), dtype="Int64")
    summed[groups.total(known.astype(np.int64)) == 0] = pd.NA
    return pd.DataFrame(
        {
            "account_id": groups.keys[0],
            "ip": groups.keys[1],
            "first_seen": groups.earliest(naive_utc(pd.to_datetime(column_or_missing(ips, "first_seen"), utc=True))).array,
            "last_seen": groups.latest(naive_utc(pd.to_datetime(column_or_missing(ips, "last_seen"), utc=True))).array,
            "requests": summed,
        }
    )


def ip_frames(ips: pd.DataFrame) -> dict[str, pd.DataFrame]:
    empty = {
        "addresses": pd.DataFrame({"ip": [], "cidr": []}, dtype=object),
        "subnets": pd.DataFrame({"cidr": []}, dtype=object),
        "connected": pd.DataFrame({c: [] for c in ("account_id", "ip", "requests", "first_seen", "last_seen")}, dtype=object),
    }
    if len(ips) == 0:
        return empty
    agg = aggregate_ips(ips)
    unique = pd.Series(sorted_distinct(agg["ip"].to_numpy(dtype=object)), dtype=object)
    addresses = pd.DataFrame({"ip": unique.to_numpy(), "cidr": subnet_of(unique).to_numpy()})
    subnets = pd.DataFrame({"cidr": sorted_distinct(addresses["cidr"].to_numpy(dtype=object))})
    connected = pd.DataFrame(
        {
            "account_id": agg["account_id"].to_numpy(dtype=object),
            "ip": agg["ip"].to_numpy(dtype=object),
            "requests": agg["requests"].astype("Int64").array,
            "first_seen": iso_text(agg["first_seen"]).to_numpy(),
            "last_seen": iso_text(agg["last_seen"]).to_numpy(),
        }
    )
    return {"addresses": addresses, "subnets": subnets, "connected": connected}


def aggregate_prompts(prompts: pd.DataFrame) -> pd.DataFrame:
    """One row per account x template: count summed, first and last time, one example text."""
    groups = _groups(prompts["account_id"], prompts["template_id"])
    counts = pd.to_numeric(column_or_missing(prompts, "count"), errors="coerce").fillna(1).astype("int64").to_numpy()
    times = naive_utc(pd.to_datetime(column_or_missing(prompts, "ts"), utc=True))
    text = strs_of(prompts, "prompt").to_numpy()
    return pd.DataFrame(
        {
            "account_id": groups.keys[0],
            "template_id": groups.keys[1],
            "count": groups.total(counts),
            "first_ts": groups.earliest(times).array,
            "last_ts": groups.latest(times).array,
            "text": groups.first_present(text, pd.notna(text)),
        }
    )


def prompt_frames(prompts: pd.DataFrame, summary: LoadSummary) -> dict[str, pd.DataFrame]:
    empty = {
        "templates": pd.DataFrame({"template_id": [], "text": []}, dtype=object),
        "sent": pd.DataFrame({c: [] for c in ("account_id", "template_id", "count", "first_ts", "last_ts")}, dtype=object),
    }
    if len(prompts) == 0:
        return empty
    if "template_id" not in prompts.columns:
        summary.skipped["prompts"] = "prompts hold raw text without template_id: derive templates first"
        return empty
    missing = int(prompts["template_id"].isna().sum())
    if missing:
        summary.skipped["prompts"] = f"{missing} prompt rows without template_id were not loaded"
    agg = aggregate_prompts(prompts)
    texts = agg.groupby("template_id", sort=True)["text"].first()
    templates = pd.DataFrame({"template_id": texts.index.to_numpy(dtype=object), "text": strs(texts).to_numpy()})
    sent = pd.DataFrame(
        {
            "account_id": agg["account_id"].to_numpy(dtype=object),
            "template_id": agg["template_id"].to_numpy(dtype=object),
            "count": agg["count"].astype("int64").to_numpy(),
            "first_ts": iso_text(agg["first_ts"]).to_numpy(),
            "last_ts": iso_text(agg["last_ts"]).to_numpy(),
        }
    )
    return {"templates": templates, "sent": sent}


def _link_frames(links: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per link label: (link nodes: kind, value; account->link rows: account_id, kind, value)."""
    if len(links) == 0:
        return {}
    frame = (
        pd.DataFrame(
            {
                "account_id": strs(links["account_id"]).to_numpy(),
                "kind": strs(links["kind"]).to_numpy(),
                "value": strs(links["value"]).to_numpy(),
            }
        )
        .dropna(subset=["kind", "value"])
        .drop_duplicates()
    )
    groups: dict[str, list[pd.DataFrame]] = {}
    for kind, part in frame.groupby("kind", sort=True):
        groups.setdefault(link_label(kind), []).append(part)
    out = {}
    for label, parts in groups.items():
        rows = pd.concat(parts, ignore_index=True)
        nodes = rows.drop_duplicates(["kind", "value"])[["kind", "value"]].reset_index(drop=True)
        rels = rows.dropna(subset=["account_id"]).reset_index(drop=True)
        out[label] = (nodes, rels)
    return out


def link_tables(links: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """:func:`_link_frames` by (``nodes`` or ``rels``, label)."""
    tables = {}
    for label, (nodes, rels) in _link_frames(links).items():
        tables["nodes", label], tables["rels", label] = nodes, rels
    return tables


def link_labels(links: pd.DataFrame) -> list[str]:
    """The labels :func:`_link_frames` makes, in its order, without making its frames."""
    if len(links) == 0:
        return []
    present = (links["kind"].notna() & links["value"].notna()).to_numpy()
    kinds = sorted(set(strs(links["kind"][present]).tolist()))
    return list(dict.fromkeys(link_label(kind) for kind in kinds))


def write_frame_csv(frame: pd.DataFrame, path: Path, header: list[str] | None = None) -> int:
    """Write ``frame`` as RFC 4180 CSV with pyarrow: nulls as empty fields, quotes only where needed."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrays = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype == "Int64":
            arrays.append(pa.array(values.array, type=pa.int64()))
        elif values.dtype == object:
            arrays.append(pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
        else:
            arrays.append(pa.Array.from_pandas(values))
    table = pa.Table.from_arrays(arrays, names=header or list(frame.columns))
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return len(frame)
