"""The sessions a Bolt load writes through, and the three ways its rows travel: parameters,
LOAD CSV files in the local server's import folder, or graphsleuth's own procedure."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import server
from ..errors import StoreError
from ..interrupts import CtrlC
from ..progress import Bar, Progress
from ..queries import cypher_statement
from ..server import procedures
from .rows import write_frame_csv
from .session import closing_session, retried, run_read, run_write, run_write_returning
from .steps import Step, frame_columns, frame_rows, statement_for
from .summary import LoadSummary

__all__ = ["Writers", "params_rows", "procedure_rows", "csv_rows", "has_procedures"]


class Stopped(Exception):
    """A lane saw the load stopping (another lane failed, or Ctrl-C) and left its work."""


class Writers:
    """The sessions a Bolt load writes through: lanes of work that run at once, each in its own
    thread and session, and how the load reports what they did.

    Every statement carries the load's id as transaction metadata. When one lane
    fails, or Ctrl-C arrives, the others' running statements are ended on the
    server (cypher/load.cypher ``terminate_load``) instead of running on for a
    minute, and the first failure is the one raised.
    """

    def __init__(self, driver, database: str, summary: LoadSummary, progress: Progress, ctrl_c: CtrlC):
        self.driver = driver
        self.database = database
        self.ctrl_c = ctrl_c
        self.summary = summary
        self.reporter = progress
        self._bars: dict[str, Bar] = {}
        self.metadata = {"graphsleuth_load": uuid.uuid4().hex}
        #: set when the load must stop: a lane failed, or Ctrl-C
        self.stop = threading.Event()
        self._failures: list[BaseException] = []
        self._lock = threading.Lock()

    def run(self, lanes: list[list]) -> None:
        """Run each lane (a list of ``work(session)``) in its own thread and session; wait for all.

        Raises the first lane's failure, or KeyboardInterrupt once every lane has stopped.
        """
        self.ctrl_c.check()
        threads = [
            threading.Thread(target=self._lane, args=(lane,), name=f"graphsleuth load {index}", daemon=True)
            for index, lane in enumerate(lanes)
        ]
        for thread in threads:
            thread.start()
        try:
            self._wait(threads)
        except BaseException:  # Ctrl-C: stop every lane before it goes on
            self.stop.set()
            self._wait(threads)
            for bar in self._bars.values():
                bar.abandon()
            raise
        if self._failures:
            for bar in self._bars.values():
                bar.abandon()
            raise self._failures[0]

    def _lane(self, lane: list) -> None:
        try:
            with self.driver.session(database=self.database) as session:
                for work in lane:
                    if self.stop.is_set():
                        return
                    work(session)
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - raised again by run(), in the calling thread
            with self._lock:
                self._failures.append(exc)
            self.stop.set()

    def _wait(self, threads: list[threading.Thread]) -> None:
        """Wait for the lanes to end; once stopping, end their running statements every second."""
        terminated = 0.0
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.1)
            if not self.stop.is_set():
                self.ctrl_c.check()  # an interrupt swallowed in this thread, as CtrlC describes
            if self.stop.is_set() and time.monotonic() - terminated > 1.0:
                self._terminate()
                terminated = time.monotonic()

    def _terminate(self) -> None:
        """End this load's running statements on the server; their lanes see them fail."""
        try:
            with closing_session(self.driver, self.database) as session:
                session.run(cypher_statement("load", "terminate_load"), load=self.metadata["graphsleuth_load"]).consume()
        except Exception:  # noqa: BLE001 - a server that cannot be reached ends the statements itself
            pass

    def check(self) -> None:
        """Leave the lane's work if the load is stopping."""
        if self.stop.is_set():
            raise Stopped

    def expect(self, step: Step, rows: int) -> None:
        """``step`` will write ``rows`` rows: its progress bar starts (a step with none ends at once)."""
        self.summary.rows[step.what] = rows
        self._bars[step.what] = self.reporter.counter(step.what, rows)

    def wrote(self, step: Step, rows: int, counters) -> None:
        """Count a written batch or part: its counters, and its step's progress."""
        with self._lock:
            self.summary.add(counters)
        self._bars[step.what].advance(rows)

    def took(self, step: Step, seconds: float) -> None:
        with self._lock:
            key = f"step {step.what}"
            self.summary.timings[key] = self.summary.timings.get(key, 0.0) + seconds

    def note(self, line: str) -> None:
        """A line about the load that is worth reading now (rows rolled back and written again)."""
        self.reporter.note(line)


def params_rows(writers: Writers, batch_size: int):
    """How a load via parameters writes rows: ``batch_size`` rows per managed transaction."""

    def write_rows(session, step: Step, frame: pd.DataFrame, name: str):
        cypher = statement_for(step, "unwind")
        order, nodes = [], []
        for start in range(0, len(frame), batch_size):
            writers.check()
            rows = frame_rows(frame, start, start + batch_size)
            if step.key:
                counters, record = run_write_returning(session, cypher, writers.metadata, rows=rows, **step.extra)
                order.append(np.asarray(record["lines"], dtype=np.int64) + start)
                nodes += record["nodes"]
            else:
                counters = run_write(session, cypher, writers.metadata, rows=rows, **step.extra)
            writers.wrote(step, len(rows), counters)
        return np.concatenate(order) if order else np.zeros(0, dtype=np.int64), nodes

    return write_rows


