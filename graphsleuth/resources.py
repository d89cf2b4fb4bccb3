"""The files that ship inside the package: scenario files, Cypher and SQL queries, the Browser guide,
the Maven pom and the Java source of graphsleuth's Neo4j procedures.

They are package data, found through :mod:`importlib.resources`, so an
installed wheel and a source checkout find them the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["package_file", "package_folder"]


def package_file(package: str, *parts: str) -> Path | None:
    """The file ``parts`` inside ``package`` (``graphsleuth.synth``, ...), or None when it is not there."""
    candidate = resources.files(package).joinpath(*parts)
    return Path(str(candidate)) if candidate.is_file() else None


def package_folder(package: str, *parts: str) -> Path:
    """The folder ``parts`` inside ``package`` (installed packages are plain folders on disk)."""
    return Path(str(resources.files(package).joinpath(*parts)))
