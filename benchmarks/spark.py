"""Spark engine benchmarks: detect --engine spark in local mode beside the embedded engine, and the partition's figures.

    python benchmarks/spark.py                          # 100k and 1m (hydra-2026), local[2]
    python benchmarks/spark.py --sizes 100k --out /tmp/bench-spark

Each Spark detection runs in a fresh child process that starts its own Spark in local mode
(``--master``, default local[2]: this machine's two cores). Its peak memory is that of the
whole process tree, sampled every 0.2 s: the Python driver, the JVM and Spark's Python
workers (``os.wait4`` would see the driver alone). The child reads the evidence, runs
:func:`graphsleuth.spark.find_rings_spark`, writes the rings and evaluates them against the
truth; the embedded engine's run (make bench's ``rings-SIZE``, or one made here) is evaluated
the same way, so the parity figures compare like with like. Populations are make bench's
(``pop-SIZE`` under ``--out``), generated here when missing.

The last line is one JSON object: spark_detect_100k_s, spark_detect_1m_s (and their peak MB),
spark_piece_max_edge_share_1m, spark_piece_max_account_share_1m, spark_pieces_1m,
spark_component_max_edge_share_1m (the giant component, undivided), and the differences from
the embedded run in precision, recall and each planted ring's best Jaccard.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT = "@@SPARK-RESULT "
SCENARIO, SEED = "hydra-2026", 2026


def child(params: dict) -> dict:
    """One measured step in this process: a Spark or embedded detection, written and evaluated; or a population."""
    if params["step"] == "generate":
        from graphsleuth import generate

        generate(SCENARIO, seed=SEED, out=params["dir"], accounts=params["accounts"], force=True)
        return {}
    from graphsleuth import evaluate
    from graphsleuth.evidence import read_evidence
    from graphsleuth.export import write_findings
    from graphsleuth.progress import Progress

    began = time.perf_counter()
    evidence = read_evidence(params["dir"])
    read_s = time.perf_counter() - began
    progress = Progress(show=False)
    run: list = []
    if params["step"] == "spark":
        from graphsleuth.spark import SparkSettings, find_rings_spark

        findings = find_rings_spark(evidence, progress=progress, settings=SparkSettings(master=params["master"]), run=run)
    else:
        from graphsleuth.detection.pipeline import find_rings

        findings = find_rings(evidence, progress=progress)
    write_findings(findings, params["out"], force=True)
    seconds = time.perf_counter() - began
    quality = evaluate(params["out"], Path(params["dir"]) / "truth.csv").to_dict()
    return {
        "seconds": seconds,
        "timings_s": {"reading evidence": round(read_s, 2), **{k: round(float(v), 2) for k, v in progress.timings.items()}},
        "quality": quality,
        "run": run[0].to_dict() if run else None,
    }


def _tree_rss_kb(root: int) -> int:
    """The resident memory of ``root`` and all its descendants (KiB), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[int(entry)] = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(frontier)
    return sum(rss.get(pid, 0) for pid in tree)


def run_child(params: dict, log: Path) -> dict:
    """Run one step in a fresh Python; its result, wall seconds and the peak memory of its whole process tree (MB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(params)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    began = time.perf_counter()
    with open(log, "a") as err:
        err.write(f"\n=== {json.dumps(params)}\n")
        err.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, env=env)
        peak = [0]

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out = proc.stdout.read()
        proc.wait()
        sampler.join()
    lines = [ln for ln in out.splitlines() if ln.startswith(RESULT)]
    if proc.returncode != 0 or not lines:
        return {"error": f"{params['step']} failed (exit {proc.returncode}); see {log}"}
    result = json.loads(lines[-1][len(RESULT) :])
    result.update(wall_s=time.perf_counter() - began, peak_mb=peak[0] / 1024)
    return result


def _parity(spark: dict, embedded: dict) -> dict:
    rings = embedded["rings"]
    jaccard = {name: round(spark["rings"][name]["best_jaccard"] - ring["best_jaccard"], 4) for name, ring in rings.items()}
    return {
        "precision_diff": round(spark["precision"] - embedded["precision"], 4),
        "recall_diff": round(spark["recall"] - embedded["recall"], 4),
        "jaccard_diff_max": max((abs(v) for v in jaccard.values()), default=0.0),
        "jaccard_diff": jaccard,
        "same_rings_found": {n for n, r in spark["rings"].items() if r["found"]} == {n for n, r in rings.items() if r["found"]},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated: 20k, 100k, 1m (= the full scenario)")
    parser.add_argument("--master", default="local[2]", help="Spark master for the Spark runs")
    parser.add_argument("--out", default=str(REPO / "bench-out"), help="scratch folder (make bench's populations and rings)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(RESULT + json.dumps(child(json.loads(args.child))), flush=True)
        return {}
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "spark.log"
    figures: dict = {}
    for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        accounts = None if label in ("1m", "full") else int(float(label.rstrip("k")) * 1000)
        data = out / f"pop-{label}"
        if not (data / "truth.csv").exists():
            run_child({"step": "generate", "dir": str(data), "accounts": accounts}, log)
        embedded = run_child({"step": "embedded", "dir": str(data), "out": str(out / f"rings-embedded-{label}")}, log)
        spark = run_child({"step": "spark", "dir": str(data), "out": str(out / f"rings-spark-{label}"), "master": args.master}, log)
        for name, res in (("embedded", embedded), ("spark", spark)):
            if "error" in res:
                print(f"  {name:<9} {label:>5}  {res['error']}", flush=True)
                continue
            q = res["quality"]
            stages = ", ".join(f"{k} {v:.1f}s" for k, v in res["timings_s"].items())
            print(
                f"  {name:<9} {label:>5}  {res['seconds']:7.1f}s  {res['peak_mb']:7.0f} MB  P {q['precision']:.3f} R {q['recall']:.3f} "
                f"rings {q['rings_found']}/{q['rings_planted']} | {stages}",
                flush=True,
            )
        if "error" in spark or "error" in embedded:
            continue
        figures[f"spark_detect_{label}_s"] = round(spark["seconds"], 1)
        figures[f"spark_detect_{label}_peak_mb"] = round(spark["peak_mb"])
        figures[f"spark_embedded_{label}_s"] = round(embedded["seconds"], 1)
        figures[f"spark_timings_{label}_s"] = spark["timings_s"]
        partition = spark["run"]["partition"]
        figures[f"spark_piece_max_edge_share_{label}"] = partition["max_edge_share"]
        figures[f"spark_piece_max_account_share_{label}"] = partition["max_account_share"]
        figures[f"spark_pieces_{label}"] = partition["pieces"]
        figures[f"spark_cut_edge_share_{label}"] = partition["cut_edge_share"]
        figures[f"spark_component_max_edge_share_{label}"] = spark["run"]["components"]["max_edge_share"]
        figures[f"spark_parity_{label}"] = _parity(spark["quality"], embedded["quality"])
        print(f"  parity    {label:>5}  {json.dumps(figures[f'spark_parity_{label}'])}", flush=True)
        print(f"  partition {label:>5}  {json.dumps(partition)}", flush=True)
    print(json.dumps(figures, sort_keys=True), flush=True)
    return figures


if __name__ == "__main__":
    main()
