"""Request logs of a generated population: one row per request, in daily Parquet files.

The evidence tables say, per prompt row, that an account sent a template
``count`` times from time ``ts`` on. A provider holds the requests behind
such rows, so this module expands every prompt row into its requests and
spreads them over time as the scenario's ``[logs]`` section says
(:class:`~graphsleuth.synth.scenario.Logs`):

- the first request of a row is sent at the row's own ``ts``, so each
  account's first use of a template is the same in the logs as in the tables;
- a legitimate account's other requests fall on the ``spread_days`` days
  after it, at hours drawn from a diurnal curve in the local time of the
  account's country (integrators' services run around the clock);
- a ring's requests come in a burst of about ``burst_minutes`` after their
  row's time: the rows its operator sends in synchronised waves stay
  synchronised at request level.

Each request comes from one of the account's IPs in the ``ips`` table (every
one of them is used once before any is used twice, then they are drawn in
proportion to the table's request counts), with the user agent of the
account's device, the account's API key, its device fingerprint and token
counts. ``sample`` and ``legit_sample`` thin the requests of populations
whose full traffic would not fit the disk (each prompt row keeps at least one
request); the truth does not change. Everything is drawn from a random stream
of its own, so the tables stay byte-identical with or without logs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .arrays import DAY, HOUR, hex_text, prefixed, scramble

__all__ = ["LogsWritten", "write_logs", "LOG_COLUMNS", "UTC_OFFSET_HOURS"]

#: The columns of a generated log, in order (``template_id`` is ``prompt`` for raw prompts).
LOG_COLUMNS = ("ts", "account_id", "ip", "user_agent", "api_key_id", "device", "template_id", "tokens_in", "tokens_out")

#: The usual UTC offset of each country the generator knows, in hours.
UTC_OFFSET_HOURS = {
    "US": -5,
    "IN": 5.5,
    "GB": 0,
    "DE": 1,
    "BR": -3,
    "FR": 1,
    "JP": 9,
    "CA": -5,
    "KR": 9,
    "ES": 1,
    "IT": 1,
    "NL": 1,
    "PL": 1,
    "AU": 10,
    "SE": 1,
    "TR": 3,
    "ID": 7,
    "MX": -6,
    "SG": 8,
    "CN": 8,
}
#: How much people use an AI API in each local hour of the day: little at night, most in the working day and evening.
DIURNAL = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 9, 10, 10, 9, 8, 7, 7, 7, 6, 5, 3], dtype=float)
_OS = np.array(["Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64", "X11; Ubuntu; Linux x86_64"])


@dataclass
class LogsWritten:
    """What :func:`write_logs` wrote: the daily files, the requests in them and the sampling used."""

    files: list[str]
    requests: int
    prompt_rows: int
    sample: float
    legit_sample: float

    def to_dict(self) -> dict:
        return asdict(self)


def write_logs(population, directory: str | Path) -> LogsWritten:
    """Write ``population``'s requests to ``directory`` as one Parquet file per day (``YYYY-MM-DD.parquet``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    scenario, tables = population.scenario, population.tables
    settings = scenario.logs
    rng = np.random.default_rng([int(population.seed), 0x6C6F6773])
    accounts = tables["accounts"]
    account_ids = accounts["account_id"].combine_chunks()
    n = len(account_ids)
    kind = _per_account(population.truth, "kind", account_ids).to_numpy(zero_copy_only=False)
    ring = kind == "ring"
    integrator = kind == "integrator"
    country = _per_account(accounts, "country", account_ids).to_numpy(zero_copy_only=False)
    offset = np.array([UTC_OFFSET_HOURS.get(c, 0) for c in country], dtype=float) * HOUR

    prompts = tables["prompts"]
    row_account = _positions(prompts["account_id"], account_ids)
    text_column = "template_id" if "template_id" in prompts.column_names else "prompt"
    template = pc.dictionary_encode(prompts[text_column].combine_chunks())
    row_ts = pc.strptime(prompts["ts"], format="%Y-%m-%dT%H:%M:%SZ", unit="s").cast(pa.int64()).to_numpy()
    count = prompts["count"].to_numpy().astype(np.int64)
    share = np.where(ring[row_account], settings.sample, settings.sample * settings.legit_sample)
    if (share < 1).any():
        count = np.maximum(1, rng.binomial(count, np.minimum(share, 1.0)))

    row = np.repeat(np.arange(len(count), dtype=np.int32), count)
    first = np.zeros(len(row), dtype=bool)
    first[np.concatenate([[0], np.cumsum(count)[:-1]])] = True
    account = row_account[row]
    end = scenario.population.start_s + scenario.population.days * DAY
    ts = _request_times(rng, row_ts[row], first, account, ring, integrator, offset, settings, end)
    ip = _request_ips(rng, tables["ips"], account_ids, account)
    devices = _account_devices(tables["links"], account_ids)
    tokens_in = np.clip(rng.lognormal(5.5, 0.8, len(row)), 1, 100_000).astype(np.int32)
    tokens_out = np.clip(rng.lognormal(6.0, 0.9, len(row)), 1, 100_000).astype(np.int32)
    columns = {
        "account_id": account_ids,
        "ip": ip[1],
        "user_agent": _user_agents(devices),
        "api_key_id": prefixed("key_", hex_text(scramble(np.arange(n), population.seed * 31 + 7), 20)),
        "device": devices,
        text_column: template.dictionary,
    }
    index = {
        "account_id": account,
        "ip": ip[0],
        "user_agent": account,
        "api_key_id": account,
        "device": account,
        text_column: template.indices.to_numpy()[row],
    }
    files = _write_days(directory, ts, columns, index, tokens_in, tokens_out)
    return LogsWritten(files, int(len(row)), int(len(count)), float(settings.sample), float(settings.legit_sample))


