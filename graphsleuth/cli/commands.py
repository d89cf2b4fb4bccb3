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
@click.option("--scenario", default="demo", show_default=True, help="Scenario file, or the name of a bundled one (demo, hydra-2026).")
@seed_option
@out_option("Directory to write the evidence tables and truth.csv to.")
@click.option("--accounts", type=int, default=None, help="Total number of accounts (rings scale in proportion).")
@click.option(
    "--prompts", type=click.Choice(["template", "raw"]), default="template", show_default=True, help="Template ids, or raw prompt text."
)
@format_option(("csv", "parquet"), "csv", "Format of the evidence tables.")
@click.option("--logs", is_flag=True, help="Write the population as request logs (logs/ of daily Parquet files) with its side tables.")
@force_option
@quiet_option
def generate(scenario, seed, out, accounts, prompts, format_, logs, force, quiet):
    population = api.generate(scenario, seed=seed, out=out, accounts=accounts, prompts=prompts, format=format_, force=force, logs=logs)
    if not quiet:
        m = population.manifest
        rings = ", ".join(f"{k} ({v:,})" for k, v in m["rings"].items())
        click.echo(f"{out}: {m['accounts']:,} accounts, {m['ring_accounts']:,} in {len(m['rings'])} planted rings: {rings}")
        click.echo("rows: " + ", ".join(f"{k} {v:,}" for k, v in m["rows"].items()) + f"; {m['requests']:,} requests")


@main.command(help=command_help(api.detect))
@click.argument("data_dir", type=click.Path(path_type=Path))
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
    "--logs/--tables",
    "logs",
    default=None,
    help="DATA_DIR holds request logs (ingested first) or evidence tables; by default a directory without an accounts table is logs.",
)
@force_option
@quiet_option
def detect(data_dir, out, algorithm, seed, resolution, format_, lenient, pseudonymise, to_neo4j, from_neo4j, logs, force, quiet):
    from ..export import rings_table
    from ..memory import keep_freed_memory

    keep_freed_memory()  # the process ends with the command: trade held memory for fewer page faults
    findings = api.detect(
        data_dir,
        out,
        algorithm=algorithm,
        seed=seed,
        resolution=resolution,
        format=format_,
        lenient=lenient,
        pseudonymise=pseudonymise,
        neo4j=to_neo4j,
        from_neo4j=from_neo4j,
        force=force,
        progress=Progress(show=not quiet),
        logs=logs,
    )
    if not quiet:
        click.echo(rings_table(findings))
        if lenient:
            rejected = len(findings.rejects)
            where = f", listed with their reasons in {out / 'rejects.csv'}" if rejected else ""
            click.echo(f"{rejected:,} input rows rejected{where}")


@main.command(help=command_help(api.evaluate))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("truth_csv", type=click.Path(path_type=Path))
@format_option(("text", "json"), "text", "Print a short report, or every figure as JSON.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
def evaluate(out_dir, truth_csv, format_, as_json):
    result = api.evaluate(out_dir, truth_csv)
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
