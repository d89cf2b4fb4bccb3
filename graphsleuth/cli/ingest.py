"""``graphsleuth ingest``: request logs to the evidence tables ``detect`` reads."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api
from ..progress import Progress
from .main import command_help, main
from .options import force_option, lenient_option, out_option, quiet_option

__all__ = ["ingest"]


@main.command(name="ingest", help=command_help(api.ingest))
@click.argument("logs", type=click.Path(path_type=Path))
@out_option("Directory to write the evidence tables to.")
@click.option(
    "--accounts", type=click.Path(dir_okay=False, path_type=Path), help="Side table of accounts (evidence format), joined by account_id."
)
@click.option(
    "--payments", type=click.Path(dir_okay=False, path_type=Path), help="Side table of payments (evidence format), joined by account_id."
)
@click.option("--link", "links", multiple=True, help="A further log column to keep as a link (its name is the link's kind); repeatable.")
@click.option("--memory-limit", default="3GB", show_default=True, help="The engine's memory limit; beyond it, it spills to --temp-dir.")
@click.option("--temp-dir", type=click.Path(file_okay=False, path_type=Path), help="Where to spill (default: a new temporary directory).")
@lenient_option
@force_option
@quiet_option
def ingest(logs, out, accounts, payments, links, memory_limit, temp_dir, lenient, force, quiet):
    summary = api.ingest(
        logs,
        out,
        accounts=accounts,
        payments=payments,
        memory_limit=memory_limit,
        temp_dir=temp_dir,
        lenient=lenient,
        progress=Progress(show=not quiet),
        force=force,
        links=links,
    )
    if not quiet:
        click.echo(f"{out}: {summary.describe()}")
        if lenient:
            where = f", listed with their reasons in {out / 'rejects.csv'}" if summary.rejected else ""
            click.echo(f"{summary.rejected:,} input rows rejected{where}")
