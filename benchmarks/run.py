"""graphsleuth benchmarks: generate, detect, Neo4j load (Bolt and bulk), networkx side by side.

    python benchmarks/run.py                      # everything: 100k, 300k and the full hydra-2026 (1m)
    python benchmarks/run.py --sizes 20k          # quick
    python benchmarks/run.py --skip-neo4j --out /tmp/bench
    python benchmarks/run.py --skip-spark         # without the Spark engine (benchmarks/spark.py)

Every measured step runs in a fresh child process (this same script with
``--child STEP``), so each step's wall time and peak memory are its own: the
peak RSS comes from ``os.wait4`` on that child. Populations are generated from
the bundled scenario ``hydra-2026`` (``1m`` means the full scenario, 1,045,000
accounts) into ``--out`` (default ``bench-out/``, git-ignored). Detection runs
``--detect-runs`` times per size (default 3) and the fastest run is reported.
The growth from 100k to 1M is measured apart, after every size: ``--growth-runs``
pairs of detections (default 3), 100k then 1M back to back, each in a fresh
process, so that both sizes run under the same load of the shared machine
(measured 20 minutes apart, the two sizes can meet a machine a fifth slower or
faster); the growth is the fastest 1M run of the pairs over their fastest 100k run.

Neo4j: unless NEO4J_URI is set, a local server with its own home under
``--out`` (``neo4j-home/``, the jars linked from the project's) and its own
ports is started and stopped here, so the benchmark never touches the
project's database. Per size: ``--bolt-runs`` Bolt loads (default 2) into the emptied database
(``graphsleuth.store.load``, every size unless ``--bolt-max`` stops earlier: at
1m one takes about 4 minutes), the fastest reported and all listed, then the bulk path (``neo4j-admin database
import full``, server stopped) whose import step is timed on its own, ``--bulk-runs``
times (default 3), the fastest reported and all listed.
With NEO4J_URI set the Bolt load goes there (its database is CLEARED first:
point it only at a throwaway database) and the bulk path is skipped.

The table goes to stdout, and the last line is ONE JSON object of figures
(also written to ``<out>/results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIO = "hydra-2026"
SEED = 2026
RESULT = "@@BENCH-RESULT "
BENCH_PORTS = {"GRAPHSLEUTH_NEO4J_BOLT_PORT": "17687", "GRAPHSLEUTH_NEO4J_HTTP_PORT": "17474", "GRAPHSLEUTH_GUIDE_PORT": "17480"}


# --- sizes -----------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[str, int | None]:
    """``100k`` -> ("100k", 100000); ``1m`` / ``full`` -> ("1m", None): the whole scenario."""
    t = text.strip().lower()
    if t in ("1m", "full"):
        return "1m", None
    if t.endswith("k"):
        return t, int(float(t[:-1]) * 1_000)
    if t.endswith("m"):
        return t, int(float(t[:-1]) * 1_000_000)
    return t, int(t)


# --- the children: one measured step each -------------------------------------------------------


def _done(result: dict) -> None:
    print(RESULT + json.dumps(result), flush=True)


def child_generate(p: dict) -> dict:
    from graphsleuth import generate

    out = Path(p["dir"])
    began = time.perf_counter()
    generate(SCENARIO, seed=SEED, out=out, accounts=p["accounts"], force=True, prompts=p.get("prompts", "template"))
    seconds = time.perf_counter() - began
    manifest = json.loads((out / "manifest.json").read_text())
    rows = int(sum(manifest.get("rows", {}).values()))
    rows += int(manifest.get("accounts", 0))  # truth.csv: one row per account
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    return {"seconds": seconds, "rows": rows, "accounts": int(manifest.get("accounts", 0)), "bytes": size}


def child_detect(p: dict) -> dict:
    from graphsleuth import detect, evaluate
    from graphsleuth.memory import keep_freed_memory

    keep_freed_memory()  # as `graphsleuth detect` does

    began = time.perf_counter()
    findings = detect(p["dir"], out=p["out"], force=True)
    seconds = time.perf_counter() - began
    quality = evaluate(p["out"], Path(p["dir"]) / "truth.csv")
    keep = (
        "precision",
        "recall",
        "ring_recall",
        "false_positives_per_100k",
        "flagged_accounts",
        "suspected_rings",
        "rings_found",
        "rings_planted",
    )
    return {
        "seconds": seconds,
        "timings_s": {k: round(float(v), 3) for k, v in findings.stats.timings_s.items()},
        **{k: quality.to_dict()[k] for k in keep},
    }


def child_compare(p: dict) -> dict:
    """networkx Louvain vs graphsleuth's clustering on the very graph graphsleuth builds."""
    import networkx as nx
    import numpy as np

    from graphsleuth.detection.clustering import find_clusters
    from graphsleuth.detection.graph import build_evidence_graph
    from graphsleuth.evidence import read_evidence

    evidence = read_evidence(p["dir"])
    began = time.perf_counter()
    graph = build_evidence_graph(evidence)
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    labels = find_clusters(graph)
    ours_s = time.perf_counter() - began
    began = time.perf_counter()
    g = nx.Graph()
    g.add_nodes_from(range(graph.n_accounts))
    g.add_weighted_edges_from(zip(graph.source.tolist(), graph.target.tolist(), graph.weight.tolist()))
    nx_build_s = time.perf_counter() - began
    began = time.perf_counter()
    communities = nx.community.louvain_communities(g, weight="weight", seed=SEED)
    nx_s = time.perf_counter() - began
    return {
        "accounts": int(graph.n_accounts),
        "edges": int(len(graph.source)),
        "graph_build_s": build_s,
        "graphsleuth_cluster_s": ours_s,
        "graphsleuth_clusters": int(len(np.unique(labels))),
        "networkx_graph_build_s": nx_build_s,
        "networkx_louvain_s": nx_s,
        "networkx_communities": len(communities),
        "ratio": nx_s / ours_s if ours_s > 0 else None,
    }


