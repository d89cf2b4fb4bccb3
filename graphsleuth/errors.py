"""Errors that graphsleuth reports to a person in one line.

Every error a user can cause (a bad row, a malformed scenario, an unreachable
server) is raised as a subclass of :class:`GraphsleuthError`; the CLI prints its
message on one line and exits non-zero, without a traceback.
"""

from __future__ import annotations

__all__ = ["GraphsleuthError", "InputError", "ScenarioError", "StoreError", "one_line"]


def one_line(text: str) -> str:
    """``text`` with line breaks written as ``\\n`` / ``\\r``, so a message stays on one line."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


class GraphsleuthError(Exception):
    """Base class for errors whose message is meant for the user as it is (always one line)."""

    exit_code = 1

    def __init__(self, message: str = "", *args):
        super().__init__(one_line(message), *args)


class InputError(GraphsleuthError):
    """A bad evidence file, row or value.

    The message always names the file, and where it applies the row (1 is the first
    data row) and the column, so the user can open the file at the right place.
    """

    exit_code = 2

    def __init__(self, file: str, message: str, row: int | None = None, column: str | None = None):
        self.file = str(file)
        self.row = row
        self.column = column
        self.reason = message
        where = self.file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")


class ScenarioError(GraphsleuthError):
    """A scenario file for the generator that cannot be used; names file and key."""

    exit_code = 2

    def __init__(self, file: str, key: str | None, message: str):
        self.file = str(file)
        self.key = key
        where = self.file if key is None else f"{self.file}: key {key}"
        super().__init__(f"{where}: {message}")


class StoreError(GraphsleuthError):
    """The Neo4j store could not be reached or refused an operation."""

    exit_code = 3
