"""The ``graphsleuth`` command line: each command wraps the library function of the same name.

Errors the user can cause are printed as one line on stderr with a non-zero
exit code; no traceback reaches the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import GraphsleuthError
from .memory import keep_freed_memory

__all__ = ["main"]


class _Commands(click.Group):
    """A click group that turns graphsleuth errors and Ctrl-C into one-line messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraphsleuthError as exc:
            click.echo(f"graphsleuth: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            if ctx.invoked_subcommand == "load":  # batches already committed stay; loading again completes the graph
                click.echo("graphsleuth: interrupted; the graph may be partly loaded (load again to complete it)", err=True)
            else:
                click.echo("graphsleuth: interrupted; nothing was written", err=True)
            sys.exit(130)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="graphsleuth")
def main():
    """Find rings of fake accounts that share cards, IPs and prompt templates."""


def _seed_option(f):
    return click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed gives the same result.")(f)


def _force_option(f):
    return click.option("--force", is_flag=True, help="Replace the output directory if it exists.")(f)


def _quiet_option(f):
    return click.option("--quiet", "-q", is_flag=True, help="No progress or summary on the terminal.")(f)


class _Steps:
    """The command's own progress lines on stderr ("graphsleuth: reading evidence…").

    A step that fails leaves nothing on stderr but its one-line error. On a
    terminal the line shows while the step runs, and is erased when the step
    fails or is interrupted; anywhere else (a pipe, a log file) a written line
    cannot be taken back, so it is written only once the step has succeeded.
    """

    def __init__(self, quiet: bool, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def step(self, name: str, action):
        if self.quiet:
            return action()
        line = f"graphsleuth: {name}…"
        live = self.stream.isatty()
        if live:
            self.stream.write(line)
            self.stream.flush()
        try:
            result = action()
        except BaseException:
            if live:
                self.stream.write("\r\x1b[2K")  # back to the line's start, and erase it
                self.stream.flush()
            raise
        self.stream.write("\n" if live else line + "\n")
        self.stream.flush()
        return result


@main.command()
@click.option("--scenario", default="demo", show_default=True, help="Scenario file, or the name of a bundled one (demo, hydra-2026).")
@_seed_option
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory to write the evidence tables and truth.csv to.")
@click.option("--accounts", type=int, default=None, help="Total number of accounts (rings scale in proportion).")
@click.option("--prompts", type=click.Choice(["template", "raw"]), default="template", show_default=True, help="Template ids, or raw prompt text.")
@click.option("--format", "format_", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@_force_option
@_quiet_option
def generate(scenario, seed, out, accounts, prompts, format_, force, quiet):
    """Generate a synthetic population with planted rings and its ground truth."""
    from .synthetic import generate as run

    population = run(scenario, seed=seed, out=out, accounts=accounts, prompts=prompts, format=format_, force=force)
    if not quiet:
        m = population.manifest
        rings = ", ".join(f"{k} ({v:,})" for k, v in m["rings"].items())
        click.echo(f"{out}: {m['accounts']:,} accounts, {m['ring_accounts']:,} in {len(m['rings'])} planted rings: {rings}")
        click.echo("rows: " + ", ".join(f"{k} {v:,}" for k, v in m["rows"].items()) + f"; {m['requests']:,} requests")


# --- neo4j commands ---
# Thin wrappers over graphsleuth.server (the local Neo4j) and graphsleuth.store (loading).


@main.group(name="neo4j")
def neo4j_group():
    """The project's own Neo4j server: fetched with Maven, bound to 127.0.0.1, data in .graphsleuth/."""


@neo4j_group.command(name="start")
def neo4j_start():
    """Start the local Neo4j (and the Browser guide) and wait until it answers; fine if it runs."""
    from .server import start

    click.echo(start(quiet=False).describe())


@neo4j_group.command(name="stop")
def neo4j_stop():
    """Stop the local Neo4j server."""
    from .server import stop

    click.echo("Neo4j stopped" if stop() else "Neo4j was not running")


@neo4j_group.command(name="status")
def neo4j_status():
    """Say whether the local Neo4j runs and where; exit status 1 when it does not."""
    from .server import status

    info = status()
    click.echo(info.describe())
    sys.exit(0 if info.running else 1)


@neo4j_group.command(name="env")
def neo4j_env():
    """Print export lines for NEO4J_URI/USERNAME/PASSWORD/DATABASE: eval "$(graphsleuth neo4j env)"."""
    from .server import env

    click.echo(env())


@neo4j_group.command(name="fetch")
def neo4j_fetch():
    """Download Neo4j Community and the Neo4j Browser from Maven Central (runs mvn)."""
    from .server import fetch

    click.echo(f"Neo4j jars in {fetch()}")


@main.command(name="load")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--bulk", is_flag=True, help="Replace the local database with neo4j-admin import (server must be stopped); for large graphs.")
@click.option("--batch-size", type=int, default=20000, show_default=True, help="Rows per Bolt transaction.")
@click.option("--via", type=click.Choice(["auto", "params", "csv", "procedure"]), default="auto", show_default=True,
              help="How rows travel: auto uses graphsleuth's procedure where the server has it, LOAD CSV on the local server, parameters elsewhere.")
@click.option("--lenient", is_flag=True, help="Drop bad evidence rows instead of stopping at the first.")
@_quiet_option
def load_command(data_dir, bulk, batch_size, via, lenient, quiet):
    """Load an evidence directory into Neo4j (NEO4J_URI, or the local server); safe to repeat."""
    from .store import load

    load(data_dir, bulk=bulk, batch_size=batch_size, via=via, lenient=lenient, quiet=quiet)


@main.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory for members, rings.jsonl and clusters.jsonl.")
@click.option("--algorithm", type=click.Choice(["leiden", "louvain", "components", "label_propagation"]), default="leiden", show_default=True)
@_seed_option
@click.option("--resolution", type=float, default=None, help="Leiden CPM resolution: evidence weight per pair a cluster must exceed.")
@click.option("--format", "format_", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv", show_default=True, help="Format of the members table.")
@click.option("--lenient", is_flag=True, help="Skip bad input rows (listed in rejects.csv) instead of stopping.")
@click.option("--pseudonymise", is_flag=True, help="Replace emails, IPs and payment ids in the output with keyed hashes (key in GRAPHSLEUTH_PSEUDONYM_KEY).")
@click.option("--neo4j", "to_neo4j", is_flag=True, help="Also write the rings back to Neo4j (NEO4J_URI, or the local server).")
@click.option("--from-neo4j", is_flag=True, help="Read the evidence graph from Neo4j instead of DATA_DIR (give - as DATA_DIR).")
@_force_option
@_quiet_option
def detect(data_dir, out, algorithm, seed, resolution, format_, lenient, pseudonymise, to_neo4j, from_neo4j, force, quiet):
    """Find suspected rings in DATA_DIR and write them to --out."""
    from .atomic import check_output_dir
    from .clustering import DEFAULT_RESOLUTION
    from .detection import detect as run
    from .evidence import read_evidence
    from .export import pseudonym_key, pseudonymise_findings, pseudonymise_rejects, write_findings
    from .store import CtrlC, browser_link, read_evidence_from_neo4j, write_findings as write_to_neo4j

    key = pseudonym_key() if pseudonymise else None  # a missing key fails before any work
    check_output_dir(out, force)
    keep_freed_memory()  # the process ends with the command: trade held memory for fewer page faults
    progress = _Steps(quiet)
    # A Ctrl-C that library code swallowed still stops the run before anything is written.
    with CtrlC() as ctrl_c:
        if from_neo4j:
            evidence = progress.step("reading the evidence graph from Neo4j", read_evidence_from_neo4j)
        else:
            evidence = progress.step("reading evidence", lambda: read_evidence(data_dir, lenient=lenient))
        ctrl_c.check()
        findings = run(evidence, out=None, algorithm=algorithm, seed=seed,
                       resolution=DEFAULT_RESOLUTION if resolution is None else resolution,
                       lenient=lenient, quiet=quiet)
        for ring in findings.rings:
            ring["browser_link"] = browser_link(ring["ring_id"])
        ctrl_c.check()
        if to_neo4j:
            summary = progress.step("writing rings to Neo4j", lambda: write_to_neo4j(findings, quiet=True))
            if not quiet:
                click.echo(summary.describe())
        if pseudonymise:
            evidence.rejects = pseudonymise_rejects(evidence.rejects, key)
            findings = pseudonymise_findings(findings, key)
        ctrl_c.check()
        write_findings(findings, out, format=format_, evidence=evidence, force=force)
    if not quiet:
        click.echo(rings_table(findings))
        if lenient:
            rejected = len(evidence.rejects)
            where = f", listed with their reasons in {out / 'rejects.csv'}" if rejected else ""
            click.echo(f"{rejected:,} input rows rejected{where}")


def rings_table(findings, limit: int = 15) -> str:
    """The terminal summary: counts, then the top rings with their strongest reason."""
    lines = [f"{len(findings.rings)} suspected rings, {len(findings.members):,} accounts "
             f"({findings.stats.get('clusters_scored', 0)} clusters scored, {findings.stats.get('accounts', 0):,} accounts read)"]
    if findings.rings:
        lines.append(f"{'ring':<16} {'size':>7} {'score':>6}  why")
        for ring in findings.rings[:limit]:
            why = "; ".join(ring["explanation"].split(": ", 1)[-1].rstrip(".").split("; ")[:2])
            why = why if len(why) <= 150 else why[:149] + "…"
            lines.append(f"{ring['ring_id']:<16} {ring['size']:>7,} {ring['score']:>6.2f}  {why}")
        if len(findings.rings) > limit:
            lines.append(f"… {len(findings.rings) - limit} more in rings.jsonl")
    return "\n".join(lines)


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("truth_csv", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate(out_dir, truth_csv, as_json):
    """Measure the rings that detect wrote to OUT_DIR against TRUTH_CSV."""
    from .evaluation import _dumps, evaluate as run, format_evaluation

    result = run(out_dir, truth_csv)
    click.echo(_dumps(result) if as_json else format_evaluation(result))