def _server_cpu_s() -> float | None:
    """CPU seconds (user + system) the local Neo4j process has used so far."""
    from graphsleuth import server

    pid = server._read_pid("neo4j")
    if pid is None:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_peak_mb() -> float | None:
    from graphsleuth import server

    pid = server._read_pid("neo4j")
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def child_bolt(p: dict) -> dict:
    """``graphsleuth load`` into the emptied database ``p["runs"]`` times; the fastest load, with every load's seconds.

    At 1M accounts one load took 200 s on a quiet machine and 262 s in a
    benchmark run whose other steps had just ended: the fastest of a few is the
    least disturbed, as for detection. Each load starts from an empty database.
    """
    from graphsleuth import server, store
    from graphsleuth.evidence import read_evidence

    remote = bool(os.environ.get("NEO4J_URI"))
    if not remote:
        server.start()
    try:
        conn = server.connection()
        evidence = read_evidence(p["dir"])
        loads = []
        for _ in range(max(1, p.get("runs", 1))):
            store.clear(connection=conn)
            cpu0 = None if remote else _server_cpu_s()
            summary = store.load(evidence, connection=conn)
            cpu1 = None if remote else _server_cpu_s()
            loads.append((summary, None if cpu0 is None else cpu1 - cpu0))
        summary, cpu_s = min(loads, key=lambda load: load[0].seconds)
        result = {
            "seconds": summary.seconds,
            "method": summary.method,
            "rows": int(sum(summary.rows.values())),
            "nodes": summary.nodes_created,
            "relationships": summary.relationships_created,
            "rels_per_s": summary.relationships_created / summary.seconds,
            "server_cpu_s": cpu_s,
            "timings_s": {k: round(v, 3) for k, v in summary.timings.items()},
            "load_runs_s": [round(load.seconds, 2) for load, _cpu in loads],
        }
        if p.get("reload"):
            again = store.load(evidence, connection=conn)
            result["reload_s"] = again.seconds
            result["reload_created"] = again.nodes_created + again.relationships_created + again.labels_added
        result["server_peak_mb"] = None if remote else _server_peak_mb()
        return result
    finally:
        if not remote:
            server.stop()


