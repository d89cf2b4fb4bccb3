"""What a provider sees over time: a generated population that grows, a ring banned and its successors,
as a sequence of snapshots.

The population as generated is the first snapshot. After its window, every
step (a day or a week) adds ``growth`` more accounts and activity: new
legitimate accounts (each drawn after an existing one: a new seat of a
company shares its card and NAT, a new individual gets a card and home IP of
its own), new members of the planted rings (sharing the ring's cards,
proxies, devices and templates), and new activity of the accounts already
there. In the first step a new ring starts, in the style of the scenario's
first ring but with cards, proxies, devices and templates of its own. On the
ban day the banned ring (the largest, unless named) goes quiet, and waves of
new accounts replace it, reusing a share of its cards, proxies, devices and
templates and the issuers (BINs) it buys its cards from; their phones are new.

Each snapshot holds the accounts created and the activity seen up to its
cut; ``truth.csv`` marks the successors in a ``successor_of`` column (and
gives them the banned ring's ``ring_id``: the same operator). The same
population, timeline and seed give the same snapshots.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..atomic import output_directory
from ..errors import GraphsleuthError
from .arrays import DAY, HOUR, hex_text, iso_times
from .population import SyntheticPopulation, _write_table

__all__ = ["Timeline", "GrownPopulation", "grow_population", "write_snapshots", "STEPS"]

#: Days between snapshots, by name.
STEPS = {"day": 1, "week": 7}
_TABLES = ("accounts", "payments", "ips", "prompts", "links")
#: Evidence kinds by table and column; the kind decides how a copied account renews the value.
_COLUMNS = {"payments": ("payment_id", "bin"), "ips": ("ip",), "prompts": ("template_id",), "links": ("value",)}


@dataclass(frozen=True)
class Timeline:
    """What happens after the population's window, and when snapshots are cut.

    ``snapshots`` cuts, ``every`` days apart, the first at the window's end;
    each step adds ``growth`` more accounts and activity. ``ban`` names the
    banned ring (None: the largest; "" for no ban), banned ``ban_day`` days
    after the window's end (None: half a day after the last cut but one);
    ``successors`` is the size of its successor waves together, as a share of
    the ring; they reuse each of its cards, proxy IPs, devices and templates
    with probability ``reuse``.
    """

    snapshots: int = 3
    every: int = 7
    growth: float = 0.10
    new_ring: bool = True
    ban: str | None = None
    ban_day: float | None = None
    successors: float = 0.3
    waves: int = 3
    reuse: float = 0.5

    def check(self) -> None:
        if self.snapshots < 1:
            raise GraphsleuthError(f"--snapshots must be at least 1, got {self.snapshots}")
        if self.every < 1:
            raise GraphsleuthError(f"--every must be at least 1 day, got {self.every}")
        for name in ("growth", "successors", "reuse"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise GraphsleuthError(f"--{name} must be a share between 0 and 1, got {value}")
        if self.waves < 1:
            raise GraphsleuthError(f"the successors come in at least one wave, got {self.waves}")

    @property
    def days(self) -> int:
        return (self.snapshots - 1) * self.every

    def ban_time(self, end: int) -> int | None:
        """When the ring is banned, in seconds; None when nothing is banned in the timeline."""
        if self.ban == "" or self.snapshots < 2:
            return None
        day = self.ban_day if self.ban_day is not None else (self.snapshots - 2) * self.every + 0.5
        if not 0 <= day < self.days:
            raise GraphsleuthError(f"--ban-day must fall between the first and the last snapshot (0 to {self.days}), got {day}")
        return end + int(day * DAY)


@dataclass
class GrownPopulation:
    """The population with everything the timeline added: tables with times in seconds, truth, cuts and events."""

    base: SyntheticPopulation
    timeline: Timeline
    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    cuts: list[int]
    columns: dict[str, list[str]]
    events: dict = field(default_factory=dict)

    def snapshot(self, cut: int) -> tuple[dict[str, pa.Table], pa.Table]:
        """The evidence tables and truth as seen at ``cut`` (seconds): accounts created and activity seen by then."""
        accounts = self.tables["accounts"]
        alive = accounts.loc[accounts["created"] <= cut, "account_id"]
        out = {"accounts": _arrow("accounts", accounts[accounts["created"] <= cut], self.columns["accounts"])}
        for name in ("payments", "links"):
            frame = self.tables[name]
            out[name] = _arrow(name, frame[frame["account_id"].isin(alive)], self.columns[name])
        ips = self.tables["ips"]
        ips = ips[ips["account_id"].isin(alive) & (ips["first"] <= cut)].copy()
        span = (ips["last"] - ips["first"]).to_numpy()
        seen = (np.minimum(ips["last"], cut) - ips["first"]).to_numpy()
        share = np.where(span > 0, seen / np.maximum(span, 1), 1.0)
        ips["requests"] = np.maximum(1, np.round(ips["requests"].to_numpy() * share)).astype(np.int64)
        ips["last"] = np.minimum(ips["last"], cut)
        out["ips"] = _arrow("ips", ips, self.columns["ips"])
        prompts = self.tables["prompts"]
        out["prompts"] = _arrow("prompts", prompts[prompts["account_id"].isin(alive) & (prompts["ts"] <= cut)], self.columns["prompts"])
        truth = self.truth[self.truth["account_id"].isin(alive)]
        return out, pa.Table.from_pandas(truth, preserve_index=False)


#: Time columns by table: evidence name -> the name of its seconds while the timeline is built.
_TIMES = {"accounts": {"created_at": "created"}, "ips": {"first_seen": "first", "last_seen": "last"}, "prompts": {"ts": "ts"}}


def _seconds(column: pa.ChunkedArray) -> np.ndarray:
    return pc.strptime(column, format="%Y-%m-%dT%H:%M:%SZ", unit="s").cast(pa.int64()).to_numpy(zero_copy_only=False)


def _frames(population: SyntheticPopulation) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """The population's tables as pandas, with times as seconds (created, first, last, ts), and each table's columns."""
    frames, order = {}, {}
    for name in _TABLES:
        table = population.tables[name]
        order[name] = table.column_names
        times = _TIMES.get(name, {})
        frame = table.drop([c for c in times if c in table.column_names]).to_pandas()
        for column, seconds in times.items():
            if column in table.column_names:
                frame[seconds] = _seconds(table[column])
        frames[name] = frame
    return frames, order


def _arrow(name: str, frame: pd.DataFrame, order: list[str]) -> pa.Table:
    """A table back in the evidence format: seconds as ISO text under their evidence names, columns in their order."""
    seconds = {v: k for k, v in _TIMES.get(name, {}).items()}
    columns = {}
    for column in frame.columns:
        if column in seconds:
            columns[seconds[column]] = iso_times(frame[column].to_numpy())
        else:
            columns[column] = pa.array(frame[column].to_numpy())
    return pa.table(columns).select(order)


class _Renewer:
    """Fresh values for copied accounts: cards, BINs, IPs, templates, devices, phones that nobody has yet."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def hex(self, n: int, digits: int) -> np.ndarray:
        return np.asarray(hex_text(self.rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64), digits).to_pylist(), dtype=object)

    def fresh(self, kind: str, values: np.ndarray) -> np.ndarray:
        n = len(values)
        if n == 0:
            return values
        if kind == "payment_id":
            return "pm_" + self.hex(n, 16)
        if kind == "bin":
            return self.rng.integers(400000, 560000, n).astype(str).astype(object)
        if kind == "template_id":
            return "t" + self.hex(n, 10)
        if kind == "ip":
            text = pd.Series(values, dtype=object).astype(str)
            six = text.str.contains(":", regex=False).to_numpy()
            first = text.str.split(".").str[0].to_numpy()
            rest = self.rng.integers(0, 256, (n, 3))
            rest[:, 2] = np.maximum(rest[:, 2], 2)
            v4 = first + "." + rest[:, 0].astype(str) + "." + rest[:, 1].astype(str) + "." + rest[:, 2].astype(str)
            v6 = "2a02:" + self.hex(n, 4) + ":" + self.hex(n, 4) + "::" + self.hex(n, 4)
            return np.where(six, v6, v4).astype(object)
        # links: devices, phones and any other kind
        text = pd.Series(values, dtype=object).astype(str)
        device = text.str.startswith("fp_").to_numpy()
        phone = text.str.startswith("+").to_numpy()
        digits = self.rng.integers(1_000_000_000, 9_999_999_999, n).astype(str)
        return np.where(device, "fp_" + self.hex(n, 16), np.where(phone, text.str[:3].to_numpy() + digits, text + "-" + self.hex(n, 6)))