def _per_account(table: pa.Table, column: str, account_ids: pa.Array) -> pa.Array:
    """``table[column]`` in the order of ``account_ids`` (the table has one row per account)."""
    where = _positions(account_ids, table["account_id"].combine_chunks())
    return table[column].combine_chunks().take(pa.array(where))


def _positions(values, ids: pa.Array) -> np.ndarray:
    found = pc.index_in(values, value_set=ids)
    if found.null_count:
        raise ValueError("the population's tables name an account that is not in its accounts table")
    return found.to_numpy().astype(np.int64)


def _request_times(rng, base, first, account, ring, integrator, offset, settings, end) -> np.ndarray:
    """Epoch milliseconds of every request (see the module's docstring), inside the window's end."""
    n = len(base)
    t = base.astype(np.int64).copy()
    later = ~first
    is_ring = ring[account] & later
    burst = np.minimum(rng.exponential(settings.burst_minutes * 60, n), 4 * settings.burst_minutes * 60)
    t[is_ring] += burst[is_ring].astype(np.int64)
    spread = max(settings.spread_days, 0.0)
    service = integrator[account] & later
    t[service] += (rng.random(int(service.sum())) * spread * DAY).astype(np.int64)
    people = later & ~ring[account] & ~integrator[account]
    days = max(1, int(np.ceil(spread)))
    local = offset[account[people]].astype(np.int64)
    midnight = (t[people] + local) // DAY * DAY - local
    hour = rng.choice(24, size=int(people.sum()), p=DIURNAL / DIURNAL.sum())
    at = midnight + rng.integers(0, days, int(people.sum())) * DAY + hour * HOUR + rng.integers(0, HOUR, int(people.sum()))
    at = np.where(at < t[people], at + DAY, at)
    t[people] = at
    late = t >= end
    t[late] = base[late] + (t[late] - base[late]) % np.maximum(end - base[late], 1)
    millis = np.where(first, 0, rng.integers(0, 1000, n))
    return t * 1000 + millis