def child_bulk(p: dict) -> dict:
    """The bulk path ``p["runs"]`` times over one population; the run with the fastest import, with every run's figures.

    neo4j-admin's import is the step measured, and on the shared two-core
    machine one import of the 1M population took 75 s and the next four 48 to
    53 s: as with detection, the fastest of a few is the least disturbed.
    Every run is a whole ``bulk_load`` (its CSVs written anew, the database replaced).
    """
    from graphsleuth import server, store
    from graphsleuth.evidence import read_evidence

    if server.is_running():
        server.stop()
    evidence = read_evidence(p["dir"])
    runs = [store.bulk_load(evidence, start_after=False) for _ in range(max(1, p.get("runs", 1)))]
    best = min(runs, key=lambda summary: summary.timings.get("import", summary.seconds))
    rows = int(sum(best.rows.values()))
    imported = best.timings.get("import", best.seconds)
    return {
        "seconds": best.seconds,
        "rows": rows,
        "nodes": best.nodes_created,
        "relationships": best.relationships_created,
        "import_s": imported,
        "write_csv_s": best.timings.get("write_csv"),
        "rows_per_s": rows / imported,
        "rows_per_s_end_to_end": rows / best.seconds,
        "import_runs_s": [round(summary.timings.get("import", summary.seconds), 2) for summary in runs],
    }


CHILDREN = {"generate": child_generate, "detect": child_detect, "compare": child_compare, "bolt": child_bolt, "bulk": child_bulk}


# --- the parent ------------------------------------------------------------------------------------


def run_child(step: str, params: dict, env: dict | None, log: Path) -> dict:
    """Run one step in a fresh python; its result plus wall seconds and peak RSS (MB) of that process."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--params", json.dumps(params)]
    began = time.perf_counter()
    with open(log, "a") as err:
        err.write(f"\n=== {step} {json.dumps(params)}\n")
        err.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=REPO)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    lines = [ln for ln in out.splitlines() if ln.startswith(RESULT)]
    if proc.returncode != 0 or not lines:
        return {"error": f"{step} failed (exit {proc.returncode}); see {log}", "wall_s": wall}
    result = json.loads(lines[-1][len(RESULT) :])
    result["wall_s"] = wall
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return result


def fastest_detect(data: Path, rings: Path, runs: int, log: Path) -> dict:
    """Detect ``runs`` times, each in a fresh process; the fastest run, with every run's seconds.

    On a shared two-core machine a run can be slowed by a third by others' jobs;
    the fastest of a few is the least disturbed, at 100k and at 1M alike, so the
    growth between them compares like with like. Detection is deterministic: the
    runs write the same rings, and the figures of quality are the same.
    """
    results = [run_child("detect", {"dir": str(data), "out": str(rings)}, None, log) for _ in range(max(1, runs))]
    failed = [r for r in results if "error" in r]
    if failed:
        return failed[0]
    best = min(results, key=lambda r: r["seconds"])
    best["runs_s"] = [round(r["seconds"], 2) for r in results]
    return best


def interleaved_detect(out: Path, labels: list[str], pairs: int, log: Path) -> dict:
    """Detection ``pairs`` times over ``labels`` in turn (100k, 1m, 100k, 1m, ...): every run's seconds by label."""
    runs: dict = {label: [] for label in labels}
    for _ in range(pairs):
        for label in labels:
            res = run_child("detect", {"dir": str(out / f"pop-{label}"), "out": str(out / f"rings-{label}")}, None, log)
            if "error" in res:
                return {"error": res["error"]}
            runs[label].append(round(res["seconds"], 2))
    return runs


def neo4j_env(out: Path) -> dict:
    """Environment for the Neo4j children: NEO4J_URI's, or a scratch server home with its own ports."""
    env = dict(os.environ)
    if env.get("NEO4J_URI"):
        return env
    from graphsleuth import server

    if not server.is_fetched():
        server.fetch()
    lib = server.neo4j_home() / "lib"
    home = (out / "neo4j-home").resolve()
    (home / "neo4j").mkdir(parents=True, exist_ok=True)
    link = home / "neo4j" / "lib"
    if not link.exists():
        link.symlink_to(lib)
    env["GRAPHSLEUTH_HOME"] = str(home)
    for name, port in BENCH_PORTS.items():
        env[name] = os.environ.get(f"BENCH_{name}", port)
    return env


