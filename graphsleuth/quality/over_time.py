"""Detection over a sequence of runs, against ground truth: successors caught, and how soon accounts are flagged.

*Successors caught*: the share of the planted successors (truth's
``successor_of``) that a run's ``successors.csv`` names as successors of the
right ring (the banned ring whose accounts, as banned, are mostly of the
planted ring they succeed). *Time to detection*: for each ring account
created after the first run's data time, the days from its creation to the
data time of the first run that flags it (in a ring, or as a successor).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["successors_caught", "time_to_detection", "run_chain"]


def _run_record(out: Path) -> dict:
    path = out / "run.json"
    if not path.is_file():
        raise InputError(str(path), "missing file: not the output of a graphsleuth detect run that records its time")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not a JSON record: {exc.msg}") from None


def run_chain(out: str | Path) -> list[Path]:
    """``out`` and the runs before it (each run.json names its previous), oldest first; a chain that breaks ends there."""
    chain, seen = [], set()
    current: Path | None = Path(out)
    while current is not None and current.is_dir() and (current / "run.json").is_file() and current.resolve() not in seen:
        seen.add(current.resolve())
        chain.append(current)
        previous = (_run_record(current).get("previous") or {}).get("out")
        current = Path(previous) if previous else None
    return chain[::-1]


def _successors(out: Path) -> pd.DataFrame:
    path = out / "successors.csv"
    if not path.is_file():
        return pd.DataFrame({"account_id": pd.Series([], dtype=str), "successor_of": pd.Series([], dtype=str)})
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def successors_caught(out: str | Path, truth: pd.DataFrame) -> dict | None:
    """How many planted successors ``out``/successors.csv names as successors of the right ring; None without any."""
    from ..investigation.verdicts import read_verdicts

    if "successor_of" not in truth.columns or not (truth["successor_of"] != "").any():
        return None
    out = Path(out)
    found = _successors(out)
    planted = truth.loc[truth["successor_of"] != "", ["account_id", "successor_of"]]
    ring_of = truth.set_index("account_id")["ring_id"]
    # Each banned ring stands for the planted ring most of its accounts (as banned) belong to.
    stands_for = {}
    for verdict in read_verdicts(out / "verdicts.jsonl"):
        names = ring_of.reindex(list(verdict.members)).replace("", np.nan).dropna()
        if len(names):
            stands_for[verdict.ring_id] = names.value_counts().index[0]
    said = found.assign(planted=found["successor_of"].map(stands_for))
    right = planted.merge(said, left_on=["account_id", "successor_of"], right_on=["account_id", "planted"], how="inner")
    wrong = said[~said["account_id"].isin(right["account_id"])]
    return {
        "planted": int(len(planted)),
        "caught": int(right["account_id"].nunique()),
        "share": round(right["account_id"].nunique() / len(planted), 4),
        "reported": int(found["account_id"].nunique()),
        "reported_wrongly": int(wrong["account_id"].nunique()),
    }


def _created(truth_csv: Path, last_run: Path) -> pd.Series:
    """Each account's creation time, from the accounts table beside truth.csv or the last run's evidence."""
    record = _run_record(last_run)
    for folder in (truth_csv.parent, Path(record.get("evidence") or "")):
        for name in ("accounts.csv", "accounts.csv.gz", "accounts.parquet"):
            path = folder / name
            if path.is_file():
                frame = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path, dtype=str, keep_default_na=False)
                if "created_at" not in frame.columns:
                    raise InputError(str(path), "missing column created_at: time to detection needs it", column="created_at")
                times = pd.to_datetime(frame["created_at"].replace("", None), utc=True, format="ISO8601")
                return pd.Series(times.to_numpy(), index=frame["account_id"].astype(str).to_numpy())
    raise InputError(str(truth_csv.parent / "accounts.csv"), "missing file: time to detection needs the accounts' creation times")


def time_to_detection(runs: list[Path], truth: pd.DataFrame, truth_csv: Path) -> dict:
    """Days from creation to the first run that flags each ring account created after the first run's data time."""
    from ..investigation.runs import read_run_members

    if not runs:
        raise InputError("--runs", "no runs given")
    times = []
    flagged = []
    for out in runs:
        as_of = _run_record(out).get("as_of")
        if not as_of:
            raise InputError(str(out / "run.json"), "missing field as_of", column="as_of")
        accounts = pd.concat([read_run_members(out)["account_id"], _successors(out)["account_id"]]).astype(str)
        times.append(pd.Timestamp(as_of))
        flagged.append(pd.DataFrame({"account_id": pd.unique(accounts), "at": pd.Timestamp(as_of)}))
    order = sorted(range(len(times)), key=times.__getitem__)
    first_cut = times[order[0]]
    first = pd.concat(flagged, ignore_index=True).groupby("account_id")["at"].min()
    created = _created(truth_csv, runs[order[-1]])
    ring = truth.loc[truth["ring_id"] != ""].copy()
    ring["created"] = created.reindex(ring["account_id"]).to_numpy()
    later = ring[ring["created"] > first_cut].copy()
    later["flagged"] = first.reindex(later["account_id"]).to_numpy()
    later["days"] = (later["flagged"] - later["created"]).dt.total_seconds() / 86400

    def figures(rows: pd.DataFrame) -> dict:
        caught = rows["days"].dropna()
        return {
            "accounts": int(len(rows)),
            "flagged": int(len(caught)),
            "median_days": round(float(caught.median()), 2) if len(caught) else None,
            "p90_days": round(float(caught.quantile(0.9)), 2) if len(caught) else None,
        }

    result = {"runs": len(runs), "first_run_as_of": first_cut.strftime("%Y-%m-%dT%H:%M:%SZ"), "ring_accounts_created_since": figures(later)}
    if "successor_of" in later.columns:
        result["successors"] = figures(later[later["successor_of"] != ""])
    return result
