"""The evidence graph in Neo4j: loading it, writing rings back, reading it again.

Every Cypher statement lives in ``cypher/*.cypher`` under a ``// name: ...``
header and is picked here by that name; values always travel as parameters,
and labels or property names come from this code, never from the input.

Graph model::

    (:Account {accountId, createdAt, email, country, extras})
    (:Account)-[:PAID_WITH]->(:PaymentMethod {paymentId, kind})-[:ISSUED_UNDER]->(:Bin {bin})
    (:Account)-[:CONNECTED_FROM {requests, firstSeen, lastSeen}]->(:IpAddress {ip})-[:IN_SUBNET]->(:Subnet {cidr})
    (:Account)-[:SENT {count, firstTs, lastTs}]->(:PromptTemplate {templateId, text})
    (:Account)-[:LINKED_TO]->(:Link:Device {kind, value})      one label per link kind
    (:Account:Suspect)-[:MEMBER_OF {score}]->(:Ring {ringId, runId, score, ...})
    (:Account)-[:IN_CLUSTER]->(:Cluster {clusterId, runId, flagged: false, reason, ...})

``extras`` holds the accounts table's extra columns as a JSON object, so that
their names (which come from input) never become property names.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import plugin, server
from .errors import InputError, StoreError
from .evidence import Evidence, read_evidence
from .graph import subnet_of

__all__ = [
    "LoadSummary",
    "WriteSummary",
    "statements",
    "load",
    "write_findings",
    "read_evidence_from_neo4j",
    "investigate",
    "graph_counts",
    "browser_link",
    "link_label",
    "open_driver",
    "has_procedures",
    "apply_schema",
    "bulk_load",
    "bulk_files",
    "clear",
]

BATCH_SIZE = 20000
#: How a load may send its rows (see :func:`load`).
_VIAS = ("auto", "params", "csv", "procedure")
# The driver logs connection failures and server notifications at WARNING/ERROR; with no logging
# configured, Python would print them on stderr next to our one-line error. Applications that
# configure logging still receive them (records propagate to their handlers).
logging.getLogger("neo4j").addHandler(logging.NullHandler())
_RESERVED_LABELS = {
    "Account", "PaymentMethod", "Bin", "IpAddress", "Subnet", "PromptTemplate",
    "Link", "Ring", "Cluster", "Suspect",
}
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_LABEL = re.compile(r"^[A-Z][A-Za-z0-9]{0,47}$")
_NAME_HEADER = re.compile(r"^\s*//\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


# --- the Cypher files ---------------------------------------------------------------------


@lru_cache(maxsize=None)
def _parse(path: str) -> tuple[tuple[str, str], ...]:
    """The named statements of one .cypher file, in file order."""
    found: list[tuple[str, list[str]]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        header = _NAME_HEADER.match(line)
        if header:
            found.append((header.group(1), []))
        elif found:
            found[-1][1].append(line)
    result = []
    for name, lines in found:
        body = "\n".join(lines).strip()
        # Drop trailing comments (they belong to the next statement) and the final ';'.
        kept = body.splitlines()
        while kept and (kept[-1].strip().startswith("//") or not kept[-1].strip()):
            kept.pop()
        text = "\n".join(kept).rstrip().rstrip(";").rstrip()
        result.append((name, text))
    return tuple(result)


def statements(file: str) -> dict[str, str]:
    """The named statements of ``cypher/<file>.cypher`` as {name: cypher}, in file order."""
    path = server.cypher_dir() / f"{file}.cypher"
    if not path.exists():
        raise StoreError(f"missing Cypher file {path}")
    return dict(_parse(str(path)))


def _statement(file: str, name: str) -> str:
    found = statements(file)
    if name not in found:
        raise StoreError(f"no statement named {name} in cypher/{file}.cypher")
    return found[name]


# --- connecting ---------------------------------------------------------------------------


@contextmanager
def open_driver(connection: server.Connection | None = None) -> Iterator[tuple[object, server.Connection]]:
    """A verified driver for ``connection`` (default :func:`server.connection`) and the connection.

    Unreachable servers and refused credentials become one-line :class:`StoreError`s.
    """
    import neo4j

    conn = connection or server.connection()
    try:
        # The load's id() lookups are deliberate (cypher/load.cypher); without this the
        # driver logs a deprecation warning to stderr for every statement that uses them.
        driver = neo4j.GraphDatabase.driver(
            conn.uri, auth=(conn.username, conn.password),
            notifications_disabled_classifications=[neo4j.NotificationDisabledClassification.DEPRECATION],
        )
    except ValueError as exc:
        raise StoreError(f"bad Neo4j URI {conn.uri!r}: {exc}") from None
    try:
        with _store_errors(conn):
            driver.verify_connectivity()
        yield driver, conn
    finally:
        driver.close()


@contextmanager
def _store_errors(conn: server.Connection):
    """Turn the driver's errors into one-line StoreErrors that say where and what."""
    import neo4j.exceptions as nx

    hint = " (is it running? `graphsleuth neo4j start`)" if conn.local else ""
    try:
        yield
    except nx.AuthError:
        raise StoreError(f"Neo4j at {conn.uri} refused user {conn.username!r}: check NEO4J_USERNAME/NEO4J_PASSWORD") from None
    except (nx.ServiceUnavailable, nx.SessionExpired, ConnectionError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"lost the connection to Neo4j at {conn.uri}{hint}: {first}") from None
    except nx.Neo4jError as exc:
        raise StoreError(f"Neo4j refused the operation: {exc.code}: {(exc.message or '').splitlines()[0] if exc.message else ''}") from None


@contextmanager
def _session(driver, database: str):
    """A session that, when the block fails or is interrupted, closes without waiting or raising again.

    Ctrl-C can land while the driver reads a reply, leaving it mid-message. The
    session's own close drains the connection first: it then either fails with
    an unrelated error (BufferError) that would hide the interrupt, or waits
    forever for replies the server has already sent. So the driver is closed
    first (its connections say goodbye and close their sockets, reading
    nothing), and the session's close finds its connection gone. The block's
    exception is the one that counts.
    """
    session = driver.session(database=database)
    try:
        yield session
    except BaseException:
        try:
            driver.close()
            session.close()
        except Exception:  # noqa: BLE001 - secondary to the exception being raised
            pass
        raise
    session.close()


class CtrlC:
    """Ctrl-C, reliably: it stops the work at once, or at the next :meth:`check` at the latest.

    Python delivers SIGINT as a KeyboardInterrupt wherever the main thread is;
    raised inside library code that swallows it (pandas building an index
    engine does), it is lost and the work carries on. The handler raises it as
    usual and also remembers it, and :meth:`check` raises it again: before and
    while each phase of a load's writes runs (the writes themselves run in other
    threads, see :class:`_Writers`), before ``detect`` writes its results, and when the block
    ends (an interrupt swallowed in the last piece of work). Installed only in the
    main thread, and only over Python's default handler (an application's own
    is left alone).
    """

    def __init__(self):
        self.received = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.received:
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc, tb):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.received and exc_type is None:
            # swallowed during the last piece of work, after the last check
            raise KeyboardInterrupt
        return False


def _write(session, cypher: str, tx_metadata: dict | None = None, **params):
    """Run one write in a managed transaction (retried on transient errors); its counters.

    ``tx_metadata`` goes with the transaction, where SHOW TRANSACTIONS finds it.
    """

    def work(tx):
        return tx.run(cypher, **params).consume().counters

    return session.execute_write(_tagged(work, tx_metadata))


def _write_returning(session, cypher: str, tx_metadata: dict | None = None, **params):
    """Run one write that returns one record, as :func:`_write`; its counters and that record."""

    def work(tx):
        result = tx.run(cypher, **params)
        record = result.single(strict=True)
        return result.consume().counters, record

    return session.execute_write(_tagged(work, tx_metadata))


def _tagged(work, tx_metadata: dict | None):
    """``work`` with ``tx_metadata`` attached to its transaction, if there is any."""
    if not tx_metadata:
        return work
    import neo4j

    return neo4j.unit_of_work(metadata=tx_metadata)(work)


