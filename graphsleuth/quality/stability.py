"""Does the answer flip? Detection re-run on nearly identical inputs, and how often each planted ring's outcome changes.

A ring must not be found whole on one run and missed on a nearly identical input. For one
population, :func:`stability` runs detection on perturbed copies of its evidence: with 5%
of the rows of every evidence table but accounts dropped at random (``draws`` times, each
with its own seed), and with one whole evidence table dropped (payments, ips, links, each
once). For every planted ring it reports whether it was found on the full input, and in how
many of the perturbed runs that outcome changed (found to missed, or back).
"""

from __future__ import annotations

import csv
import gzip
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .evaluation import evaluate_members, read_truth

__all__ = ["RingStability", "Stability", "stability", "perturb", "ROW_DROP", "DROPPABLE_TABLES"]

#: Share of rows dropped from each evidence table (accounts stay whole) in a row-drop draw.
ROW_DROP = 0.05
#: Tables dropped whole, one per draw, when the evidence has them.
DROPPABLE_TABLES = ("payments", "ips", "links")
_TABLES = ("accounts", "payments", "ips", "prompts", "links")


@dataclass(frozen=True)
class RingStability:
    """One planted ring: found on the full input, and the perturbed runs that changed that."""

    size: int
    found: bool
    row_drop_flips: int
    row_drop_draws: int
    table_drop_flips: tuple[str, ...]

    @property
    def flip_rate(self) -> float:
        return self.row_drop_flips / self.row_drop_draws if self.row_drop_draws else 0.0

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "found": self.found,
            "row_drop_flips": self.row_drop_flips,
            "row_drop_draws": self.row_drop_draws,
            "flip_rate": round(self.flip_rate, 4),
            "table_drop_flips": list(self.table_drop_flips),
        }


@dataclass
class Stability:
    """Every planted ring's stability, and the ring recall of each perturbed run."""

    rings: dict[str, RingStability]
    row_drop_ring_recall: list[float] = field(default_factory=list)
    table_drop_ring_recall: dict[str, float] = field(default_factory=dict)

    @property
    def worst_flip_rate(self) -> float:
        return max((r.flip_rate for r in self.rings.values()), default=0.0)

    def to_dict(self) -> dict:
        return {
            "worst_flip_rate": round(self.worst_flip_rate, 4),
            "rings_that_flip": sorted(k for k, r in self.rings.items() if r.row_drop_flips),
            "row_drop_ring_recall": self.row_drop_ring_recall,
            "table_drop_ring_recall": self.table_drop_ring_recall,
            "rings": {k: r.to_dict() for k, r in self.rings.items()},
        }


def _table_files(directory: Path) -> dict[str, Path]:
    found = {}
    for name in _TABLES:
        for suffix in (".csv", ".csv.gz", ".parquet"):
            path = directory / f"{name}{suffix}"
            if path.is_file():
                found[name] = path
                break
    return found


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        names = next(csv.reader(handle))
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False),
    )


def perturb(
    evidence_dir: str | Path, out_dir: str | Path, *, seed: int = 0, drop_rows: float = ROW_DROP, drop_table: str | None = None
) -> Path:
    """A copy of ``evidence_dir``'s tables in ``out_dir`` (CSV), with ``drop_rows`` of each table's rows
    but accounts' dropped at random, and the table ``drop_table`` left out."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([int(seed), 0x737461])
    for name, path in _table_files(Path(evidence_dir)).items():
        if name == drop_table:
            continue
        keep_all = name == "accounts" or drop_rows <= 0
        if keep_all and path.suffix == ".csv":
            shutil.copyfile(path, out / path.name)
            continue
        table = _read(path)
        if not keep_all:
            table = table.filter(pa.array(rng.random(table.num_rows) >= drop_rows))
        pacsv.write_csv(table, out / f"{name}.csv", write_options=pacsv.WriteOptions(quoting_style="needed"))
    return out


def _found(members: pd.DataFrame, truth: pd.DataFrame) -> tuple[dict[str, bool], float]:
    result = evaluate_members(members, truth)
    return {k: r.found for k, r in result.rings.items()}, result.ring_recall


def stability(evidence_dir: str | Path, truth_csv: str | Path, draws: int, detect=None, seed: int = 0) -> Stability:
    """Re-run detection ``draws`` times with 5% of rows dropped, and once per droppable table with that table
    dropped; say for each planted ring how often its found/missed outcome changed.

    ``detect`` takes an evidence directory and returns the members (account_id, ring_id) of the
    suspected rings; by default :func:`graphsleuth.api.detect`.
    """
    detect = detect or _detect_members
    truth = read_truth(truth_csv)
    base, _ = _found(detect(Path(evidence_dir)), truth)
    sizes = truth[truth["ring_id"].fillna("") != ""].groupby("ring_id").size()
    row_flips = dict.fromkeys(base, 0)
    table_flips: dict[str, list[str]] = {k: [] for k in base}
    row_recall, table_recall = [], {}
    present = _table_files(Path(evidence_dir))
    with tempfile.TemporaryDirectory(prefix="graphsleuth-stability-") as tmp:
        runs = [(f"rows-{d}", seed + d, None) for d in range(draws)]
        runs += [(f"no-{t}", seed, t) for t in DROPPABLE_TABLES if t in present]
        for label, draw_seed, table in runs:
            copy = perturb(evidence_dir, Path(tmp) / label, seed=draw_seed, drop_rows=0.0 if table else ROW_DROP, drop_table=table)
            found, recall = _found(detect(copy), truth)
            shutil.rmtree(copy, ignore_errors=True)
            for ring, was in base.items():
                if found.get(ring, False) != was:
                    if table:
                        table_flips[ring].append(table)
                    else:
                        row_flips[ring] += 1
            if table:
                table_recall[table] = recall
            else:
                row_recall.append(recall)
    rings = {
        ring: RingStability(int(sizes.get(ring, 0)), was, row_flips[ring], draws, tuple(table_flips[ring])) for ring, was in base.items()
    }
    return Stability(rings, row_recall, table_recall)


def _detect_members(directory: Path) -> pd.DataFrame:
    from ..api import detect

    return detect(directory, browser_links=False).members