def _request_ips(rng, ips: pa.Table, account_ids: pa.Array, account: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Each request's IP (position in the returned dictionary of the ips table's addresses).

    An account's k-th request (k below its number of IPs) uses its k-th IP, so every IP the
    tables list is seen; the others are drawn in proportion to the ips table's request counts.
    """
    owner = _positions(ips["account_id"], account_ids)
    order = np.argsort(owner, kind="stable")
    owner = owner[order]
    weight = ips["requests"].to_numpy().astype(float)[order] if "requests" in ips.column_names else np.ones(len(order))
    n = len(account_ids)
    per_account = np.bincount(owner, minlength=n)
    if (per_account[np.unique(account)] == 0).any():
        raise ValueError("an account with requests has no IP in the population's ips table")
    start = np.concatenate([[0], np.cumsum(per_account)[:-1]])
    cumulative = np.cumsum(weight)
    before = np.where(start > 0, cumulative[np.maximum(start - 1, 0)], 0.0)
    total = cumulative[np.minimum(start + per_account - 1, len(cumulative) - 1)] - before
    request_start = np.concatenate([[0], np.flatnonzero(account[1:] != account[:-1]) + 1])
    rank = np.arange(len(account)) - np.repeat(request_start, np.diff(np.r_[request_start, len(account)]))
    drawn = np.searchsorted(cumulative, before[account] + rng.random(len(account)) * total[account], side="right")
    last = start[account] + per_account[account] - 1
    chosen = np.where(rank < per_account[account], start[account] + rank, np.minimum(drawn, last))
    return order[chosen].astype(np.int32), ips["ip"].combine_chunks()


def _account_devices(links: pa.Table, account_ids: pa.Array) -> pa.Array:
    """Each account's device fingerprint (its first ``device`` link; null without one)."""
    devices = links.filter(pc.equal(links["kind"], "device"))
    where = pc.index_in(account_ids, value_set=devices["account_id"].combine_chunks())
    return devices["value"].combine_chunks().take(where)


def _user_agents(devices: pa.Array) -> pa.Array:
    """A browser user agent per device: accounts that share a device share it, others almost never do."""
    key = pc.fill_null(devices, "").to_numpy(zero_copy_only=False).astype(object)
    mixed = pd.util.hash_array(key, hash_key="graphsleuth-ua00").astype(np.uint64)
    os_name = pa.array(_OS[(mixed % np.uint64(len(_OS))).astype(np.int64)])
    major = pa.array(((mixed >> np.uint64(8)) % np.uint64(16) + np.uint64(120)).astype(np.int64)).cast(pa.string())
    build = pa.array(((mixed >> np.uint64(16)) % np.uint64(9000) + np.uint64(1000)).astype(np.int64)).cast(pa.string())
    patch = pa.array(((mixed >> np.uint64(32)) % np.uint64(200)).astype(np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(
        "Mozilla/5.0 (", os_name, ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/", major, ".0.", build, ".", patch, " Safari/537.36", ""
    )


def _write_days(directory: Path, ts: np.ndarray, columns: dict, index: dict, tokens_in, tokens_out) -> list[str]:
    """One file per UTC day, its requests in time order; text columns stored as dictionaries."""
    order = np.argsort(ts, kind="stable")
    ts_sorted = ts[order]
    day = ts_sorted // (DAY * 1000)
    bounds = np.flatnonzero(np.r_[True, day[1:] != day[:-1], True])
    files = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = order[lo:hi]
        table = {"ts": pa.array(ts_sorted[lo:hi], type=pa.timestamp("ms", tz="UTC"))}
        for name in LOG_COLUMNS[1:-2] if "template_id" in columns else [*LOG_COLUMNS[1:-3], "prompt"]:
            table[name] = pa.DictionaryArray.from_arrays(pa.array(index[name][rows].astype(np.int32)), columns[name])
        table["tokens_in"] = pa.array(tokens_in[rows])
        table["tokens_out"] = pa.array(tokens_out[rows])
        name = np.datetime64(int(day[lo]), "D").astype(str) + ".parquet"
        pq.write_table(pa.table(table), directory / name, compression="zstd")
        files.append(name)
    return files