def seconds_of_runs(values) -> str:
    """The seconds of several runs of one step, as a headline lists them: "4.6, 3.9, 3.0"."""
    return ", ".join(f"{x:.1f}" for x in values)


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _raw_over_template(out: Path, template: dict, runs: int, log: Path, figures: dict, record) -> None:
    """Detect at 1m from the same population with raw prompt text (templates derived), against template ids:
    ``raw_over_template_1m`` is the ratio of the fastest runs, end to end."""
    data = out / "pop-1m-raw"
    gen = run_child("generate", {"dir": str(data), "accounts": None, "prompts": "raw"}, None, log)
    if "error" in gen:
        record("generate", "1m raw", gen, "")
        return
    raw = fastest_detect(data, out / "rings-1m-raw", runs, log)
    if "error" in raw:
        record("detect", "1m raw", raw, "")
        return
    ratio = raw["seconds"] / template["seconds"]
    figures.update(
        raw_detect_1m_s=round(raw["seconds"], 2),
        raw_detect_1m_peak_mb=round(raw["peak_mb"], 1),
        raw_over_template_1m=round(ratio, 2),
        precision_1m_raw=raw["precision"],
        recall_1m_raw=raw["recall"],
    )
    record(
        "detect",
        "1m raw",
        raw,
        f"best of {len(raw['runs_s'])} ({seconds_of_runs(raw['runs_s'])} s), {ratio:.2f}x template ids | "
        f"P {raw['precision']:.3f} R {raw['recall']:.3f}",
    )


