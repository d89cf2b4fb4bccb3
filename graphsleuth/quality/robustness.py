"""Robustness: detection measured on a family of sampled populations, never on one (``make robustness``).

Each population is drawn by :func:`graphsleuth.synth.sample_scenario` from a sample seed,
generated, run through detection and evaluated in a fresh process (at most two at a time, the
machine's two cores). The run prints one line per population, the minimum, median and maximum
of precision, recall, ring recall and false positives per 100k legitimate accounts, the worst
populations with their knobs and the path of their scenario file (which replays them), and
ends with one JSON line::

    {"populations": 30, "ring_recall_median": ..., "ring_recall_min": ..., "precision_min": ...,
     "recall_median": ..., "fp_per_100k_max": ...}

also written to ``OUT/robustness.json`` (every population's figures are in ``OUT/results.json``).

Seeds: two ranges that never meet.

* **evaluation** (the default, what ``make robustness`` reports): sample seeds from 900,000
  (:data:`EVALUATION_SEEDS`). Reserved for reporting: never tune detection on them.
* **tuning** (``--mode tuning``): sample seeds from 100,000 (:data:`TUNING_SEEDS`); tune on
  these, then report on the evaluation range.

Population ``i`` of a run has sample seed ``range.start + first + i``; its size is the
sampler's own draw (5,000 to 200,000 accounts, log-uniform) capped by ``--max-accounts``, and
its prompts are template ids, or raw text for every third seed (``--prompts`` overrides).
``--stability DRAWS`` also re-runs detection on perturbed inputs of each population
(:mod:`.stability`) and reports, per planted ring, how often its outcome changed.

Run ``python -m graphsleuth.quality.robustness --help`` for the options.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

__all__ = ["EVALUATION_SEEDS", "TUNING_SEEDS", "seeds_for", "run_population", "summarise", "describe_ring"]

#: Sample seeds reserved for reporting detection's figures; never tune on them.
EVALUATION_SEEDS = range(900_000, 910_000)
#: Sample seeds to tune detection on.
TUNING_SEEDS = range(100_000, 110_000)
MAX_JOBS = 2
HEADLINE = ("populations", "ring_recall_median", "ring_recall_min", "precision_min", "recall_median", "fp_per_100k_max")


def seeds_for(mode: str, populations: int, first: int = 0) -> list[int]:
    """The sample seeds of a run: ``populations`` of them from ``first`` on in the mode's range."""
    seeds = {"evaluation": EVALUATION_SEEDS, "tuning": TUNING_SEEDS}[mode]
    if first < 0 or first + populations > len(seeds):
        raise click.UsageError(f"the {mode} range holds {len(seeds):,} seeds: --first {first} with {populations} populations leaves it")
    return list(seeds[first : first + populations])


def _prompts_for(seed: int, prompts: str) -> str:
    return ("raw" if seed % 3 == 2 else "template") if prompts == "mixed" else prompts


