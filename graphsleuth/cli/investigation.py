"""The investigator's commands: a verdict on a ring, a ring's case file, the rings' shared indicators."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api
from ..investigation import VERDICTS
from .main import command_help, main

__all__ = ["verdict", "report", "indicators"]


@main.command(help=command_help(api.verdict))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("ring_id")
@click.argument("verdict", type=click.Choice(VERDICTS))
@click.option("--note", default="", help="Why: what the investigator found.")
@click.option("--by", default=None, help="Who gives the verdict (default: your login name).")
@click.option("--at", default=None, help="When it was given, ISO-8601 (default: now).")
def verdict(out_dir, ring_id, verdict, note, by, at):
    record = api.verdict(out_dir, ring_id, verdict, note=note, by=by, at=at)
    click.echo(
        f"{record.ring_id}: {record.verdict} by {record.by or 'unknown'} at {record.at} ({record.size} accounts); kept in {out_dir / 'verdicts.jsonl'}"
    )


@main.command(help=command_help(api.report))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ring", default=None, help="The ring to write the case file of (default: the best rings).")
@click.option("--top", type=click.IntRange(min=1), default=None, help="How many of the best rings (default 10).")
@click.option("--out", "report_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The HTML file to write.")
@click.option(
    "--pseudonymise", is_flag=True, help="The run was pseudonymised: hash personal values with its key (GRAPHSLEUTH_PSEUDONYM_KEY)."
)
def report(out_dir, ring, top, report_file, pseudonymise):
    if ring is not None and top is not None:
        raise click.UsageError("give --ring or --top, not both")
    written = api.report(out_dir, report_file, ring=ring, top=top, pseudonymise=pseudonymise)
    click.echo(f"{report_file}: case files of {len(written)} rings ({', '.join(written)})")


@main.command(help=command_help(api.indicators))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "indicators_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The JSON file to write.")
@click.option("--ring", default=None, help="Only this ring (default: every ring of the run).")
def indicators(out_dir, indicators_file, ring):
    groupings = api.indicators(out_dir, indicators_file, ring=ring)
    click.echo(f"{indicators_file}: a STIX 2.1 bundle of {groupings} rings")
