"""Locate the files that ship beside the code: scenario files and Cypher files.

In a source checkout (or an editable install) they live in the repository's
``synthetic/`` and ``cypher/`` folders; in an installed wheel they are package
data under ``graphsleuth.scenarios`` and ``graphsleuth.cypher``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["bundled_file"]

_PACKAGES = {"synthetic": "graphsleuth.scenarios", "cypher": "graphsleuth.cypher"}


def bundled_file(folder: str, name: str) -> Path | None:
    """The path of ``folder/name`` (folder is ``synthetic`` or ``cypher``), or None if absent."""
    checkout = Path(__file__).resolve().parent.parent / folder / name
    if checkout.is_file():
        return checkout
    try:
        candidate = resources.files(_PACKAGES[folder]).joinpath(name)
    except (ModuleNotFoundError, TypeError):
        return None
    return Path(str(candidate)) if candidate.is_file() else None