def run_population(seed: int, accounts_cap: int, prompts: str, directory: Path, stability_draws: int = 0, keep: bool = False) -> dict:
    """Generate, detect and evaluate one sampled population in this process; return (and write) its figures."""
    from ..api import detect, generate
    from ..synth import sample_scenario
    from .evaluation import evaluate

    directory.mkdir(parents=True, exist_ok=True)
    evidence, rings_dir = directory / "evidence", directory / "rings"
    accounts = min(sample_scenario(seed).population.accounts, accounts_cap)
    started = time.perf_counter()
    population = generate(sample_seed=seed, accounts=accounts, prompts=prompts, out=evidence, force=True)
    generated = time.perf_counter()
    detect(evidence, rings_dir, browser_links=False, force=True)
    detected = time.perf_counter()
    result = evaluate(rings_dir, evidence / "truth.csv").to_dict()
    shutil.copyfile(evidence / "scenario.toml", directory / "scenario.toml")
    traits = {r["ring_id"]: r for r in population.ring_traits["rings"]}
    figures = {
        "seed": seed,
        "accounts": accounts,
        "prompts": prompts,
        "scenario": str(directory / "scenario.toml"),
        "generate_s": round(generated - started, 2),
        "detect_s": round(detected - generated, 2),
        **{k: result[k] for k in ("precision", "recall", "ring_recall", "rings_found", "rings_planted", "false_positives")},
        "fp_per_100k": result["false_positives_per_100k"],
        "false_positive_kinds": result["false_positive_kinds"],
        "campaign_recall": result.get("campaigns", {}).get("campaign_recall"),
        "rings_merged": result.get("campaigns", {}).get("rings_merged"),
        "lookalikes": _lookalikes(population.scenario),
        "rings": {
            ring_id: {**ring, "merged_with": result.get("campaigns", {}).get("merged", {}).get(ring_id, {}).get("merged_with", [])}
            | {"knobs": describe_ring(traits[ring_id], raw=prompts == "raw")}
            for ring_id, ring in result["rings"].items()
        },
    }
    if stability_draws:
        from .stability import stability

        figures["stability"] = stability(evidence, evidence / "truth.csv", stability_draws).to_dict()
    if not keep:
        shutil.rmtree(evidence, ignore_errors=True)
    (directory / "result.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def _lookalikes(scenario) -> dict:
    from ..synth.scenario import LOOKALIKE_KINDS

    legit = scenario.legit
    present = {kind: getattr(legit, kind) for kind in LOOKALIKE_KINDS if getattr(legit, kind) > 0}
    if legit.starter_kit_users:
        present["starter_kit_users"] = legit.starter_kit_users
    present["power_users"] = max((b.power_users for b in scenario.banks), default=0.0)
    return present


def describe_ring(record: dict, raw: bool = True) -> str:
    """A planted ring's knobs in a few words, from its truth_rings.json record (phrasings only for raw prompts)."""
    p, m, t = record["planted"], record["measured"], record["traits"]
    if p.get("account_days", 0) > 0:  # the accounts take turns: made as each starts work, over the whole window
        turns = "one after another" if p["creation"] == "even" else f"in {p['creation_bursts']} bursts"
        span = m["creation_span_days"]
        over = f"{span * 24:.0f} h" if span < 2 else f"{span:.0f} d"
        created = f"taking turns {turns} over {over}, {p['account_days']:.0f} d each"
    elif p["creation"] == "even":
        days = p["creation_days"]
        created = f"evenly over {days * 24:.0f} h" if days < 2 else f"evenly over {days:.0f} d"
    else:
        created = f"{p['creation_bursts']} burst{'s' if p['creation_bursts'] != 1 else ''} of {p['burst_hours']:.0f} h"
    if not t["pays"]:
        pays = "no payment"
    elif p["dressed_as_company"]:
        pays = "one corporate card"
    else:
        per_card = "1 card each" if m["accounts_per_card_max"] <= 1 else f"{m['accounts_per_card_max']} accounts/card max"
        pays = f"{per_card}, {m['bins']} {p['bin_source']} BIN{'s' if m['bins'] != 1 else ''}"
    proxies = p["proxies"] + (f" ({p['proxy_overlap']:.0%} homes)" if p["proxies"] in ("residential", "mixed") else "")
    own = sum(p["templates"].values())
    tools = " + ".join(x for x in (f"{own} own" if own else "", f"bank {p['bank']}" if p["bank"] else "") if x)
    waves = f"waves {m['wave_request_share']:.0%}" if t["lockstep_waves"] else "no waves"
    extra = [
        x
        for x in (
            f"{p['phrasings']} phrasings" if raw and p["phrasings"] > 1 else "",
            "dressed as a company" if t["dressed_as_company"] else "",
        )
        if x
    ]
    parts = [f"{record['size']:,} acc", created, pays, proxies, f"camouflage {p['camouflage']:.0%}", waves, tools, p["schedule"], *extra]
    return "; ".join(parts)


def _stats(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def summarise(results: list[dict]) -> dict:
    """The headline figures of a run: populations, ring recall median and min, precision min, recall median, worst FP per 100k."""
    if not results:
        return dict.fromkeys(HEADLINE, 0) | {"populations": 0}
    return {
        "populations": len(results),
        "ring_recall_median": round(statistics.median(r["ring_recall"] for r in results), 4),
        "ring_recall_min": round(min(r["ring_recall"] for r in results), 4),
        "precision_min": round(min(r["precision"] for r in results), 4),
        "recall_median": round(statistics.median(r["recall"] for r in results), 4),
        "fp_per_100k_max": round(max(r["fp_per_100k"] for r in results), 2),
    }


def _row(r: dict) -> str:
    campaign = "" if r["campaign_recall"] is None else f"{r['campaign_recall']:.2f}"
    return (
        f"{r['seed']:>7} {r['accounts']:>8,} {r['prompts']:>8} {r['rings_planted']:>5} {r['precision']:>9.3f} {r['recall']:>7.3f} "
        f"{r['rings_found']:>4}/{r['rings_planted']:<3} {r['ring_recall']:>6.3f} {r['fp_per_100k']:>9.1f} {campaign:>8} "
        f"{r['rings_merged'] or 0:>6} {r['generate_s'] + r['detect_s']:>7.1f}"
    )


def _report(results: list[dict], failures: list[tuple[int, str]], worst: int, echo) -> None:
    echo(
        f"{'seed':>7} {'accounts':>8} {'prompts':>8} {'rings':>5} {'precision':>9} {'recall':>7} {'found':>8} {'ring r.':>6} "
        f"{'FP/100k':>9} {'campaign':>8} {'merged':>6} {'seconds':>7}"
    )
    for r in sorted(results, key=lambda r: r["seed"]):
        echo(_row(r))
    for seed, why in failures:
        echo(f"{seed:>7} FAILED: {why}")
    if not results:
        return
    echo("")
    for label, key in (("precision", "precision"), ("recall", "recall"), ("ring recall", "ring_recall"), ("FP per 100k", "fp_per_100k")):
        low, mid, high = _stats([r[key] for r in results])
        echo(f"{label:<12} min {low:8.3f}   median {mid:8.3f}   max {high:8.3f}")
    stable = [r for r in results if "stability" in r]
    if stable:
        flips = [(r["stability"]["worst_flip_rate"], r["seed"]) for r in stable]
        rate, seed = max(flips)
        echo(f"stability: worst share of 5%-row-drop draws that flip a planted ring: {rate:.2f} (population {seed})")
        for r in stable:
            for ring_id, s in r["stability"]["rings"].items():
                if s["row_drop_flips"] or s["table_drop_flips"]:
                    tables = ", ".join(s["table_drop_flips"]) or "none"
                    echo(
                        f"  {r['seed']} {ring_id} ({s['size']:,}, {'found' if s['found'] else 'missed'}): "
                        f"flips in {s['row_drop_flips']}/{s['row_drop_draws']} row drops; tables whose drop flips it: {tables}"
                    )
    echo("")
    echo(f"worst {min(worst, len(results))} populations:")
    ranked = sorted(results, key=lambda r: (r["ring_recall"], r["precision"], -r["fp_per_100k"], r["recall"]))
    for r in ranked[:worst]:
        looks = ", ".join(f"{k} {v:.3f}" for k, v in r["lookalikes"].items()) or "none"
        echo(
            f"- seed {r['seed']}: {r['accounts']:,} accounts, {r['prompts']} prompts, ring recall {r['ring_recall']:.3f}, "
            f"precision {r['precision']:.3f}, FP/100k {r['fp_per_100k']:.1f}; scenario {r['scenario']}"
        )
        echo(f"  look-alikes (shares): {looks}")
        if r["false_positive_kinds"]:
            echo("  false positives: " + ", ".join(f"{k} {v}" for k, v in r["false_positive_kinds"].items()))
        for ring_id, ring in sorted(r["rings"].items(), key=lambda kv: -kv[1]["size"]):
            if not ring["found"] or ring["merged_with"]:
                merged = f", merged with {', '.join(ring['merged_with'])}" if ring["merged_with"] else ""
                state = "found" if ring["found"] else "MISSED"
                echo(f"  {state} {ring_id} (best Jaccard {ring['best_jaccard']:.2f}{merged}): {ring['knobs']}")


def _worker(seed: int, args: dict, out: Path) -> tuple[int, dict | None, str]:
    directory = out / f"population-{seed}"
    command = [
        sys.executable,
        "-m",
        "graphsleuth.quality.robustness",
        "--one",
        str(seed),
        "--max-accounts",
        str(args["max_accounts"]),
        "--prompts",
        _prompts_for(seed, args["prompts"]),
        "--out",
        str(directory),
        "--stability",
        str(args["stability"]),
    ] + (["--keep"] if args["keep"] else [])
    # The workers run the coordinator's own graphsleuth, wherever they start.
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return seed, None, last
    return seed, json.loads((directory / "result.json").read_text()), ""


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--mode", type=click.Choice(["evaluation", "tuning"]), default="evaluation", show_default=True, help="Which seed range.")
@click.option("--populations", type=click.IntRange(1), default=30, show_default=True)
@click.option("--first", type=click.IntRange(0), default=0, show_default=True, help="Start this far into the mode's seed range.")
@click.option("--max-accounts", type=click.IntRange(1000), default=200_000, show_default=True, help="Cap on a population's size.")
@click.option("--prompts", type=click.Choice(["mixed", "template", "raw"]), default="mixed", show_default=True)
@click.option("--jobs", type=click.IntRange(1, MAX_JOBS), default=MAX_JOBS, show_default=True, help="Populations at a time.")
@click.option("--stability", type=click.IntRange(0), default=0, help="Also re-run detection on this many 5%-row-drop draws per population.")
@click.option("--worst", type=click.IntRange(1), default=3, show_default=True, help="How many of the worst populations to describe.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where results go [default: out/robustness/MODE]."
)
@click.option("--keep", is_flag=True, help="Keep each population's evidence (else only its scenario file and results).")
@click.option("--one", type=int, default=None, hidden=True, help="Run one population in this process (the harness's workers).")
def main(mode, populations, first, max_accounts, prompts, jobs, stability, worst, out, keep, one):
    """Detection on a family of sampled populations: figures per population, their spread, the worst ones, one JSON line."""
    if one is not None:
        run_population(one, max_accounts, "template" if prompts == "mixed" else prompts, out, stability, keep)
        return
    out = out or Path("out") / "robustness" / mode
    out.mkdir(parents=True, exist_ok=True)
    seeds = seeds_for(mode, populations, first)
    click.echo(
        f"robustness, {mode} seeds {seeds[0]}-{seeds[-1]}: {populations} sampled populations, up to {max_accounts:,} accounts, {jobs} at a time"
    )
    args = {"max_accounts": max_accounts, "prompts": prompts, "stability": stability, "keep": keep}
    results, failures = [], []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for seed, result, why in pool.map(lambda s: _worker(s, args, out), seeds):
            if result is None:
                failures.append((seed, why))
                click.echo(f"  {seed}: FAILED: {why}", err=True)
            else:
                results.append(result)
                click.echo(f"  {seed}: {result['accounts']:,} accounts, ring recall {result['ring_recall']:.3f}", err=True)
    click.echo(f"\n{len(results)} populations in {math.ceil(time.perf_counter() - started)} s\n")
    _report(results, failures, worst, click.echo)
    headline = summarise(results)
    (out / "results.json").write_text(json.dumps({"mode": mode, "seeds": seeds, "results": results}, indent=2) + "\n")
    (out / "robustness.json").write_text(json.dumps(headline) + "\n")
    click.echo("")
    click.echo(json.dumps(headline))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
