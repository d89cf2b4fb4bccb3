"""Errors that graphsleuth reports to a person in one line, and the exit code of each.

Every error a user can cause (a bad row, a malformed scenario, an unreachable
server) is raised as a subclass of :class:`GraphsleuthError`; the command line
prints its message on one line and exits with the error's code
(:data:`EXIT_CODES`), without a traceback.
"""

from __future__ import annotations

__all__ = ["GraphsleuthError", "InputError", "ScenarioError", "StoreError", "EnvironmentMissing", "EXIT_CODES", "one_line"]

#: The exit codes of the ``graphsleuth`` command, the same for every command.
EXIT_CODES = {
    0: "success",
    1: "an error the message explains (an output directory in the way, a missing key, ...)",
    2: "usage: an unknown command or option, or a bad option value",
    3: "bad input: an evidence, log, truth or scenario file that cannot be used (file, row and column named)",
    4: "Neo4j: the server cannot be reached, refused the credentials or the operation, or would not start",
    5: "missing software: Java, Maven or Spark that a command needs is not there",
    130: "interrupted (Ctrl-C); nothing half-written is left behind",
}


def one_line(text: str) -> str:
    """``text`` with line breaks written as ``\\n`` / ``\\r``, so a message stays on one line."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def exit_codes_text() -> str:
    """The exit-code table as plain lines, for ``--help`` and README."""
    return "\n".join(f"{code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())


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

    exit_code = 3

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

    exit_code = 3

    def __init__(self, file: str, key: str | None, message: str):
        self.file = str(file)
        self.key = key
        where = self.file if key is None else f"{self.file}: key {key}"
        super().__init__(f"{where}: {message}")


class StoreError(GraphsleuthError):
    """The Neo4j store could not be reached or refused an operation."""

    exit_code = 4


class EnvironmentMissing(GraphsleuthError):
    """Software a command needs (Java, Maven, Spark) is not installed or too old."""

    exit_code = 5