def _users(frames: dict[str, pd.DataFrame]) -> dict[tuple[str, str], pd.Series]:
    """For each (table, column): how many accounts use each value."""
    return {
        (name, column): frames[name][["account_id", column]].drop_duplicates().groupby(column).size()
        for name, columns in _COLUMNS.items()
        for column in columns
    }


def _held(frames, ring_accounts: pd.Index) -> dict[tuple[str, str], pd.Index]:
    """For each (table, column): the values a ring holds (at least half their users are its accounts)."""
    held = {}
    for name, columns in _COLUMNS.items():
        frame = frames[name]
        for column in columns:
            pairs = frame[["account_id", column]].drop_duplicates()
            users = pairs.groupby(column).size()
            mine = pairs[pairs["account_id"].isin(ring_accounts)].groupby(column).size()
            held[(name, column)] = mine.index[(mine >= 0.5 * users.reindex(mine.index)).to_numpy()]
    return held


def _copy(
    frames,
    users,
    sources: np.ndarray,
    new_ids: np.ndarray,
    created: np.ndarray,
    end: int,
    renew: _Renewer,
    rng: np.random.Generator,
    held=None,
    keep: float = 1.0,
) -> dict[str, pd.DataFrame]:
    """New accounts ``new_ids`` made after ``sources`` (existing account ids), created at ``created``.

    Their activity is their source's, moved to run from creation to ``end``.
    A value only their source had is renewed for each copy. With ``held`` (the
    values of a ring, by table and column) each held value is kept with
    probability ``keep``, else renewed once for the whole group (BINs are kept
    unless ``keep`` is 0: a ring's own issuers); other values are kept.
    """
    accounts = frames["accounts"].set_index("account_id")
    src = accounts.loc[sources]
    start = int(frames["prompts"]["ts"].min()) if len(frames["prompts"]) else 0
    active = np.maximum(src["created"].to_numpy(), start)
    window_end = np.maximum(active + HOUR, frames["prompts"]["ts"].max() if len(frames["prompts"]) else end)
    scale = pd.Series((end - created) / np.maximum(window_end - active, HOUR), index=new_ids)
    origin = pd.Series(active, index=new_ids)
    born = pd.Series(created, index=new_ids)
    local = src["email"].str.split("@").str[0].to_numpy()
    domain = src["email"].str.split("@").str[1].to_numpy()
    email = local + rng.integers(10, 100, len(src)).astype(str) + "@" + domain
    out = {
        "accounts": pd.DataFrame({"account_id": new_ids, "email": email, "country": src["country"].to_numpy(), "created": created}),
    }
    pick = pd.DataFrame({"source": sources, "account_id": new_ids})
    for name in ("payments", "ips", "prompts", "links"):
        frame = frames[name].rename(columns={"account_id": "source"})
        rows = pick.merge(frame, on="source", how="inner").drop(columns="source")
        for column in _COLUMNS[name]:
            values = rows[column].to_numpy()
            count = users[(name, column)].reindex(values).fillna(0).to_numpy()
            private = (count <= 1) & (column != "template_id")
            if held is not None:
                mine = pd.Index(held[(name, column)])
                is_held = np.isin(values, mine)
                p = keep if column != "bin" or keep == 0 else 1.0
                kept_values = mine[rng.random(len(mine)) < p]
                renewed = mine.difference(kept_values)
                mapping = pd.Series(renew.fresh(column, renewed.to_numpy()), index=renewed)
                swap = is_held & np.isin(values, renewed)
                values = np.where(swap, pd.Series(values).map(mapping).to_numpy(), values)
                private &= ~is_held
            values = np.where(private, renew.fresh(column, values) if private.any() else values, values)
            rows[column] = values
        ids = rows["account_id"]
        for column in ("first", "last", "ts"):
            if column in rows.columns:
                moved = born[ids].to_numpy() + (rows[column].to_numpy() - origin[ids].to_numpy()) * scale[ids].to_numpy()
                rows[column] = np.clip(moved, born[ids].to_numpy(), end - 1).astype(np.int64)
        out[name] = rows[frames[name].columns]
    return out


