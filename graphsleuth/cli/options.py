"""Options that several commands share, declared once."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["seed_option", "force_option", "quiet_option", "lenient_option", "format_option", "out_option"]


def seed_option(f):
    return click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed gives the same result.")(f)


def force_option(f):
    return click.option("--force", is_flag=True, help="Replace the output directory if it exists.")(f)


def quiet_option(f):
    return click.option("--quiet", "-q", is_flag=True, help="No progress or summary on the terminal.")(f)


def lenient_option(f):
    return click.option(
        "--lenient", is_flag=True, help="Skip bad input rows (listed with their reasons) instead of stopping at the first."
    )(f)


def format_option(choices: tuple[str, ...], default: str, what: str):
    """``--format`` with the formats a command writes."""
    return click.option("--format", "format_", type=click.Choice(list(choices)), default=default, show_default=True, help=what)


def out_option(what: str):
    """``--out DIR``, required."""
    return click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help=what)
