"""The ``graphsleuth`` command line: each command wraps the library function of the same name.

Errors the user can cause are printed as one line on stderr with a non-zero
exit code; no traceback reaches the terminal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import GraphsleuthError

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
