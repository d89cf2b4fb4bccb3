"""The ``graphsleuth`` command line: each command wraps the library function of the same name.

Errors the user can cause are printed as one line on stderr with the exit
code of :data:`graphsleuth.errors.EXIT_CODES`; no traceback reaches the terminal.
"""

from __future__ import annotations

import inspect
import sys

import click

from .. import __version__
from ..errors import GraphsleuthError, exit_codes_text

__all__ = ["main", "command_help"]


class _Commands(click.Group):
    """A click group that turns graphsleuth errors and Ctrl-C into one-line messages and exit codes."""

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


def command_help(function) -> str:
    """A command's help: the docstring of the library function it wraps."""
    return inspect.cleandoc(function.__doc__ or "")


@click.group(cls=_Commands, epilog="\b\nExit codes:\n" + exit_codes_text())
@click.version_option(__version__, prog_name="graphsleuth")
def main():
    """Find rings of fake accounts that share cards, IPs and prompt templates."""


def _register() -> None:
    from . import commands, ingest, investigation, neo4j  # noqa: F401 - the commands attach themselves to main


_register()
