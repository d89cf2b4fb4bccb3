"""Queries are data: Cypher for the Neo4j store in ``cypher/*.cypher`` and SQL for the
request-log engines in ``sql/*.sql``, each statement under a ``// name:`` (Cypher)
or ``-- name:`` (SQL) header, picked here by that name.

Values always travel as parameters; labels, property and column names are
written in the files (or come from graphsleuth's code), never from input.
"""

from __future__ import annotations

import re
from functools import cache

from ..errors import StoreError
from ..resources import package_file

__all__ = ["cypher_statements", "cypher_statement", "sql_statements", "sql_statement", "parse_statements"]

_CYPHER_HEADER = re.compile(r"^\s*//\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_SQL_HEADER = re.compile(r"^\s*--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


def parse_statements(text: str, header: re.Pattern = _CYPHER_HEADER, comment: str = "//") -> tuple[tuple[str, str], ...]:
    """The named statements of one query file's text, in file order, without their final ``;``."""
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = header.match(line)
        if match:
            found.append((match.group(1), []))
        elif found:
            found[-1][1].append(line)
    result = []
    for name, lines in found:
        kept = "\n".join(lines).strip().splitlines()
        # Drop trailing comments (they belong to the next statement) and the final ';'.
        while kept and (kept[-1].strip().startswith(comment) or not kept[-1].strip()):
            kept.pop()
        result.append((name, "\n".join(kept).rstrip().rstrip(";").rstrip()))
    return tuple(result)


@cache
def _cypher_file(file: str) -> tuple[tuple[str, str], ...]:
    path = package_file(__name__, "cypher", f"{file}.cypher")
    if path is None:
        raise StoreError(f"missing Cypher file cypher/{file}.cypher in the graphsleuth package")
    return parse_statements(path.read_text(encoding="utf-8"))


def cypher_statements(file: str) -> dict[str, str]:
    """The named statements of ``cypher/<file>.cypher`` as {name: cypher}, in file order."""
    return dict(_cypher_file(file))


def cypher_statement(file: str, name: str) -> str:
    """The statement ``name`` of ``cypher/<file>.cypher``."""
    found = cypher_statements(file)
    if name not in found:
        raise StoreError(f"no statement named {name} in cypher/{file}.cypher")
    return found[name]


@cache
def _sql_file(file: str) -> tuple[tuple[str, str], ...]:
    path = package_file(__name__, "sql", f"{file}.sql")
    if path is None:
        raise FileNotFoundError(f"missing SQL file sql/{file}.sql in the graphsleuth package")
    return parse_statements(path.read_text(encoding="utf-8"), _SQL_HEADER, "--")


def sql_statements(file: str) -> dict[str, str]:
    """The named statements of ``sql/<file>.sql`` as {name: sql}, in file order."""
    return dict(_sql_file(file))


def sql_statement(file: str, name: str) -> str:
    """The statement ``name`` of ``sql/<file>.sql`` (a bug in the package, not bad input, when missing)."""
    found = sql_statements(file)
    if name not in found:
        raise KeyError(f"no statement named {name} in sql/{file}.sql")
    return found[name]