def _ingest_figures(out: Path) -> dict:
    """benchmarks/ingest.py's figures (ingest_rows_per_s, ingest_peak_mb, ingest_growth_10x, raw_over_template_1m, ...)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_ingest", Path(__file__).resolve().parent / "ingest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--out", str(out)])


def _spark_figures(out: Path, sizes: list[str]) -> dict:
    """benchmarks/spark.py's figures (spark_detect_100k_s, spark_detect_1m_s, spark_piece_max_edge_share_1m, ...)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_spark", Path(__file__).resolve().parent / "spark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--out", str(out), "--sizes", ",".join(sizes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,300k,1m", help="comma-separated: 20k, 100k, 300k, 1m (= the full scenario)")
    parser.add_argument("--skip-neo4j", action="store_true", help="no Neo4j load or bulk import")
    parser.add_argument("--skip-compare", action="store_true", help="no networkx side-by-side")
    parser.add_argument("--skip-ingest", action="store_true", help="no request-log ingest (benchmarks/ingest.py: a ~54M-request log)")
    parser.add_argument(
        "--skip-spark",
        action="store_true",
        help="no Spark engine (benchmarks/spark.py: detect --engine spark in local mode at 100k and 1m)",
    )
    parser.add_argument(
        "--detect-runs", type=int, default=3, help="detect runs per size (each its own process); the fastest is reported, all are listed"
    )
    parser.add_argument(
        "--growth-runs",
        type=int,
        default=3,
        help="pairs of 100k and 1m detect runs, back to back, for the growth between them (0: use the runs per size)",
    )
    parser.add_argument(
        "--bolt-runs", type=int, default=2, help="Bolt loads per size (one server); the fastest is reported, all are listed"
    )
    parser.add_argument(
        "--bulk-runs", type=int, default=3, help="bulk imports per size (one process); the fastest import is reported, all are listed"
    )
    parser.add_argument("--bolt-max", default="1m", help="Bolt loads only up to this size (default: all); bulk runs at every size")
    parser.add_argument("--out", default=str(REPO / "bench-out"), help="scratch folder (populations, results)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        _done(CHILDREN[args.child](json.loads(args.params)))
        return 0

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "bench.log"
    log.write_text("")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    _, bolt_max = parse_size(args.bolt_max)
    figures: dict = {}
    rows: list[tuple] = []
    results: dict = {}

    def record(step: str, label: str, res: dict, headline: str) -> None:
        results.setdefault(label, {})[step] = res
        rows.append((step, label, res.get("wall_s"), res.get("peak_mb"), res.get("error") or headline))
        print(
            f"  {step:<9} {label:>5}  {fmt(res.get('wall_s')):>8}s  {fmt(res.get('peak_mb'), 0):>7} MB  {res.get('error') or headline}",
            flush=True,
        )

    print(f"graphsleuth benchmarks: scenario {SCENARIO}, sizes {', '.join(label for label, _ in sizes)}; children log to {log}", flush=True)
    print(f"  {'step':<9} {'size':>5}  {'wall':>9}  {'peak':>10}  figures", flush=True)
    env_neo4j = None if args.skip_neo4j else neo4j_env(out)
    for label, n in sizes:
        data = out / f"pop-{label}"
        gen = run_child("generate", {"dir": str(data), "accounts": n}, None, log)
        if "error" not in gen:
            gen["rows_per_s"] = gen["rows"] / gen["seconds"]
            figures[f"generate_{label}_s"] = round(gen["seconds"], 2)
            figures[f"generate_{label}_peak_mb"] = round(gen["peak_mb"], 1)
            figures[f"generate_{label}_rows_per_s"] = round(gen["rows_per_s"])
        record(
            "generate",
            label,
            gen,
            f"{fmt(gen.get('accounts'))} accounts, {fmt(gen.get('rows'))} rows, {fmt(gen.get('rows_per_s'), 0)} rows/s, {fmt((gen.get('bytes') or 0) / 2**20)} MiB",
        )
        if "error" in gen:
            continue

        det = fastest_detect(data, out / f"rings-{label}", args.detect_runs, log)
        if "error" not in det:
            figures[f"detect_{label}_s"] = round(det["seconds"], 2)
            figures[f"detect_{label}_runs_s"] = det["runs_s"]
            figures[f"detect_{label}_peak_mb"] = round(det["peak_mb"], 1)
            for k in ("precision", "recall", "ring_recall", "false_positives_per_100k"):
                figures[f"{k}_{label}"] = det[k]
            stages = ", ".join(f"{k} {v:.1f}s" for k, v in det["timings_s"].items())
            headline = (
                f"best of {len(det['runs_s'])} ({seconds_of_runs(det['runs_s'])} s) | "
                f"P {det['precision']:.3f} R {det['recall']:.3f} ring-R {det['ring_recall']:.3f} "
                f"FP/100k {det['false_positives_per_100k']:.1f} | {stages}"
            )
        else:
            headline = ""
        record("detect", label, det, headline)

        if label == "1m" and "error" not in det:
            _raw_over_template(out, det, args.detect_runs, log, figures, record)

        if label == "100k" and not args.skip_compare:
            cmp_ = run_child("compare", {"dir": str(data)}, None, log)
            if "error" not in cmp_:
                figures["networkx_ratio_100k"] = round(cmp_["ratio"], 2)
                figures["networkx_louvain_100k_s"] = round(cmp_["networkx_louvain_s"], 2)
                figures["graphsleuth_cluster_100k_s"] = round(cmp_["graphsleuth_cluster_s"], 2)
                headline = (
                    f"networkx louvain {cmp_['networkx_louvain_s']:.1f}s ({cmp_['networkx_communities']} communities, "
                    f"+{cmp_['networkx_graph_build_s']:.1f}s to build its graph) vs graphsleuth {cmp_['graphsleuth_cluster_s']:.1f}s "
                    f"({cmp_['graphsleuth_clusters']} clusters) on {cmp_['accounts']:,} accounts / {cmp_['edges']:,} edges: "
                    f"ratio {cmp_['ratio']:.1f}x"
                )
            else:
                headline = ""
            record("compare", label, cmp_, headline)

        if env_neo4j is not None:
            size_accounts = gen.get("accounts") or 0
            if bolt_max is None or size_accounts <= bolt_max:
                bolt = run_child("bolt", {"dir": str(data), "reload": label == sizes[0][0], "runs": args.bolt_runs}, env_neo4j, log)
                if "error" not in bolt:
                    figures[f"load_{label}_rels_per_s"] = round(bolt["rels_per_s"])
                    figures[f"load_{label}_s"] = round(bolt["seconds"], 2)
                    figures["load_rels_per_s"] = round(bolt["rels_per_s"])
                    figures["load_size"] = label
                    extra = f", reload {bolt['reload_s']:.1f}s creating {bolt['reload_created']}" if "reload_s" in bolt else ""
                    cpu = f", server CPU {bolt['server_cpu_s']:.1f}s" if bolt.get("server_cpu_s") is not None else ""
                    headline = (
                        f"{bolt['method']}: {bolt['relationships']:,} rels + {bolt['nodes']:,} nodes in {bolt['seconds']:.1f}s = "
                        f"{bolt['rels_per_s']:,.0f} rels/s (fastest of {seconds_of_runs(bolt['load_runs_s'])} s; "
                        f"prepare {bolt['timings_s'].get('prepare', 0):.1f}s{cpu}){extra}"
                    )
                else:
                    headline = ""
                record("bolt", label, bolt, headline)
            else:
                note = f"skipped: Bolt load above --bolt-max {args.bolt_max} takes long (bulk below)"
                rows.append(("bolt", label, None, None, note))
                print(f"  {'bolt':<9} {label:>5}  {'-':>8}s  {'-':>7} MB  {note}", flush=True)
            if not os.environ.get("NEO4J_URI"):
                bulk = run_child("bulk", {"dir": str(data), "runs": args.bulk_runs}, env_neo4j, log)
                if "error" not in bulk:
                    figures[f"bulk_{label}_rows_per_s"] = round(bulk["rows_per_s"])
                    figures[f"bulk_{label}_import_s"] = round(bulk["import_s"], 2)
                    figures["bulk_rows_per_s"] = round(bulk["rows_per_s"])
                    figures["bulk_size"] = label
                    headline = (
                        f"neo4j-admin import of {bulk['rows']:,} rows in {bulk['import_s']:.1f}s = {bulk['rows_per_s']:,.0f} rows/s "
                        f"(fastest of {seconds_of_runs(bulk['import_runs_s'])} s; CSV writing {bulk['write_csv_s']:.1f}s; end to end {bulk['rows_per_s_end_to_end']:,.0f} rows/s)"
                    )
                else:
                    headline = ""
                record("bulk", label, bulk, headline)

    if "detect_100k_s" in figures and "detect_1m_s" in figures:
        if args.growth_runs > 0:
            pairs = interleaved_detect(out, ["100k", "1m"], args.growth_runs, log)
            results["growth"] = pairs
            if "error" in pairs:
                headline = ""
            else:
                small, large = min(pairs["100k"]), min(pairs["1m"])
                figures["growth_100k_to_1m"] = round(large / small, 2)
                figures["growth_runs_s"] = pairs
                headline = (
                    f"{args.growth_runs} pairs back to back: 100k {seconds_of_runs(pairs['100k'])} s; "
                    f"1m {seconds_of_runs(pairs['1m'])} s; fastest {large:.1f} / {small:.1f} = {large / small:.2f}x"
                )
            rows.append(("growth", "1m", None, None, pairs.get("error") or headline))
            print(f"  {'growth':<9} {'1m':>5}  {'-':>8}s  {'-':>7} MB  {pairs.get('error') or headline}", flush=True)
        else:
            figures["growth_100k_to_1m"] = round(figures["detect_1m_s"] / figures["detect_100k_s"], 2)
    if not args.skip_ingest:
        ingest = _ingest_figures(out / "ingest")
        if ingest.get("raw_over_template_1m") is None:  # measured by detect at 1m above, when it ran
            ingest.pop("raw_over_template_1m", None)
        figures.update(ingest)
    spark_sizes = [label for label, _ in sizes if label in ("100k", "1m")]
    if not args.skip_spark and spark_sizes:
        figures.update(_spark_figures(out, spark_sizes))
    (out / "results.json").write_text(json.dumps({"figures": figures, "steps": results}, indent=2, default=str))
    failed = [r for r in rows if isinstance(r[4], str) and "failed" in r[4]]
    print(json.dumps(figures, sort_keys=True), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