def _read(session, cypher: str, **params) -> list[dict]:
    def work(tx):
        return [record.data() for record in tx.run(cypher, **params)]

    return session.execute_read(work)


# --- summaries ------------------------------------------------------------------------------


@dataclass
class LoadSummary:
    """What a load did: counters summed over every batch, and how long it took."""

    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    labels_added: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    method: str = "bolt"
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    multiline: bool = False

    def add(self, counters) -> None:
        self.nodes_created += counters.nodes_created
        self.relationships_created += counters.relationships_created
        self.properties_set += counters.properties_set
        self.labels_added += counters.labels_added

    def describe(self) -> str:
        """One line for the terminal."""
        rows = sum(self.rows.values())
        return (
            f"loaded {rows} evidence rows via {self.method} in {self.seconds:.1f}s: "
            f"{self.nodes_created} nodes and {self.relationships_created} relationships created"
        )


@dataclass
class WriteSummary:
    """What :func:`write_findings` did for one run."""

    run_id: str
    rings: int
    members: int
    clusters: int
    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    labels_removed: int = 0

    def describe(self) -> str:
        return (
            f"run {self.run_id}: wrote {self.rings} rings ({self.members} members) and "
            f"{self.clusters} unflagged clusters; {self.nodes_deleted} old nodes replaced"
        )


# --- turning evidence into rows ---------------------------------------------------------------


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


def _text(series: pd.Series) -> list:
    return [None if _missing(v) else str(v) for v in series]


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``, or an all-missing one when the table does not have it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


_ACCOUNT_COLUMNS = ("account_id", "created_at", "email", "country")


