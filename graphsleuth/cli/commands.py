"""The main commands: generate a population, detect rings, evaluate them, load evidence into Neo4j."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import api
from ..detection.clustering import ALGORITHMS, DEFAULT_RESOLUTION
from ..progress import Progress
from .main import command_help, main
from .options import force_option, format_option, lenient_option, out_option, quiet_option, seed_option

__all__ = ["generate", "detect", "evaluate", "load"]


@main.command(help=command_help(api.generate))
@click.option("--scenario", default=None, help="Scenario file, or the name of a bundled one (demo, hydra-2026).  [default: demo]")
@click.option(
    "--sample-scenario",
    "sample_seed",
    type=click.IntRange(min=0),
    default=None,
    metavar="SEED",
    help="Draw a whole scenario from wide ranges of every knob with this seed (written to OUT/scenario.toml).",
)
@click.option("--seed", type=int, default=None, help="Random seed; the same seed gives the same result.  [default: 0, or the sample seed]")
@out_option("Directory to write the evidence tables and truth.csv to.")
@click.option(
    "--accounts", type=int, default=None, help="Total number of accounts (rings scale in proportion, or a sampled scenario's size)."
)
@click.option(
    "--prompts", type=click.Choice(["template", "raw"]), default="template", show_default=True, help="Template ids, or raw prompt text."
)
@format_option(("csv", "parquet"), "csv", "Format of the evidence tables.")
@click.option("--snapshots", type=click.IntRange(min=1), default=None, help="Follow the population over time: write this many snapshots.")
@click.option("--every", type=click.Choice(["day", "week"]), default="week", show_default=True, help="Time between snapshots.")
@click.option("--growth", type=float, default=0.10, show_default=True, help="More accounts and activity each step, as a share.")
@click.option("--ban", default=None, help="The planted ring banned between snapshots (default: the largest; '' for none).")
@click.option(
    "--ban-day", type=float, default=None, help="Days after the first snapshot the ring is banned (default: after the last but one)."
)
@click.option("--logs", is_flag=True, help="Write the population as request logs (logs/ of daily Parquet files) with its side tables.")
@force_option
@quiet_option
def generate(scenario, sample_seed, seed, out, accounts, prompts, format_, snapshots, every, growth, ban, ban_day, logs, force, quiet):
    if scenario is not None and sample_seed is not None:
        raise click.UsageError("give --scenario or --sample-scenario, not both")
    population = api.generate(
        scenario,
        seed=seed,
        out=out,
        accounts=accounts,
        prompts=prompts,
        format=format_,
        force=force,
        sample_seed=sample_seed,
        snapshots=snapshots,
        every=every,
        growth=growth,
        ban=ban,
        ban_day=ban_day,
        logs=logs,
    )
    if not quiet:
        m = population.manifest
        rings = ", ".join(f"{k} ({v:,})" for k, v in m["rings"].items())
        click.echo(f"{out}: {m['accounts']:,} accounts, {m['ring_accounts']:,} in {len(m['rings'])} planted rings: {rings}")
        click.echo("rows: " + ", ".join(f"{k} {v:,}" for k, v in m["rows"].items()) + f"; {m['requests']:,} requests")
        if sample_seed is not None:
            click.echo(f"scenario: {out / 'scenario.toml'} (sample seed {sample_seed}; replay with --scenario {out / 'scenario.toml'})")
        if "timeline" in m:
            t = m["timeline"]
            said = f"{len(t['cuts'])} snapshots in {out}/snapshot-1..{len(t['cuts'])}, cut at {', '.join(c[:10] for c in t['cuts'])}"
            if "new_ring" in t:
                said += f"; a new ring {t['new_ring']}"
            if "ban" in t:
                b = t["ban"]
                said += f"; {b['ring']} banned at {b['at']}, {b['successors']:,} successors in {b['waves']} waves"
            click.echo(said)


@main.command(help=command_help(api.detect))
@click.argument("data_dir", type=click.Path())
@out_option("Directory for members, rings.jsonl and clusters.jsonl.")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default="leiden", show_default=True)
@seed_option
@click.option(
    "--resolution",
    type=float,
    default=DEFAULT_RESOLUTION,
    show_default=True,
    help="Leiden CPM resolution: evidence weight per pair a cluster must exceed.",
)
@format_option(("csv", "jsonl", "parquet"), "csv", "Format of the members table.")
@lenient_option
@click.option(
    "--pseudonymise",
    is_flag=True,
    help="Replace emails, IPs and payment ids in the output with keyed hashes (key in GRAPHSLEUTH_PSEUDONYM_KEY).",
)
@click.option("--neo4j", "to_neo4j", is_flag=True, help="Also write the rings back to Neo4j (NEO4J_URI, or the local server).")
@click.option("--from-neo4j", is_flag=True, help="Read the evidence graph from Neo4j instead of DATA_DIR (give - as DATA_DIR).")
@click.option(
    "--previous",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory of the previous run: rings found again keep their ids, verdicts are carried.",
)
@click.option("--as-of", default=None, help="The run's data time (ISO-8601); default: the latest time in the evidence.")
@click.option(
    "--logs/--tables",
    "logs",
    default=None,
    help="DATA_DIR holds request logs (ingested first) or evidence tables; by default a directory without an accounts table is logs.",
)
@click.option(
    "--engine",
    type=click.Choice(["embedded", "spark"]),
    default="embedded",
    show_default=True,
    help="Where detection runs: this process, or Apache Spark (pip install 'graphsleuth[spark]'; Java 17 or 21).",
)
@click.option("--spark-master", default=None, metavar="URL", help="Spark master URL (default: the submitted session's, or local[*]).")
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="A Spark setting, such as spark.executor.memory=8g (repeatable).")
@force_option
@quiet_option
def detect(
    data_dir,
    out,
    algorithm,
    seed,
    resolution,
    format_,
    lenient,
    pseudonymise,
    to_neo4j,
    from_neo4j,
    previous,
    as_of,
    logs,
    engine,
    spark_master,
    spark_conf,
    force,
    quiet,
):
    from ..export import rings_table
    from ..investigation import changes_summary
    from ..memory import keep_freed_memory
    from ..spark.session import parse_conf

    keep_freed_memory()  # the process ends with the command: trade held memory for fewer page faults
    findings = api.detect(
        data_dir if "://" in data_dir else Path(data_dir),  # a URI (s3a://...) is read by the Spark engine as it is
        out,
        algorithm=algorithm,
        seed=seed,
        resolution=resolution,
        format=format_,
        lenient=lenient,
        pseudonymise=pseudonymise,
        neo4j=to_neo4j,
        from_neo4j=from_neo4j,
        previous=previous,
        as_of=as_of,
        force=force,
        progress=Progress(show=not quiet),
        logs=logs,
        engine=engine,
        spark_master=spark_master,
        spark_conf=parse_conf(spark_conf) if spark_conf else None,
    )
    if not quiet:
        click.echo(rings_table(findings))
        if previous is not None:
            click.echo(changes_summary(findings))
        if lenient:
            rejected = len(findings.rejects)
            where = f", listed with their reasons in {out / 'rejects.csv'}" if rejected else ""
            click.echo(f"{rejected:,} input rows rejected{where}")


@main.command(help=command_help(api.evaluate))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("truth_csv", type=click.Path(path_type=Path))
@format_option(("text", "json"), "text", "Print a short report, or every figure as JSON.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
@click.option(
    "--runs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Detect outputs, oldest first, to measure time to detection over (default: OUT_DIR and the runs before it).",
)
def evaluate(out_dir, truth_csv, format_, as_json, runs):
    result = api.evaluate(out_dir, truth_csv, runs=list(runs) or None)
    if as_json or format_ == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(result.to_text())


@main.command(name="load", help=command_help(api.load))
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--bulk", is_flag=True, help="Replace the local database with neo4j-admin import (server must be stopped); for large graphs.")
@click.option("--batch-size", type=int, default=20000, show_default=True, help="Rows per Bolt transaction.")
@click.option(
    "--via",
    type=click.Choice(["auto", "params", "csv", "procedure"]),
    default="auto",
    show_default=True,
    help="How rows travel: auto uses graphsleuth's procedure where the server has it, LOAD CSV on the local server, parameters elsewhere.",
)
@lenient_option
@quiet_option
def load(data_dir, bulk, batch_size, via, lenient, quiet):
    summary = api.load(data_dir, bulk=bulk, batch_size=batch_size, via=via, lenient=lenient, progress=Progress(show=not quiet))
    if not quiet:
        click.echo(summary.describe(), err=True)
