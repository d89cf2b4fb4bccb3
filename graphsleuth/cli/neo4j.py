"""``graphsleuth neo4j``: the project's own Neo4j server, fetched with Maven and bound to 127.0.0.1."""

from __future__ import annotations

import sys

import click

from .. import server
from ..progress import Progress
from .main import command_help, main

__all__ = ["neo4j_group"]


@main.group(name="neo4j")
def neo4j_group():
    """The project's own Neo4j server: fetched with Maven, bound to 127.0.0.1, data in GRAPHSLEUTH_HOME."""


@neo4j_group.command(name="start", help=command_help(server.start))
def neo4j_start():
    click.echo(server.start(progress=Progress(show=True)).describe())


@neo4j_group.command(name="stop", help=command_help(server.stop))
def neo4j_stop():
    click.echo("Neo4j stopped" if server.stop() else "Neo4j was not running")


@neo4j_group.command(name="status", help=command_help(server.status) + "\n\nExits with status 1 when it does not run.")
def neo4j_status():
    info = server.status()
    click.echo(info.describe())
    sys.exit(0 if info.running else 1)


@neo4j_group.command(name="env", help=command_help(server.env))
def neo4j_env():
    click.echo(server.env())


@neo4j_group.command(name="fetch", help=command_help(server.fetch))
def neo4j_fetch():
    click.echo(f"Neo4j jars in {server.fetch(progress=Progress(show=True))}")
