"""The investigator's loop measured: ring ids kept across runs, successors caught, days to detection.

    python benchmarks/loop.py                              # demo scenario, 5,000 accounts, 15 daily snapshots
    python benchmarks/loop.py --accounts 20000 --snapshots 22 --out /tmp/loop

A population is generated and followed over ``--snapshots`` daily snapshots
(``--growth`` more accounts and activity a day: 0.015, about a tenth a week);
detect runs on each, the previous run given. After the run on the day of the
ban the largest ring is banned (the generator bans the planted ring a quarter
day later and sends waves of successors). Each run is repeated on its own
data, the run itself given as previous, to measure ids on reruns. The last
line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from graphsleuth import api


def _rings(out: Path) -> dict[str, dict]:
    return {r["ring_id"]: r for r in map(json.loads, (out / "rings.jsonl").read_text().splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="demo")
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--snapshots", type=int, default=15)
    parser.add_argument("--growth", type=float, default=0.015)
    parser.add_argument("--ban-day", type=float, default=7.25)
    parser.add_argument("--out", type=Path, default=Path("bench-out/loop"))
    args = parser.parse_args()
    started = time.monotonic()
    snaps = args.out / "snapshots"
    api.generate(
        args.scenario,
        seed=args.seed,
        accounts=args.accounts,
        out=snaps,
        snapshots=args.snapshots,
        every="day",
        growth=args.growth,
        ban_day=args.ban_day,
        force=True,
    )
    ban_cut = int(args.ban_day) + 1  # the snapshot cut just before the ban
    runs, kept, existing, rerun_same, rerun_total = [], 0, 0, 0, 0
    for k in range(1, args.snapshots + 1):
        out = args.out / f"run-{k}"
        previous = runs[-1] if runs else None
        api.detect(snaps / f"snapshot-{k}", out, previous=previous, force=True)
        if previous is not None:
            now, before = _rings(out), _rings(previous)
            existing += len(before)
            kept += sum(1 for ring_id in before if ring_id in now)
            again = args.out / f"rerun-{k}"  # the same data again, after the run on it
            api.detect(snaps / f"snapshot-{k}", again, previous=out, force=True)
            rerun_total += len(now)
            rerun_same += len(set(_rings(again)) & set(now))
        if k == ban_cut:
            largest = max(_rings(out).values(), key=lambda r: r["size"])["ring_id"]
            api.verdict(out, largest, "banned", by="benchmark", note="the largest ring")
        runs.append(out)
    figures = api.evaluate(runs[-1], snaps / f"snapshot-{args.snapshots}" / "truth.csv").to_dict()
    result = {
        "scenario": args.scenario,
        "accounts_first": args.accounts,
        "snapshots": args.snapshots,
        "growth_per_day": args.growth,
        "rings_keeping_their_id_next_run": round(kept / existing, 4) if existing else None,
        "rings_keeping_their_id_on_rerun": round(rerun_same / rerun_total, 4) if rerun_total else None,
        "successors": figures.get("successors"),
        "over_time": figures.get("over_time"),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