def grow_population(population: SyntheticPopulation, timeline: Timeline | None = None) -> GrownPopulation:
    """Grow ``population`` along ``timeline``: new accounts, new activity, a new ring, a ban and its successors."""
    timeline = timeline or Timeline()
    timeline.check()
    rng = np.random.default_rng([population.seed, 0x73756363])
    renew = _Renewer(rng)
    frames, order = _frames(population)
    truth = population.truth.to_pandas()
    truth["successor_of"] = ""
    window = population.manifest["window"]
    end = int(pd.Timestamp(window["start"]).timestamp()) + int(window["days"]) * DAY
    cuts = [end + k * timeline.every * DAY for k in range(timeline.snapshots)]
    last = cuts[-1]
    ban_at = timeline.ban_time(end)
    ring_sizes = truth.loc[truth["ring_id"] != "", "ring_id"].value_counts()
    banned = None
    if ban_at is not None and len(ring_sizes):
        banned = timeline.ban or ring_sizes.sort_values(kind="stable").index[-1]
        if banned not in ring_sizes.index:
            raise GraphsleuthError(f"--ban names no planted ring: {banned!r} (rings: {', '.join(sorted(ring_sizes.index))})")
    users = _users(frames)
    width = len(str(frames["accounts"]["account_id"].iloc[0])) - 1
    next_number = [len(truth)]
    groups = truth["group_id"].str[1:].astype(int)
    next_group = [int(groups.max()) + 1 if len(groups) else 0]
    added: list[dict[str, pd.DataFrame]] = []
    new_ring = None
    added_truth: list[pd.DataFrame] = []

    def new_ids(n: int) -> np.ndarray:
        numbers = next_number[0] + np.arange(n)
        next_number[0] += n
        return _account_ids(numbers, width)

    def add(sources, created, truth_rows, held=None, keep=1.0, until=last):
        ids = new_ids(len(sources))
        added.append(
            _copy(frames, users, np.asarray(sources, dtype=object), ids, np.asarray(created, np.int64), until, renew, rng, held, keep)
        )
        added_truth.append(truth_rows.assign(account_id=ids)[truth.columns])

    by_id = truth.set_index("account_id", drop=False)
    legit = truth[truth["ring_id"] == ""]
    for k in range(1, timeline.snapshots):
        lo, hi = cuts[k - 1], cuts[k]
        # New legitimate accounts, each after an existing one.
        n = int(round(timeline.growth * len(legit)))
        sources = legit["account_id"].to_numpy()[rng.integers(0, len(legit), n)]
        rows = by_id.loc[sources].copy()
        alone = ~rows["kind"].isin(["household", "company", "campus"]).to_numpy()
        rows.loc[alone, "group_id"] = "g" + (next_group[0] + np.arange(int(alone.sum()))).astype(str).astype(object)
        next_group[0] += int(alone.sum())
        add(sources, lo + rng.integers(0, hi - lo, n), rows)
        # New members of the planted rings, in one burst each (none for a ring banned by then).
        for ring, size in ring_sizes.items():
            burst = lo + int(rng.integers(0, max(1, hi - lo - DAY)))
            if ring == banned and burst + DAY > ban_at:
                continue
            members = truth.loc[truth["ring_id"] == ring, "account_id"].to_numpy()
            n = max(1, int(round(timeline.growth * size)))
            sources = members[rng.integers(0, len(members), n)]
            add(sources, burst + rng.integers(0, DAY, n), by_id.loc[sources], until=ban_at if ring == banned else last)
        if k == 1 and timeline.new_ring and len(ring_sizes):
            pattern = str(population.ring_ids[0]) if population.ring_ids else ring_sizes.index[0]
            members = truth.loc[truth["ring_id"] == pattern, "account_id"].to_numpy()
            name = f"new-{pattern}"
            sources = rng.permutation(members)
            created = lo + int(rng.integers(0, max(1, (hi - lo) // 2))) + rng.integers(0, DAY, len(sources))
            rows = by_id.loc[sources].assign(ring_id=name, group_id=f"g{next_group[0]}")
            next_group[0] += 1
            add(sources, created, rows, held=_held(frames, pd.Index(members)), keep=0.0)
            new_ring = name
        # New activity of the accounts already there: a share of their rows again, within this step.
        _more_activity(frames, added, lo, hi, timeline.growth, rng)
    events = {"cuts": [_iso(c) for c in cuts]}
    if new_ring is not None:
        events["new_ring"] = new_ring
    if banned is not None:
        members = pd.Index(truth.loc[truth["ring_id"] == banned, "account_id"])
        held = _held(frames, members)
        n = max(1, int(round(timeline.successors * len(members))))
        sources = members.to_numpy()[rng.integers(0, len(members), n)]
        wave = rng.integers(0, timeline.waves, n)
        starts = ban_at + (np.arange(1, timeline.waves + 1) * (last - ban_at) / (timeline.waves + 1)).astype(np.int64)
        created = starts[wave] + rng.integers(0, 6 * HOUR, n)
        rows = by_id.loc[sources].assign(successor_of=banned)
        add(sources, created, rows, held=held, keep=timeline.reuse)
        events["ban"] = {"ring": banned, "at": _iso(ban_at), "successors": n, "waves": timeline.waves}
    # New accounts' ids in random order, so that nothing about an account can be read from its id.
    first_new = len(truth)
    shuffled = _account_ids(first_new + rng.permutation(next_number[0] - first_new), width)
    renumber = pd.Series(shuffled, index=_account_ids(np.arange(first_new, next_number[0]), width))
    for part in added:
        for frame in part.values():
            if len(frame):
                frame["account_id"] = frame["account_id"].map(renumber).fillna(frame["account_id"])
    added_truth = [t.assign(account_id=t["account_id"].map(renumber)) for t in added_truth]
    tables = {name: pd.concat([frames[name], *(a[name] for a in added)], ignore_index=True) for name in _TABLES}
    grown_truth = pd.concat([truth, *added_truth], ignore_index=True).sort_values("account_id", kind="stable").reset_index(drop=True)
    if banned is not None:
        gone = pd.Index(grown_truth.loc[(grown_truth["ring_id"] == banned) & (grown_truth["successor_of"] == ""), "account_id"])
        quiet = tables["prompts"]["account_id"].isin(gone) & (tables["prompts"]["ts"] > ban_at)
        tables["prompts"] = tables["prompts"][~quiet]
        ips = tables["ips"]
        ips = ips[~(ips["account_id"].isin(gone) & (ips["first"] > ban_at))].copy()
        theirs = ips["account_id"].isin(gone)
        ips.loc[theirs, "last"] = np.minimum(ips.loc[theirs, "last"], ban_at)
        tables["ips"] = ips
    for name in _TABLES:
        frame = tables[name]
        keys = ["account_id"] + [c for c in ("ts",) if c in frame.columns]
        tables[name] = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return GrownPopulation(population, timeline, tables, grown_truth, cuts, order, events)


def _more_activity(frames, added, lo: int, hi: int, share: float, rng: np.random.Generator) -> None:
    """A ``share`` of the existing prompt and IP rows again, moved into [lo, hi)."""
    prompts = frames["prompts"]
    again = prompts[rng.random(len(prompts)) < share].copy()
    if len(again):
        t0, t1 = prompts["ts"].min(), prompts["ts"].max()
        again["ts"] = (lo + (again["ts"] - t0) * (hi - lo - 1) / max(1, t1 - t0)).astype(np.int64)
    ips = frames["ips"]
    seen = ips[rng.random(len(ips)) < share].copy()  # an IP seen again: one more row, within this step
    seen["first"] = lo + rng.integers(0, hi - lo, len(seen))
    seen["last"] = seen["first"] + (rng.random(len(seen)) * (hi - seen["first"])).astype(np.int64)
    seen["requests"] = np.maximum(1, np.round(seen["requests"].to_numpy() * share)).astype(np.int64)
    added.append({name: frames[name].iloc[:0] for name in _TABLES} | {"prompts": again, "ips": seen})


def _account_ids(numbers: np.ndarray, width: int) -> np.ndarray:
    """Account ids as the generator writes them (``u`` and the number, zero-padded to ``width``)."""
    text = pc.utf8_lpad(pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0")
    return np.asarray(pc.binary_join_element_wise("u", text, "").to_pylist(), dtype=object)


def _iso(seconds: int) -> str:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def write_snapshots(grown: GrownPopulation, out: str | Path, format: str = "csv", force: bool = False) -> Path:
    """Write each snapshot to ``out``/snapshot-1, snapshot-2, ... (evidence, truth.csv, manifest.json), and timeline.json."""
    with output_directory(out, force) as tmp:
        for k, cut in enumerate(grown.cuts, start=1):
            folder = tmp / f"snapshot-{k}"
            folder.mkdir()
            tables, truth = grown.snapshot(cut)
            for name, table in tables.items():
                _write_table(table, folder / name, format)
            _write_table(truth, folder / "truth", "csv")
            rings = truth.to_pandas()
            manifest = {
                **grown.base.manifest,
                "snapshot": k,
                "cut": _iso(cut),
                "accounts": int(truth.num_rows),
                "ring_accounts": int((rings["ring_id"] != "").sum()),
                "rings": {str(r): int(n) for r, n in rings.loc[rings["ring_id"] != "", "ring_id"].value_counts().sort_index().items()},
                "successors": int((rings["successor_of"] != "").sum()),
                "rows": {name: t.num_rows for name, t in tables.items()},
            }
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        record = {"timeline": asdict(grown.timeline), **grown.events, "snapshots": [f"snapshot-{k}" for k in range(1, len(grown.cuts) + 1)]}
        (tmp / "timeline.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return Path(out)