@dataclass(frozen=True)
class _CalledCounters:
    """What one procedure call wrote, in the shape of the driver's counters (which miss it)."""

    relationships_created: int
    properties_set: int
    nodes_created: int = 0
    labels_added: int = 0


def has_procedures(session) -> bool:
    """True when the server ``session`` talks to has every procedure of :data:`graphsleuth.plugin.PROCEDURES`."""
    names = list(procedures.PROCEDURES)
    return run_read(session, cypher_statement("load", "has_procedures"), names=names)[0]["found"] == len(names)


def procedure_rows(writers: Writers, batch_size: int, node_rows):
    """How a load writes rows when the server has graphsleuth's procedure: node steps as
    ``node_rows`` does, relationship steps as one ``call_<body>`` (cypher/load.cypher) per
    ``batch_size`` rows, each column a list parameter.

    Each call is an auto-commit transaction, which the server commits as soon as the
    call ends, as it does LOAD CSV's batches: a load that is paused or killed between
    two calls holds no locks another load would wait for. A call that fails is rolled
    back whole and run again after transient errors (:func:`retried`).
    """
    import neo4j

    def write_rows(session, step: Step, frame: pd.DataFrame, name: str):
        if step.key:
            return node_rows(session, step, frame, name)
        query = neo4j.Query(cypher_statement("load", f"call_{step.body}"), metadata=writers.metadata)
        for start in range(0, len(frame), batch_size):
            writers.check()
            columns = frame_columns(frame, start, start + batch_size)
            record = retried(lambda columns=columns: session.run(query, **columns).single(strict=True), writers.stop)
            writers.wrote(step, record["rows"], _CalledCounters(record["created"], record["properties"]))
        return None

    return write_rows


#: How long a LOAD CSV step is retried after transient errors (as the driver's execute_write does).


def _run_csv_step(session, step: Step, writers: Writers, again: bool = False, **params):
    """Run one ``CALL {} IN TRANSACTIONS`` step, retried on transient errors and lost connections.

    Returns the step's counters and its one record: a node step's nodes' ids, or a
    relationship step's failed rows (none for ``again``, the wrapper that fails instead).

    Such a statement cannot run inside a managed transaction (execute_write), so
    the retry is done here (:func:`retried`): the whole step runs again, and
    batches committed before the failure are matched by its MERGEs, not written
    twice. Nothing is retried once the load is stopping.
    """
    import neo4j

    query = neo4j.Query(statement_for(step, "csv", again), metadata=writers.metadata)

    def attempt():
        result = session.run(query, **params)
        record = None if again else result.single(strict=True)
        return result.consume().counters, record

    return retried(attempt, writers.stop)


@contextmanager
def csv_rows(writers: Writers, batch_size: int):
    """How a load via LOAD CSV writes rows: as a file in the local server's import folder, which
    the server reads; the folder is removed at the end."""
    folder_name = f"load-{uuid.uuid4().hex[:12]}"
    folder = server.neo4j_home() / "import" / folder_name
    folder.mkdir(parents=True, exist_ok=True)

    def write_rows(session, step: Step, frame: pd.DataFrame, name: str):
        if not len(frame):
            return np.zeros(0, dtype=np.int64), []

        def run(file: str, rows: pd.DataFrame, again: bool = False):
            write_frame_csv(rows, folder / file)
            writers.check()
            return _run_csv_step(session, step, writers, again, url=f"file:///{folder_name}/{file}", batch=int(batch_size), **step.extra)

        counters, record = run(f"{name}.csv", frame)
        if step.key:
            writers.wrote(step, len(frame), counters)
            return record["lines"], record["nodes"]
        failed = _failed_rows(record["failed"], len(frame))
        writers.wrote(step, len(frame) - len(failed), counters)
        if len(failed):
            writers.note(
                f"{step.what}: {len(failed)} of {len(frame)} rows were rolled back ({_first_line(record['errors'])}); writing them again"
            )
            counters, _ = run(f"{name}-again.csv", frame.iloc[failed], again=True)
            writers.wrote(step, len(failed), counters)
        return None

    try:
        yield write_rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _failed_rows(lines: list, rows: int) -> np.ndarray:
    """The frame rows of the CSV lines a relationship step reported as rolled back.

    The header is line 1, so row ``i`` is line ``i + 2``: a relationship file holds
    only ids, counts and times, never a field that spans lines.
    """
    failed = np.sort(np.asarray(lines, dtype=np.int64)) - 2
    if len(failed) and (failed[0] < 0 or failed[-1] >= rows):
        raise StoreError(f"the server reported failed rows outside the {rows} rows it was sent")
    return failed


def _first_line(errors: list) -> str:
    """The first line of the first error a failed batch gave, for a progress line."""
    return next((str(e).strip().splitlines()[0] for e in errors if e and str(e).strip()), "no error message")