def _records(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


# Every table below is built column-wise with pandas/numpy (no Python loop per row):
# text columns are object columns of str/None, times ISO-8601 text (or None), counts Int64.


def _strs(series: pd.Series) -> pd.Series:
    """Text column as object dtype: str values, None where missing."""
    missing = series.isna().to_numpy()
    out = series.astype(str).astype(object).to_numpy(copy=True)
    out[missing] = None
    return pd.Series(out, index=series.index, dtype=object)


def _strs_of(frame: pd.DataFrame, name: str) -> pd.Series:
    return _strs(_column(frame, name))


def _naive_utc(times: pd.Series) -> np.ndarray:
    """Time-zone aware times as naive UTC datetime64, in their own unit (NaT is the smallest int64)."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def _iso_fast(series: pd.Series) -> pd.Series:
    """Times as ISO-8601 UTC text with microseconds and ``Z`` (what Cypher's datetime() reads), NaT as None.

    The text is assembled digit by digit with numpy and turned into strings by
    Arrow: five times faster than numpy's datetime_as_string on millions of times.
    """
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True, errors="coerce")
    naive = _naive_utc(series).astype("datetime64[us]")
    missing = np.isnat(naive)
    micros = np.where(missing, 0, naive.view(np.int64))
    days, rest = np.divmod(micros, 86_400_000_000)
    year, month, day = _civil_date(days)
    if len(year) and (year.min() < 1000 or year.max() > 9999):  # not four digits: let numpy write it
        text = np.char.add(np.datetime_as_string(naive, unit="us"), "Z").astype(object)
    else:
        seconds, micro = np.divmod(rest, 1_000_000)
        hour, minute = seconds // 3600, seconds // 60 % 60
        text = _ascii_rows(len(micros), [(year, 4), "-", (month, 2), "-", (day, 2), "T", (hour, 2), ":", (minute, 2), ":",
                                         (seconds % 60, 2), ".", (micro, 6), "Z"])
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
_ACCOUNTS = "accounts"


@dataclass
class _Step:
    """One write of a load: a table of rows and the Cypher body that writes one ``row``.

    ``body`` names ``merge_<body>`` in cypher/load.cypher; ``kind`` is the label
    or relationship type it writes. The rows may still be in preparation in the
    background (:func:`_steps`): ``frame`` waits for them.
    """

    what: str
    body: str
    _frame: pd.DataFrame | Callable[[], pd.DataFrame]
    kind: str
    extra: dict = field(default_factory=dict)
    #: a node step: the columns that name a node (the load keeps each node's id by them)
    key: tuple[str, ...] = ()
    #: a relationship step: for its start and its end, the node step and the columns naming the node
    ends: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def frame(self) -> pd.DataFrame:
        """The step's rows, once they are prepared."""
        if callable(self._frame):
            self._frame = self._frame()
        return self._frame


def _account_frame(accounts: pd.DataFrame) -> pd.DataFrame:
    extras = [c for c in accounts.columns if c not in _ACCOUNT_COLUMNS]
    extra_json: list = [None] * len(accounts)
    if extras:
        values = {c: _text(accounts[c]) for c in extras}
        extra_json = [
            json.dumps({c: values[c][i] for c in extras if values[c][i] is not None}, sort_keys=True, ensure_ascii=False)
            for i in range(len(accounts))
        ]
    frame = pd.DataFrame(
        {
            "account_id": _strs(accounts["account_id"]).to_numpy(),
            "created_at": _iso_fast(_column(accounts, "created_at")).to_numpy(),
            "email": _strs_of(accounts, "email").to_numpy(),
            "country": _strs_of(accounts, "country").to_numpy(),
            "extras": np.array(extra_json, dtype=object),
        }
    )
    return frame[frame["account_id"].notna()].drop_duplicates("account_id", keep="last").reset_index(drop=True)


def _sorted_distinct(texts: np.ndarray) -> np.ndarray:
    """The distinct texts in sorted order (Arrow sorts UTF-8 bytes, which is Python's code point order)."""
    distinct = pd.unique(texts)
    return distinct[pc.sort_indices(pa.array(distinct, type=pa.string())).to_numpy()]


def _payment_frames(payments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Payment methods, BINs, payment->BIN and account->payment, each deduplicated."""
    frame = pd.DataFrame(
        {
            "account_id": _strs_of(payments, "account_id").to_numpy(),
            "payment_id": _strs_of(payments, "payment_id").to_numpy(),
            "kind": _strs_of(payments, "kind").to_numpy(),
            "bin": _strs_of(payments, "bin").to_numpy(),
        }
    )
    frame = frame[frame["payment_id"].notna()]
    kinds = frame.groupby("payment_id", sort=True)["kind"].first()
    methods = pd.DataFrame({"payment_id": kinds.index.to_numpy(dtype=object), "kind": _strs(kinds).to_numpy()})
    issued = frame.dropna(subset=["bin"]).drop_duplicates(["payment_id", "bin"])[["payment_id", "bin"]].reset_index(drop=True)
    bins = pd.DataFrame({"bin": _sorted_distinct(issued["bin"].to_numpy(dtype=object))})
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
    if not isinstance(series.dtype, pd.StringDtype):  # others group by their text form, as _strs writes them
        series = _strs(series)
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


def _aggregate_ips(ips: pd.DataFrame) -> pd.DataFrame:
    """One row per account x IP: requests summed (missing when all are), first and last time seen."""
    groups = _groups(ips["account_id"], ips["ip"])
    requests = pd.to_numeric(_column(ips, "requests"), errors="coerce").astype("Float64").round().astype("Int64").array
    known = ~np.asarray(requests.isna())
    summed = pd.array(groups.total(requests.to_numpy(dtype=np.int64, na_value=0)), dtype="Int64")
    summed[groups.total(known.astype(np.int64)) == 0] = pd.NA
    return pd.DataFrame(
        {
            "account_id": groups.keys[0],
            "ip": groups.keys[1],
            "first_seen": groups.earliest(_naive_utc(pd.to_datetime(_column(ips, "first_seen"), utc=True))).array,
            "last_seen": groups.latest(_naive_utc(pd.to_datetime(_column(ips, "last_seen"), utc=True))).array,
            "requests": summed,
        }
    )


def _ip_frames(ips: pd.DataFrame) -> dict[str, pd.DataFrame]:
    empty = {
        "addresses": pd.DataFrame({"ip": [], "cidr": []}, dtype=object),
        "subnets": pd.DataFrame({"cidr": []}, dtype=object),
        "connected": pd.DataFrame({c: [] for c in ("account_id", "ip", "requests", "first_seen", "last_seen")}, dtype=object),
    }
    if len(ips) == 0:
        return empty
    agg = _aggregate_ips(ips)
    unique = pd.Series(_sorted_distinct(agg["ip"].to_numpy(dtype=object)), dtype=object)
    addresses = pd.DataFrame({"ip": unique.to_numpy(), "cidr": subnet_of(unique).to_numpy()})
    subnets = pd.DataFrame({"cidr": _sorted_distinct(addresses["cidr"].to_numpy(dtype=object))})
    connected = pd.DataFrame(
        {
            "account_id": agg["account_id"].to_numpy(dtype=object),
            "ip": agg["ip"].to_numpy(dtype=object),
            "requests": agg["requests"].astype("Int64").array,
            "first_seen": _iso_fast(agg["first_seen"]).to_numpy(),
            "last_seen": _iso_fast(agg["last_seen"]).to_numpy(),
        }
    )
    return {"addresses": addresses, "subnets": subnets, "connected": connected}


def _aggregate_prompts(prompts: pd.DataFrame) -> pd.DataFrame:
    """One row per account x template: count summed, first and last time, one example text."""
    groups = _groups(prompts["account_id"], prompts["template_id"])
    counts = pd.to_numeric(_column(prompts, "count"), errors="coerce").fillna(1).astype("int64").to_numpy()
    times = _naive_utc(pd.to_datetime(_column(prompts, "ts"), utc=True))
    text = _strs_of(prompts, "prompt").to_numpy()
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


def _prompt_frames(prompts: pd.DataFrame, summary: LoadSummary) -> dict[str, pd.DataFrame]:
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
    agg = _aggregate_prompts(prompts)
    texts = agg.groupby("template_id", sort=True)["text"].first()
    templates = pd.DataFrame({"template_id": texts.index.to_numpy(dtype=object), "text": _strs(texts).to_numpy()})
    sent = pd.DataFrame(
        {
            "account_id": agg["account_id"].to_numpy(dtype=object),
            "template_id": agg["template_id"].to_numpy(dtype=object),
            "count": agg["count"].astype("int64").to_numpy(),
            "first_ts": _iso_fast(agg["first_ts"]).to_numpy(),
            "last_ts": _iso_fast(agg["last_ts"]).to_numpy(),
        }
    )
    return {"templates": templates, "sent": sent}


def _link_frames(links: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per link label: (link nodes: kind, value; account->link rows: account_id, kind, value)."""
    if len(links) == 0:
        return {}
    frame = pd.DataFrame(
        {"account_id": _strs(links["account_id"]).to_numpy(), "kind": _strs(links["kind"]).to_numpy(), "value": _strs(links["value"]).to_numpy()}
    ).dropna(subset=["kind", "value"]).drop_duplicates()
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


def _link_tables(links: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """:func:`_link_frames` by (``nodes`` or ``rels``, label)."""
    tables = {}
    for label, (nodes, rels) in _link_frames(links).items():
        tables["nodes", label], tables["rels", label] = nodes, rels
    return tables


def _link_labels(links: pd.DataFrame) -> list[str]:
    """The labels :func:`_link_frames` makes, in its order, without making its frames."""
    if len(links) == 0:
        return []
    present = (links["kind"].notna() & links["value"].notna()).to_numpy()
    kinds = sorted(set(_strs(links["kind"][present]).tolist()))
    return list(dict.fromkeys(link_label(kind) for kind in kinds))


# --- loading ------------------------------------------------------------------------------------


def _as_evidence(evidence_or_dir, lenient: bool = False) -> Evidence:
    if isinstance(evidence_or_dir, Evidence):
        return evidence_or_dir
    return read_evidence(evidence_or_dir, lenient=lenient)


def _prepared(pool: ThreadPoolExecutor | None, prepare, *args) -> dict[str, pd.DataFrame] | _FramesLater:
    """The frames ``prepare(*args)`` makes, by name: at once without a ``pool``, else in its
    background thread."""
    if pool is None:
        return prepare(*args)
    return _FramesLater(pool.submit(prepare, *args))


class _FramesLater:
    """The frames of a preparation running in the background: ``[name]`` is a function that
    waits for frame ``name`` (a :class:`_Step` takes either)."""

    def __init__(self, future: Future):
        self.future = future

    def __getitem__(self, name: str) -> Callable[[], pd.DataFrame]:
        return lambda: self.future.result()[name]


def _steps(evidence: Evidence, summary: LoadSummary, pool: ThreadPoolExecutor | None = None) -> list[_Step]:
    """The writes of one load, in order: every kind of node first, then the relationships.

    With a ``pool``, the rows of every table but accounts (payments 1.5 s, IPs 6 s,
    prompts 8 s and links 1.7 s at 1M accounts) are made in its background thread,
    in the order they are written, while the accounts are written; a step's
    ``frame`` waits for its rows.
    """
    pay = _prepared(pool, _payment_frames, evidence.payments)
    ip = _prepared(pool, _ip_frames, evidence.ips)
    prompt = _prepared(pool, _prompt_frames, evidence.prompts, summary)
    links = _prepared(pool, _link_tables, evidence.links)
    steps = [
        _Step(_ACCOUNTS, "accounts", _account_frame(evidence.accounts), "Account", key=("account_id",)),
        _Step("payment methods", "payment_methods", pay["methods"], "PaymentMethod", key=("payment_id",)),
        _Step("BINs", "bins", pay["bins"], "Bin", key=("bin",)),
        _Step("IP addresses", "ip_addresses", ip["addresses"], "IpAddress", key=("ip",)),
        _Step("subnets", "subnets", ip["subnets"], "Subnet", key=("cidr",)),
        _Step("prompt templates", "prompt_templates", prompt["templates"], "PromptTemplate", key=("template_id",)),
    ]
    labels = _link_labels(evidence.links)  # they decide the steps, so they are known at once
    for label in labels:
        steps.append(_Step(f"links ({label})", "links", links[("nodes", label)], "Link", {"label": label}, key=("kind", "value")))
    account = (_ACCOUNTS, ("account_id",))
    steps += [
        _Step("payment methods issued under", "issued_under", pay["issued"], "ISSUED_UNDER",
              ends=(("payment methods", ("payment_id",)), ("BINs", ("bin",)))),
        _Step("accounts paid with", "paid_with", pay["paid"], "PAID_WITH", ends=(account, ("payment methods", ("payment_id",)))),
        _Step("IP addresses in subnet", "in_subnet", ip["addresses"], "IN_SUBNET", ends=(("IP addresses", ("ip",)), ("subnets", ("cidr",)))),
        _Step("accounts connected from", "connected_from", ip["connected"], "CONNECTED_FROM", ends=(account, ("IP addresses", ("ip",)))),
        _Step("accounts sent", "sent", prompt["sent"], "SENT", ends=(account, ("prompt templates", ("template_id",)))),
    ]
    for label in labels:
        steps.append(_Step(f"accounts linked to ({label})", "linked_to", links[("rels", label)], "LINKED_TO", {"label": label},
                           ends=(account, (f"links ({label})", ("kind", "value")))))
    return steps



def _frame_rows(frame: pd.DataFrame, start: int, stop: int) -> list[dict]:
    """Rows ``start:stop`` of ``frame`` as parameter maps (plain Python values, None where missing)."""
    return _records(_frame_columns(frame, start, stop))


def _frame_columns(frame: pd.DataFrame, start: int, stop: int) -> dict[str, list]:
    """Rows ``start:stop`` of ``frame`` as one list of plain Python values per column, None where missing."""
    part = frame.iloc[start:stop]
    columns = {}
    for name in part.columns:
        values = part[name]
        if values.dtype.kind in "iu":
            columns[name] = values.tolist()
        else:
            array = values.to_numpy(dtype=object, na_value=None)
            columns[name] = [int(v) if isinstance(v, np.integer) else v for v in array] if values.dtype == "Int64" else array.tolist()
    return columns


def _statement_for(step: _Step, source: str, again: bool = False) -> str:
    """The Cypher of ``step``: its MERGE body inside the ``source`` wrapper of load.cypher.

    ``source`` is ``unwind`` or ``csv``; a node step's wrapper returns its nodes' ids.
    ``again`` picks the wrapper that writes a relationship step's failed rows once more
    (``csv_rows_again``).
    """
    body = _statement("load", f"merge_{step.body}")
    wrapper = _statement("load", f"{source}_{'nodes' if step.key else 'rows'}{'_again' if again else ''}")
    return wrapper.replace("{{body}}", body)


def _key_text(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """One text per row naming its node: the key column, or the key columns joined by a unit separator."""
    key = frame[columns[0]]
    for name in columns[1:]:
        key = key + "\x1f" + frame[name]
    return key


class _NodeIds:
    """Node ids by key, per group of nodes: what a Bolt load's relationship steps and a bulk import's
    relationship files name their two nodes by.

    In a Bolt load they are the ids the server gave the nodes the load wrote; the
    server then finds a relationship's two nodes by reading their records instead
    of searching an index. A bulk import numbers the nodes itself (:class:`_NodeNumbers`).
    """

    def __init__(self):
        self.keys: dict[str, pa.Array] = {}
        self.ids: dict[str, np.ndarray] = {}

    def put(self, group: str, keys: pd.Series, ids: np.ndarray) -> None:
        """The nodes of ``group``: their keys (unique within it) and their ids, in the same order."""
        self.keys[group] = _arrow_text(keys)
        self.ids[group] = ids

    def keep(self, step: _Step, order: np.ndarray, nodes: list) -> None:
        """Keep the ids the server returned for ``step``'s nodes; ``order`` ranks each among the step's rows."""
        if len(nodes) != len(step.frame):
            raise StoreError(f"{step.what}: the server returned {len(nodes)} node ids for {len(step.frame)} rows")
        ids = np.asarray(nodes, dtype=np.int64)[np.argsort(np.asarray(order, dtype=np.int64), kind="stable")]
        self.put(step.what, _key_text(step.frame, step.key), ids)

    def of(self, group: str, keys: pd.Series) -> np.ndarray:
        """The ids of the nodes of ``group`` with these keys; -1 where there is no such node."""
        if group not in self.ids:
            return np.full(len(keys), -1, dtype=np.int64)
        positions = _positions(keys, self.keys[group])
        return np.where(positions >= 0, self.ids[group][positions], -1)

    def rows(self, step: _Step) -> pd.DataFrame:
        """The rows relationship ``step`` writes, with its two nodes as ids (``start``, ``end``)
        in place of their keys.

        A row whose node the load did not write is left out, as a MATCH by key
        would have found nothing for it.
        """
        (start_of, start_key), (end_of, end_key) = step.ends
        start = self.of(start_of, _key_text(step.frame, start_key))
        end = self.of(end_of, _key_text(step.frame, end_key))
        props = step.frame.drop(columns=sorted({*start_key, *end_key}))
        frame = pd.concat([pd.DataFrame({"start": start, "end": end}), props.reset_index(drop=True)], axis=1)
        return frame[(start >= 0) & (end >= 0)].reset_index(drop=True)


def apply_schema(session) -> None:
    """Create the constraints and indexes of cypher/schema.cypher (all IF NOT EXISTS)."""
    for _name, cypher in statements("schema").items():
        _write(session, cypher)


def load(
    evidence_or_dir,
    *,
    connection: server.Connection | None = None,
    batch_size: int = BATCH_SIZE,
    quiet: bool = False,
    bulk: bool = False,
    lenient: bool = False,
    via: str = "auto",
) -> LoadSummary:
    """Load an evidence directory (or :class:`Evidence`) into Neo4j; idempotent.

    Creates the schema first, then every kind of node, then the relationships,
    ``batch_size`` rows per transaction, in two sessions at once
    (:func:`_write_steps`); all but the accounts' rows are prepared in a
    background thread while the first nodes are written. Every write is a MERGE: a second load
    of the same evidence creates nothing, and two loads running at the same
    time (two ``graphsleuth load`` commands, or threads) converge on the graph
    one load builds, without duplicates. Nodes are kept unique by the
    constraints of cypher/schema.cypher; a relationship's MERGE locks its two
    nodes before it creates, so a concurrent writer of the same relationship
    waits and then finds it. Deadlocks between two such loads are transient
    errors and are retried. Each node write returns its node's id, and the
    relationship writes name their two nodes by those ids (:class:`_NodeIds`).

    ``via`` chooses how rows travel: ``params`` sends them as query parameters
    (any server); ``csv`` writes them as CSV files into the local server's
    import folder and runs ``LOAD CSV ... CALL {} IN TRANSACTIONS`` (the local
    server only: it reads the files itself, much faster); ``procedure`` writes
    the nodes as ``auto`` does and the relationships through graphsleuth's
    procedure (:mod:`graphsleuth.plugin`; the local server has it, another
    server has it once the jar is in its plugins folder), one call per batch of
    columns; ``auto`` is ``procedure`` where the server has it, else ``csv`` for
    the local server and ``params`` otherwise. Progress goes to stderr
    unless ``quiet``. With ``bulk=True`` the local database is replaced through
    ``neo4j-admin database import full`` instead (see :func:`bulk_load`).
    """
    if via not in _VIAS:
        raise StoreError(f"via must be one of {', '.join(_VIAS)}, got {via!r}")
    with CtrlC() as ctrl_c:
        evidence = _as_evidence(evidence_or_dir, lenient=lenient)
        if bulk:
            return bulk_load(evidence, quiet=quiet)
        if batch_size < 1:
            raise StoreError("batch size must be at least 1")
        summary = LoadSummary()
        began = time.monotonic()
        with _preparation() as pool:
            steps = _steps(evidence, summary, pool)
            summary.timings["prepare"] = time.monotonic() - began
            _write_load(steps, summary, pool, connection, batch_size, via, quiet, ctrl_c)
    summary.seconds = time.monotonic() - began
    if not quiet:
        for table, why in summary.skipped.items():
            print(f"note: {table}: {why}", file=sys.stderr)
        print(summary.describe(), file=sys.stderr)
    return summary


def _write_load(steps: list[_Step], summary: LoadSummary, pool: ThreadPoolExecutor, connection: server.Connection | None,
                batch_size: int, via: str, quiet: bool, ctrl_c: CtrlC) -> None:
    """Create the schema and write ``steps`` through Bolt (the body of :func:`load`)."""
    with open_driver(connection) as (driver, conn), _store_errors(conn):
        use_csv = via == "csv" or (via in ("auto", "procedure") and conn.local)
        if use_csv and not conn.local:
            raise StoreError("load via csv needs the local server (it reads the files itself); use via='params'")
        with _session(driver, conn.database) as session:
            apply_schema(session)
            use_procedure = via in ("auto", "procedure") and has_procedures(session)
            if via == "procedure" and not use_procedure:
                raise StoreError(f"Neo4j at {conn.uri} does not have graphsleuth's procedures ({', '.join(plugin.PROCEDURES)}); "
                                 f"put {plugin.JAR_NAME} (`graphsleuth neo4j fetch` builds it) in its plugins folder, or use via='auto'")
        ways = [way for way, used in (("LOAD CSV", use_csv), ("procedure", use_procedure)) if used]
        summary.method = f"bolt ({', '.join(ways)})" if ways else "bolt"
        writing = time.monotonic()
        writers = _Writers(driver, conn.database, summary, quiet, ctrl_c)
        with _csv_rows(writers, batch_size) if use_csv else nullcontext(_params_rows(writers, batch_size)) as write_rows:
            if use_procedure:
                write_rows = _procedure_rows(writers, batch_size, write_rows)
            _write_steps(writers, steps, write_rows, pool)
        summary.timings["write"] = time.monotonic() - writing


@contextmanager
def _preparation():
    """The background thread that prepares a load's later rows while its first ones are written.

    A load that stops early does not wait for a preparation still running.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphsleuth prepare")
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _write_steps(writers: _Writers, steps: list[_Step], write_rows, pool: ThreadPoolExecutor) -> None:
    """Write the node steps one after another, then the relationship steps phase by phase.

    ``write_rows(session, step, frame, name)`` writes ``frame``'s rows for
    ``step`` and, for a node step, returns the row order and node ids the
    server sent back. A relationship step's rows (its two nodes as ids) are
    made as soon as both its kinds of node are written, in the ``pool``'s
    background thread, while the other node steps go on.
    The relationships that do not start at an account (payment method to BIN,
    IP address to subnet) are written in a second session as soon as their
    nodes are, beside the node steps still to come, whose nodes they never
    touch: at 1M accounts the load took 223.9 s against 230.7 s with them
    written after the nodes.
    """
    ids = _NodeIds()
    relationships = [step for step in steps if step.ends]
    written: set[str] = set()
    rows_of: dict[str, Future] = {}

    def nodes_written(step: _Step) -> None:
        written.add(step.what)
        for rel in relationships:
            if rel.what not in rows_of and all(end in written for end, _key in rel.ends):
                rows_of[rel.what] = pool.submit(ids.rows, rel)

    def rows_when_ready(step: _Step) -> pd.DataFrame:
        while step.what not in rows_of:
            if writers.stop.wait(0.05):
                raise _Stopped
        return rows_of[step.what].result()

    def write(step: _Step, frame: Callable[[], pd.DataFrame], name: str, rows: np.ndarray | None = None):
        def work(session) -> None:
            began = time.monotonic()
            part = frame() if rows is None else frame()[rows].reset_index(drop=True)
            if rows is None:
                writers.expect(step, len(part))
            written_rows = write_rows(session, step, part, name)
            if step.key:
                ids.keep(step, *written_rows)
                nodes_written(step)
            writers.took(step, time.monotonic() - began)
        return work

    nodes = [step for step in steps if step.key]
    names = {step.what: f"{len(nodes) + index:02d}-{step.body}" for index, step in enumerate(relationships)}
    first = [step for step in relationships if step.ends[0][0] != _ACCOUNTS]
    node_lane = [write(step, lambda step=step: step.frame, f"{index:02d}-{step.body}") for index, step in enumerate(nodes)]
    first_lane = [write(step, lambda step=step: rows_when_ready(step), f"{names[step.what]}-all") for step in first]
    writers.run([lane for lane in (node_lane, first_lane) if lane])
    sided = [step for step in relationships if step.ends[0][0] == _ACCOUNTS]
    frames = {step.what: rows_of[step.what].result() for step in sided}  # every node step is written by now
    for step in sided:
        writers.expect(step, len(frames[step.what]))
    for phase in _relationship_phases(sided, frames, ids):
        writers.run([[write(step, lambda step=step: frames[step.what], f"{names[step.what]}-{half}", rows) for step, rows, half in lane]
                     for lane in phase])


def _relationship_phases(steps: list[_Step], frames: dict[str, pd.DataFrame], ids: _NodeIds) -> list[list[list[tuple[_Step, np.ndarray, str]]]]:
    """The writes of the relationships that start at an account, as phases of lanes that run at
    once, each lane a list of (step, which of its rows, part name).

    No two lanes of a phase ever lock the same node, so they never wait on each
    other or deadlock. The accounts are cut in two halves by node id, and the
    steps in two groups with no end nodes in common: the biggest step (SENT) in
    one, the rest in the other. Each group writes one half while the other
    group writes the other half, then the halves swap. A relationship statement
    runs on one server thread, and on two cores a second one finds most of a
    core free: at 1M accounts these two phases took 127 s against 160 s one
    step after the other.
    """
    sided = sorted(steps, key=lambda step: -len(frames[step.what]))
    ends_of_big = {step.ends[1][0] for step in sided[:1]}
    big = [step for step in sided if step.ends[1][0] in ends_of_big]
    rest = [step for step in sided if step.ends[1][0] not in ends_of_big]
    accounts = ids.ids.get(_ACCOUNTS, np.zeros(0, dtype=np.int64))
    cut = np.median(accounts) if len(accounts) else 0

    def half(group: list[_Step], first: bool) -> list[tuple[_Step, np.ndarray, str]]:
        parts = []
        for step in group:
            rows = (frames[step.what]["start"].to_numpy() < cut) == first
            if rows.any():
                parts.append((step, rows, "a" if first else "b"))
        return parts

    phases = [[half(big, True), half(rest, False)], [half(big, False), half(rest, True)]]
    return [[lane for lane in phase if lane] for phase in phases if any(phase)]


class _Stopped(Exception):
    """A lane saw the load stopping (another lane failed, or Ctrl-C) and left its work."""


class _Writers:
    """The sessions a Bolt load writes through: lanes of work that run at once, each in its own
    thread and session, and how the load reports what they did.

    Every statement carries the load's id as transaction metadata. When one lane
    fails, or Ctrl-C arrives, the others' running statements are ended on the
    server (cypher/load.cypher ``terminate_load``) instead of running on for a
    minute, and the first failure is the one raised.
    """

    def __init__(self, driver, database: str, summary: LoadSummary, quiet: bool, ctrl_c: CtrlC):
        self.driver = driver
        self.database = database
        self.ctrl_c = ctrl_c
        self.summary = summary
        self.quiet = quiet
        self.metadata = {"graphsleuth_load": uuid.uuid4().hex}
        #: set when the load must stop: a lane failed, or Ctrl-C
        self.stop = threading.Event()
        self._failures: list[BaseException] = []
        self._lock = threading.Lock()
        self._written: dict[str, int] = {}

    def run(self, lanes: list[list]) -> None:
        """Run each lane (a list of ``work(session)``) in its own thread and session; wait for all.

        Raises the first lane's failure, or KeyboardInterrupt once every lane has stopped.
        """
        self.ctrl_c.check()
        threads = [threading.Thread(target=self._lane, args=(lane,), name=f"graphsleuth load {index}", daemon=True)
                   for index, lane in enumerate(lanes)]
        for thread in threads:
            thread.start()
        try:
            self._wait(threads)
        except BaseException:  # Ctrl-C: stop every lane before it goes on
            self.stop.set()
            self._wait(threads)
            raise
        if self._failures:
            raise self._failures[0]

    def _lane(self, lane: list) -> None:
        try:
            with self.driver.session(database=self.database) as session:
                for work in lane:
                    if self.stop.is_set():
                        return
                    work(session)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - raised again by run(), in the calling thread
            with self._lock:
                self._failures.append(exc)
            self.stop.set()

    def _wait(self, threads: list[threading.Thread]) -> None:
        """Wait for the lanes to end; once stopping, end their running statements every second."""
        terminated = 0.0
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.1)
            if not self.stop.is_set():
                self.ctrl_c.check()  # an interrupt swallowed in this thread, as CtrlC describes
            if self.stop.is_set() and time.monotonic() - terminated > 1.0:
                self._terminate()
                terminated = time.monotonic()

    def _terminate(self) -> None:
        """End this load's running statements on the server; their lanes see them fail."""
        try:
            with _session(self.driver, self.database) as session:
                session.run(_statement("load", "terminate_load"), load=self.metadata["graphsleuth_load"]).consume()
        except Exception:  # noqa: BLE001 - a server that cannot be reached ends the statements itself
            pass

    def check(self) -> None:
        """Leave the lane's work if the load is stopping."""
        if self.stop.is_set():
            raise _Stopped

    def expect(self, step: _Step, rows: int) -> None:
        """``step`` will write ``rows`` rows (a step with none says so at once)."""
        self.summary.rows[step.what] = rows
        self._written[step.what] = 0
        if not rows:
            self.progress(f"{step.what}: 0/0")

    def wrote(self, step: _Step, rows: int, counters) -> None:
        """Count a written batch or part: its counters, and a progress line."""
        with self._lock:
            self.summary.add(counters)
            self._written[step.what] += rows
            line = f"{step.what}: {self._written[step.what]}/{self.summary.rows[step.what]}"
        self.progress(line)

    def took(self, step: _Step, seconds: float) -> None:
        with self._lock:
            key = f"step {step.what}"
            self.summary.timings[key] = self.summary.timings.get(key, 0.0) + seconds

    def progress(self, line: str) -> None:
        if not self.quiet:
            with self._lock:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()


def _params_rows(writers: _Writers, batch_size: int):
    """How a load via parameters writes rows: ``batch_size`` rows per managed transaction."""

    def write_rows(session, step: _Step, frame: pd.DataFrame, name: str):
        cypher = _statement_for(step, "unwind")
        order, nodes = [], []
        for start in range(0, len(frame), batch_size):
            writers.check()
            rows = _frame_rows(frame, start, start + batch_size)
            if step.key:
                counters, record = _write_returning(session, cypher, writers.metadata, rows=rows, **step.extra)
                order.append(np.asarray(record["lines"], dtype=np.int64) + start)
                nodes += record["nodes"]
            else:
                counters = _write(session, cypher, writers.metadata, rows=rows, **step.extra)
            writers.wrote(step, len(rows), counters)
        return np.concatenate(order) if order else np.zeros(0, dtype=np.int64), nodes

    return write_rows


@dataclass(frozen=True)
class _CalledCounters:
    """What one procedure call wrote, in the shape of the driver's counters (which miss it)."""

    relationships_created: int
    properties_set: int
    nodes_created: int = 0
    labels_added: int = 0


def has_procedures(session) -> bool:
    """True when the server ``session`` talks to has every procedure of :data:`graphsleuth.plugin.PROCEDURES`."""
    names = list(plugin.PROCEDURES)
    return _read(session, _statement("load", "has_procedures"), names=names)[0]["found"] == len(names)


def _procedure_rows(writers: _Writers, batch_size: int, node_rows):
    """How a load writes rows when the server has graphsleuth's procedure: node steps as
    ``node_rows`` does, relationship steps as one ``call_<body>`` (cypher/load.cypher) per
    ``batch_size`` rows, each column a list parameter.

    Each call is an auto-commit transaction, which the server commits as soon as the
    call ends, as it does LOAD CSV's batches: a load that is paused or killed between
    two calls holds no locks another load would wait for. A call that fails is rolled
    back whole and run again after transient errors (:func:`_retried`).
    """
    import neo4j

    def write_rows(session, step: _Step, frame: pd.DataFrame, name: str):
        if step.key:
            return node_rows(session, step, frame, name)
        query = neo4j.Query(_statement("load", f"call_{step.body}"), metadata=writers.metadata)
        for start in range(0, len(frame), batch_size):
            writers.check()
            columns = _frame_columns(frame, start, start + batch_size)
            record = _retried(lambda: session.run(query, **columns).single(strict=True), writers.stop)
            writers.wrote(step, record["rows"], _CalledCounters(record["created"], record["properties"]))
        return None

    return write_rows


#: How long a LOAD CSV step is retried after transient errors (as the driver's execute_write does).
RETRY_SECONDS = 30.0


def _run_csv_step(session, step: _Step, writers: _Writers, again: bool = False, **params):
    """Run one ``CALL {} IN TRANSACTIONS`` step, retried on transient errors and lost connections.

    Returns the step's counters and its one record: a node step's nodes' ids, or a
    relationship step's failed rows (none for ``again``, the wrapper that fails instead).

    Such a statement cannot run inside a managed transaction (execute_write), so
    the retry is done here (:func:`_retried`): the whole step runs again, and
    batches committed before the failure are matched by its MERGEs, not written
    twice. Nothing is retried once the load is stopping.
    """
    import neo4j

    query = neo4j.Query(_statement_for(step, "csv", again), metadata=writers.metadata)

    def attempt():
        result = session.run(query, **params)
        record = None if again else result.single(strict=True)
        return result.consume().counters, record

    return _retried(attempt, writers.stop)


def _retried(attempt, stop: threading.Event | None = None):
    """``attempt()``, run again after transient errors (a deadlock) and lost connections.

    Failures in a row are retried for up to :data:`RETRY_SECONDS`. An attempt
    that ran that long before it failed (a deadlock with a concurrent load late
    in a big step, say) has committed batches, so the retry starts a new budget:
    a long statement is never given up on for one late transient error. Once
    ``stop`` is set, nothing is retried.
    """
    import neo4j.exceptions as nx

    budget_began = time.monotonic()
    delay = 0.5
    while True:
        attempt_began = time.monotonic()
        try:
            return attempt()
        except (nx.Neo4jError, nx.DriverError) as exc:
            now = time.monotonic()
            if now - attempt_began >= RETRY_SECONDS:
                budget_began, delay = now, 0.5
            if not exc.is_retryable() or now + delay > budget_began + RETRY_SECONDS or _stopped_within(stop, delay):
                raise
        delay = min(delay * 2, 5.0)


def _stopped_within(stop: threading.Event | None, seconds: float) -> bool:
    """Wait ``seconds``; True if ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


@contextmanager
def _csv_rows(writers: _Writers, batch_size: int):
    """How a load via LOAD CSV writes rows: as a file in the local server's import folder, which
    the server reads; the folder is removed at the end."""
    folder_name = f"load-{uuid.uuid4().hex[:12]}"
    folder = server.neo4j_home() / "import" / folder_name
    folder.mkdir(parents=True, exist_ok=True)

    def write_rows(session, step: _Step, frame: pd.DataFrame, name: str):
        if not len(frame):
            return np.zeros(0, dtype=np.int64), []
        def run(file: str, rows: pd.DataFrame, again: bool = False):
            _write_frame_csv(rows, folder / file)
            writers.check()
            return _run_csv_step(session, step, writers, again, url=f"file:///{folder_name}/{file}", batch=int(batch_size), **step.extra)

        counters, record = run(f"{name}.csv", frame)
        if step.key:
            writers.wrote(step, len(frame), counters)
            return record["lines"], record["nodes"]
        failed = _failed_rows(record["failed"], len(frame))
        writers.wrote(step, len(frame) - len(failed), counters)
        if len(failed):
            writers.progress(f"{step.what}: {len(failed)} of {len(frame)} rows were rolled back ({_first_line(record['errors'])}); writing them again")
            counters, _ = run(f"{name}-again.csv", frame.iloc[failed], again=True)
            writers.wrote(step, len(failed), counters)
        return None

    try:
        yield write_rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _failed_rows(lines: list, rows: int) -> np.ndarray:
    """The frame rows of the CSV lines a relationship step reported as rolled back.

    The header is line 1, so row ``i`` is line ``i + 2``: a relationship file holds
    only ids, counts and times, never a field that spans lines.
    """
    failed = np.sort(np.asarray(lines, dtype=np.int64)) - 2
    if len(failed) and (failed[0] < 0 or failed[-1] >= rows):
        raise StoreError(f"the server reported failed rows outside the {rows} rows it was sent")
    return failed


def _first_line(errors: list) -> str:
    """The first line of the first error a failed batch gave, for a progress line."""
    return next((str(e).strip().splitlines()[0] for e in errors if e and str(e).strip()), "no error message")


def _write_frame_csv(frame: pd.DataFrame, path: Path, header: list[str] | None = None) -> int:
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


# --- bulk import ----------------------------------------------------------------------------------


def _has_newlines(frame: pd.DataFrame) -> bool:
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object and len(values):
            text = values.dropna().astype(str)
            if len(text) and text.str.contains(r"[\r\n]", regex=True).any():
                return True
    return False


class _NodeNumbers:
    """Node ids for ``neo4j-admin import --id-type=actual``: every node numbered once, from 0.

    Relationships then name their nodes by number, so the importer looks nothing
    up (with string ids it sorts and searches millions of them: most of its time).
    """

    def __init__(self):
        self.count = 0
        self.numbered = _NodeIds()

    def number(self, group: str, keys: pd.Series) -> np.ndarray:
        """Number the nodes of ``group`` (keys unique within it) after every node numbered before."""
        numbers = np.arange(self.count, self.count + len(keys), dtype=np.int64)
        self.numbered.put(group, keys, numbers)
        self.count += len(keys)
        return numbers

    def of(self, group: str, keys: pd.Series) -> np.ndarray:
        """The numbers of the nodes of ``group`` with these keys (every key must be a node)."""
        found = self.numbered.of(group, keys)
        if (found < 0).any():  # the frames come from one Evidence: a miss is a bug, not bad input
            raise StoreError(f"bulk import: a relationship names a {group} that is not a node")
        return found


def _arrow_text(values: pd.Series) -> pa.Array:
    return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _positions(keys: pd.Series, known: pa.Array) -> np.ndarray:
    """Each key's position in ``known``, -1 where it is not there (Arrow's hash table: millions of keys a second)."""
    return pc.index_in(_arrow_text(keys), value_set=known).fill_null(-1).to_numpy().astype(np.int64)


def bulk_files(evidence: Evidence, folder: Path, summary: LoadSummary | None = None) -> tuple[list[str], list[str]]:
    """Write neo4j-admin import CSV files for ``evidence`` into ``folder`` (pyarrow, column-wise).

    Returns the ``--nodes`` and ``--relationships`` arguments (labels and types
    given in the arguments, not as columns), for ``--id-type=actual``: nodes
    are numbered by :class:`_NodeNumbers` and their own ids are properties.
    Same graph as :func:`load` builds through Bolt; link nodes are keyed by kind
    and value. ``summary.multiline`` tells whether any text field holds a line break.
    """
    summary = summary or LoadSummary()
    folder.mkdir(parents=True, exist_ok=True)
    steps = {s.body + ("" if "label" not in s.extra else ":" + s.extra["label"]): s for s in _steps(evidence, summary)}
    nodes, rels = [], []
    numbers = _NodeNumbers()
    summary.multiline = False

    def write(name: str, frame: pd.DataFrame, header: list[str]) -> Path:
        path = folder / f"{name}.csv"
        summary.rows[name] = _write_frame_csv(frame, path, header)
        summary.multiline = summary.multiline or _has_newlines(frame)
        return path

    def node_file(name: str, frame: pd.DataFrame, key, header: list[str], labels: str) -> None:
        numbered = frame.copy()
        numbered.insert(0, "node", numbers.number(name, key))
        nodes.append(f"--nodes={labels}={write(name, numbered, [':ID', *header])}")

    def rel_file(name: str, props: pd.DataFrame, start: tuple[str, object], end: tuple[str, object], header: list[str], rel_type: str) -> None:
        """``props`` holds the relationship's property columns (matching ``header``), one row per relationship."""
        ends = pd.DataFrame({"start": numbers.of(*start), "end": numbers.of(*end)})
        frame = pd.concat([ends, props.reset_index(drop=True)], axis=1)
        rels.append(f"--relationships={rel_type}={write(name, frame, [':START_ID', ':END_ID', *header])}")

    accounts = steps["accounts"].frame
    node_file("accounts", accounts, accounts["account_id"], ["accountId", "createdAt:datetime", "email", "country", "extras"], "Account")
    methods = steps["payment_methods"].frame
    node_file("payment_methods", methods, methods["payment_id"], ["paymentId", "kind"], "PaymentMethod")
    bins = steps["bins"].frame
    node_file("bins", bins, bins["bin"], ["bin"], "Bin")
    addresses = steps["ip_addresses"].frame
    node_file("ip_addresses", addresses[["ip"]], addresses["ip"], ["ip"], "IpAddress")
    subnets = steps["subnets"].frame
    node_file("subnets", subnets, subnets["cidr"], ["cidr"], "Subnet")
    templates = steps["prompt_templates"].frame
    node_file("prompt_templates", templates, templates["template_id"], ["templateId", "text"], "PromptTemplate")
    issued = steps["issued_under"].frame
    rel_file("issued_under", issued.iloc[:, :0], ("payment_methods", issued["payment_id"]), ("bins", issued["bin"]), [], "ISSUED_UNDER")
    paid = steps["paid_with"].frame
    rel_file("paid_with", paid.iloc[:, :0], ("accounts", paid["account_id"]), ("payment_methods", paid["payment_id"]), [], "PAID_WITH")
    rel_file("in_subnet", addresses.iloc[:, :0], ("ip_addresses", addresses["ip"]), ("subnets", addresses["cidr"]), [], "IN_SUBNET")
    connected = steps["connected_from"].frame
    rel_file("connected_from", connected[["requests", "first_seen", "last_seen"]], ("accounts", connected["account_id"]), ("ip_addresses", connected["ip"]),
             ["requests:long", "firstSeen:datetime", "lastSeen:datetime"], "CONNECTED_FROM")
    sent = steps["sent"].frame
    rel_file("sent", sent[["count", "first_ts", "last_ts"]], ("accounts", sent["account_id"]), ("prompt_templates", sent["template_id"]),
             ["count:long", "firstTs:datetime", "lastTs:datetime"], "SENT")
    labels = sorted(s.extra["label"] for s in steps.values() if s.body == "links")
    for index, label in enumerate(labels):
        link_nodes = steps[f"links:{label}"].frame
        linked = steps[f"linked_to:{label}"].frame
        node_file(f"links_{index}", link_nodes[["kind", "value"]], _key_text(link_nodes, ("kind", "value")), ["kind", "value"], f"Link:{label}")
        rel_file(f"linked_to_{index}", linked.iloc[:, :0], ("accounts", linked["account_id"]), (f"links_{index}", _key_text(linked, ("kind", "value"))), [], "LINKED_TO")
    return nodes, rels


def bulk_load(evidence_or_dir, *, quiet: bool = False, start_after: bool = True) -> LoadSummary:
    """Replace the local database with ``evidence`` via ``neo4j-admin database import full``.

    For large graphs. Works only on the project's local server (NEO4J_URI unset),
    and only while it is stopped, because the import writes the store files
    directly. Starts the server afterwards (``start_after``) and creates the
    schema, so the result is what :func:`load` would build. ``summary.timings``
    holds the seconds of each part (prepare, write_csv, import, start, schema).
    """
    import os

    if os.environ.get("NEO4J_URI"):
        raise StoreError("bulk load writes the local database files; it cannot load into NEO4J_URI (unset it, or load without --bulk)")
    if server.is_running():
        raise StoreError(
            "bulk load replaces the local database and needs the server stopped: "
            "run `graphsleuth neo4j stop` first (or load without --bulk)"
        )
    evidence = _as_evidence(evidence_or_dir)
    summary = LoadSummary(method="neo4j-admin import")
    began = time.monotonic()
    folder = server.neo4j_home() / "import" / "bulk"
    shutil.rmtree(folder, ignore_errors=True)
    nodes, rels = bulk_files(evidence, folder, summary)
    summary.timings["write_csv"] = time.monotonic() - began
    if not quiet:
        print(f"importing {sum(summary.rows.values())} rows with neo4j-admin into the local database neo4j (replacing it)", file=sys.stderr)
    report = server.neo4j_home() / "logs" / "import.report"
    importing = time.monotonic()
    done = server.admin(
        ["database", "import", "full", "neo4j", "--overwrite-destination=true", "--id-type=actual",
         f"--multiline-fields={'true' if summary.multiline else 'false'}", f"--report-file={report}", *nodes, *rels],
        heap=server.IMPORT_HEAP,
    )
    summary.timings["import"] = time.monotonic() - importing
    output = done.stdout + done.stderr
    if done.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.strip().startswith("at ")]
        reasons = [ln for ln in lines if "Exception" in ln] or [ln for ln in lines if "rror" in ln] or lines[-2:]
        raise StoreError(f"neo4j-admin import failed: {reasons[0] if reasons else 'no output'} (see {report})")
    summary.nodes_created = _import_count(output, "nodes")
    summary.relationships_created = _import_count(output, "relationships")
    summary.seconds = time.monotonic() - began
    shutil.rmtree(folder, ignore_errors=True)
    if start_after:
        starting = time.monotonic()
        server.start(quiet=quiet)
        summary.timings["start"] = time.monotonic() - starting
        schema = time.monotonic()
        with open_driver() as (driver, conn), _store_errors(conn):
            with driver.session(database=conn.database) as session:
                apply_schema(session)
        summary.timings["schema"] = time.monotonic() - schema
    if not quiet:
        print(summary.describe(), file=sys.stderr)
    return summary


def _import_count(output: str, what: str) -> int:
    """Imported node/relationship count from neo4j-admin's closing report."""
    match = re.search(rf"Imported:\s*(?:\n|.)*?(\d+)\s+{what}", output)
    return int(match.group(1)) if match else 0


# --- findings written back -------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, (set, tuple, np.ndarray)):
        return list(value)
    return str(value)


def _time_text(value):
    if _missing(value):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _number(value):
    return None if _missing(value) else float(value)


def _findings_params(findings) -> dict:
    rings = [
        {
            "ring_id": str(r["ring_id"]),
            "score": _number(r.get("score")),
            "size": None if _missing(r.get("size")) else int(r["size"]),
            "explanation": None if r.get("explanation") is None else str(r["explanation"]),
            "evidence": json.dumps(r.get("evidence"), default=_jsonable, sort_keys=True) if r.get("evidence") is not None else None,
            "created_from": _time_text(r.get("created_from")),
            "created_to": _time_text(r.get("created_to")),
        }
        for r in findings.rings
    ]
    members_frame = findings.members
    members = _records(
        {
            "account_id": _text(members_frame["account_id"]),
            "ring_id": _text(members_frame["ring_id"]),
            "score": [_number(s) for s in _column(members_frame, "score")],
        }
    )
    clusters = [
        {
            "cluster_id": str(c["cluster_id"]),
            "reason": None if c.get("reason") is None else str(c["reason"]),
            "score": _number(c.get("score")),
            "size": None if _missing(c.get("size")) else int(c["size"]),
            "account_ids": [str(a) for a in (c.get("account_ids") or [])],
        }
        for c in findings.clusters
        if not c.get("flagged")
    ]
    return {"rings": rings, "members": members, "clusters": clusters}


def write_findings(findings, *, connection: server.Connection | None = None, quiet: bool = True) -> WriteSummary:
    """Write a detection run's rings and unflagged clusters to Neo4j, replacing that run's.

    One transaction: deletes the run's old :Ring and :Cluster nodes, creates
    the new ones with MEMBER_OF / IN_CLUSTER relationships, labels ring members
    :Suspect and removes :Suspect from accounts no ring of any run still holds.
    """
    params = _findings_params(findings)
    run = {"runId": str(findings.run_id), "algorithm": str(findings.algorithm), "seed": int(findings.seed)}
    cypher = statements("findings")
    summary = WriteSummary(run_id=run["runId"], rings=len(params["rings"]), members=len(params["members"]), clusters=len(params["clusters"]))

    def work(tx):
        steps = [
            ("delete_run_rings", {"runId": run["runId"]}),
            ("delete_run_clusters", {"runId": run["runId"]}),
            ("create_rings", {**run, "rings": params["rings"]}),
            ("link_ring_members", {"runId": run["runId"], "members": params["members"]}),
            ("create_clusters", {"runId": run["runId"], "algorithm": run["algorithm"], "clusters": params["clusters"]}),
            ("clear_unjustified_suspects", {}),
        ]
        totals = []
        for name, values in steps:
            totals.append(tx.run(cypher[name], **values).consume().counters)
        return totals

    with open_driver(connection) as (driver, conn), _store_errors(conn):
        with driver.session(database=conn.database) as session:
            apply_schema(session)
            for counters in session.execute_write(work):
                summary.nodes_created += counters.nodes_created
                summary.nodes_deleted += counters.nodes_deleted
                summary.relationships_created += counters.relationships_created
                summary.labels_removed += counters.labels_removed
    if not quiet:
        print(summary.describe(), file=sys.stderr)
    return summary


# --- reading back ------------------------------------------------------------------------------------


def _times(values: list) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601").astype("datetime64[ns, UTC]")


def _strings(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def read_evidence_from_neo4j(*, connection: server.Connection | None = None) -> Evidence:
    """The evidence graph in Neo4j as an :class:`Evidence`, as :func:`load` stored it.

    Tables hold what the graph holds: ips one row per account x IP (requests
    summed, first/last seen), prompts one row per account x template (``count``
    summed, ``ts`` the first time), accounts' extra columns from ``extras``.
    """
    with open_driver(connection) as (driver, conn), _store_errors(conn):
        with driver.session(database=conn.database) as session:
            raw = {name: _read(session, _statement("load", f"read_{name}")) for name in ("accounts", "payments", "ips", "prompts", "links")}
    accounts = pd.DataFrame(
        {
            "account_id": _strings([r["account_id"] for r in raw["accounts"]]),
            "created_at": _times([r["created_at"] for r in raw["accounts"]]),
            "email": _strings([r["email"] for r in raw["accounts"]]),
            "country": _strings([r["country"] for r in raw["accounts"]]),
        }
    )
    extras = [json.loads(r["extras"]) if r["extras"] else {} for r in raw["accounts"]]
    for name in sorted({k for e in extras for k in e}):
        accounts[name] = _strings([e.get(name) for e in extras])
    payments = pd.DataFrame(
        {k: _strings([r[k] for r in raw["payments"]]) for k in ("account_id", "payment_id", "kind", "bin")}
    )
    ips = pd.DataFrame(
        {
            "account_id": _strings([r["account_id"] for r in raw["ips"]]),
            "ip": _strings([r["ip"] for r in raw["ips"]]),
            "first_seen": _times([r["first_seen"] for r in raw["ips"]]),
            "last_seen": _times([r["last_seen"] for r in raw["ips"]]),
            "requests": pd.array([r["requests"] for r in raw["ips"]], dtype="Int64"),
        }
    )
    prompts = pd.DataFrame(
        {
            "account_id": _strings([r["account_id"] for r in raw["prompts"]]),
            "template_id": _strings([r["template_id"] for r in raw["prompts"]]),
            "ts": _times([r["ts"] for r in raw["prompts"]]),
            "count": pd.Series([int(r["count"]) for r in raw["prompts"]], dtype="int64"),
        }
    )
    links = pd.DataFrame({k: _strings([r[k] for r in raw["links"]]) for k in ("account_id", "kind", "value")})
    return Evidence(
        directory=Path(f"neo4j:{conn.uri}/{conn.database}"),
        accounts=accounts,
        payments=payments,
        ips=ips,
        prompts=prompts,
        links=links,
        rejects=pd.DataFrame(columns=["file", "row", "column", "reason", "value"]),
        files={},
    )


# --- investigators --------------------------------------------------------------------------------


def investigate(name: str, *, connection: server.Connection | None = None, **params) -> list[dict]:
    """Run the query ``name`` of cypher/investigate.cypher with ``params``; its rows as dicts."""
    cypher = _statement("investigate", name)
    with open_driver(connection) as (driver, conn), _store_errors(conn):
        with driver.session(database=conn.database) as session:
            return _read(session, cypher, **params)


def graph_counts(*, connection: server.Connection | None = None) -> dict[str, int]:
    """How many nodes carry each label and relationships each type ({"Account": 12, "PAID_WITH": 9, ...})."""
    with open_driver(connection) as (driver, conn), _store_errors(conn):
        with driver.session(database=conn.database) as session:
            rows = _read(session, _statement("load", "count_nodes")) + _read(session, _statement("load", "count_relationships"))
    return {r["name"]: int(r["n"]) for r in rows}


def clear(*, connection: server.Connection | None = None) -> None:
    """Delete every node and relationship of the database (keeps the schema). For tests and fresh starts.

    A deadlock with a writer still running (a load killed a moment ago, whose
    statement the server finishes) is retried: the batches deleted before it stay deleted.
    """
    with open_driver(connection) as (driver, conn), _store_errors(conn):
        with driver.session(database=conn.database) as session:
            # CALL { } IN TRANSACTIONS commits batches itself: it runs in an auto-commit transaction.
            for name in ("clear_relationships", "clear_graph"):
                _retried(lambda name=name: session.run(_statement("load", name)).consume())


def _cypher_string(value: str) -> str:
    """A Cypher string literal for ``value`` (JSON escapes are valid Cypher escapes)."""
    return json.dumps(str(value), ensure_ascii=True)


def browser_link(ring_id: str) -> str:
    """A Neo4j Browser URL that opens ring ``ring_id`` with all its evidence, ready to run.

    URLs cannot carry query parameters, so the ring id is bound in a leading
    ``WITH`` as a quoted literal and the query from cypher/investigate.cypher
    (ring_evidence) follows unchanged.
    """
    query = _statement("investigate", "ring_evidence").replace("$ringId", "ringId")
    cypher = f"WITH {_cypher_string(ring_id)} AS ringId\n{query}"
    return server.browser_edit_url(cypher)
