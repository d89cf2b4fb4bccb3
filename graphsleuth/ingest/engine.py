"""The embedded engine ingest runs its SQL on: DuckDB, with a hard memory limit that spills to disk.

DuckDB was measured on 30M requests against Polars and Arrow's Acero: the
same results, the lowest memory, and a ``memory_limit`` it keeps by spilling
to ``temp_directory``. Every statement comes from ``graphsleuth/queries/sql``
by file and name; values travel as ``$parameters`` or, for views (which cannot
take a prepared parameter), as DuckDB variables set here.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from ..errors import GraphsleuthError
from ..queries import sql_statement

__all__ = ["Engine"]

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class Engine:
    """One DuckDB connection: ``run`` a named statement, ``copy`` a query's rows to a Parquet file."""

    def __init__(self, memory_limit: str, temp_dir: Path, threads: int | None = None):
        import duckdb

        self.duckdb = duckdb
        try:
            self.con = duckdb.connect(
                ":memory:",
                config={
                    "threads": threads or os.cpu_count() or 1,
                    "memory_limit": memory_limit,
                    "temp_directory": str(temp_dir),
                    "preserve_insertion_order": False,
                },
            )
        except duckdb.Error as exc:
            raise GraphsleuthError(f"cannot start the ingest engine (memory limit {memory_limit!r}?): {_first_line(exc)}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        self._peak_spill = 0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch_spill, name="graphsleuth-spill", daemon=True)
        self._watcher.start()

    def _watch_spill(self) -> None:
        """Note the largest size the temporary files reach (a statement frees them when it ends, so a look
        between statements can miss all of it)."""
        cursor = self.con.cursor()
        try:
            while not self._stop.wait(SPILL_LOOK_S):
                self._peak_spill = max(self._peak_spill, _temporary_bytes(cursor, self.duckdb))
        finally:
            cursor.close()

    def run(self, file: str, name: str, **params):
        """Run statement ``name`` of ``sql/<file>.sql`` with the ``$parameters`` it names."""
        return self.execute(sql_statement(file, name), params)

    def execute(self, sql: str, params: dict | None = None):
        names = set(_PARAM.findall(sql))
        try:
            return self.con.execute(sql, {k: (params or {})[k] for k in names}) if names else self.con.execute(sql)
        except self.duckdb.OutOfMemoryException as exc:
            raise GraphsleuthError(f"the ingest engine ran out of memory: {_first_line(exc)} (raise --memory-limit)") from None

    def arrow(self, file: str, name: str):
        """The rows of statement ``name`` (no parameters) as an Arrow table."""
        return self.con.sql(sql_statement(file, name)).to_arrow_table()

    def rows(self, file: str, name: str, **params) -> list[tuple]:
        return self.run(file, name, **params).fetchall()

    def copy(self, file: str, name: str, path: Path, **params) -> int:
        """Write the rows of query ``name`` to the Parquet file ``path`` (ZSTD), sorted by all their columns;
        return how many. The engine's threads finish their parts in any order: unsorted, the same logs gave
        the same rows in another order each time, and detection numbers accounts in the order it reads them,
        so the same logs and seed gave other rings."""
        body = sql_statement(file, name)
        with self.in_order():
            found = self.execute(
                f"COPY (SELECT * FROM ({body}) ORDER BY ALL) TO $path (FORMAT parquet, COMPRESSION zstd)", {**params, "path": str(path)}
            ).fetchall()
        return int(found[0][0]) if found and found[0] else 0

    @contextmanager
    def in_order(self):
        """Within the block, results keep the order their query gives (the engine drops it otherwise, to save
        memory)."""
        self.execute("SET preserve_insertion_order = true")
        try:
            yield
        finally:
            self.execute("SET preserve_insertion_order = false")

    def variable(self, name: str, value) -> None:
        """Set DuckDB variable ``name`` (a name from our code) to ``value``."""
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"bad variable name {name!r}")
        self.con.execute(f"SET VARIABLE {name} = $value", {"value": value})

    def register(self, name: str, table) -> None:
        self.con.register(name, table)

    def spilled_bytes(self) -> int:
        """The most bytes of temporary files the engine has held so far (what it spilled to disk)."""
        self._peak_spill = max(self._peak_spill, _temporary_bytes(self.con, self.duckdb))
        return self._peak_spill

    def close(self) -> None:
        self._stop.set()
        self._watcher.join()
        self.con.close()


#: How often the engine looks at its temporary files while statements run.
SPILL_LOOK_S = 0.05


def _temporary_bytes(con, duckdb) -> int:
    """Bytes of the temporary files ``con`` (a connection or cursor) holds now; 0 where DuckDB cannot say."""
    try:
        found = con.execute(sql_statement("engine", "temporary_bytes")).fetchall()
        return int(found[0][0])
    except duckdb.Error:
        return 0


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
