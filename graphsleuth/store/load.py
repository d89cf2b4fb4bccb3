"""Loading the evidence graph into Neo4j through Bolt, safe to repeat and to run twice at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import numpy as np
import pandas as pd

from .. import server
from ..errors import StoreError
from ..interrupts import CtrlC
from ..progress import Progress
from ..server import procedures
from .bulk import bulk_load
from .schema import apply_schema
from .session import closing_session, open_driver, store_errors
from .steps import ACCOUNTS, NodeIds, Step, as_evidence, load_steps
from .summary import LoadSummary
from .writers import Stopped, Writers, csv_rows, has_procedures, params_rows, procedure_rows

__all__ = ["load"]

BATCH_SIZE = 20000
#: How a load may send its rows (see :func:`load`).
_VIAS = ("auto", "params", "csv", "procedure")


def load(
    evidence_or_dir,
    *,
    connection: server.Connection | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    bulk: bool = False,
    lenient: bool = False,
    via: str = "auto",
) -> LoadSummary:
    """Load an evidence directory (or :class:`Evidence`) into Neo4j; idempotent.

    Creates the schema first, then every kind of node, then the relationships,
    ``batch_size`` rows per transaction, in two sessions at once
    (:func:`_write_steps`); all but the accounts' rows are prepared in a
    background thread while the first nodes are written. Every write is a MERGE: a second load
    of the same evidence creates nothing, and two loads running at the same
    time (two ``graphsleuth load`` commands, or threads) converge on the graph
    one load builds, without duplicates. Nodes are kept unique by the
    constraints of cypher/schema.cypher; a relationship's MERGE locks its two
    nodes before it creates, so a concurrent writer of the same relationship
    waits and then finds it. Deadlocks between two such loads are transient
    errors and are retried. Each node write returns its node's id, and the
    relationship writes name their two nodes by those ids (:class:`NodeIds`).

    ``via`` chooses how rows travel: ``params`` sends them as query parameters
    (any server); ``csv`` writes them as CSV files into the local server's
    import folder and runs ``LOAD CSV ... CALL {} IN TRANSACTIONS`` (the local
    server only: it reads the files itself, much faster); ``procedure`` writes
    the nodes as ``auto`` does and the relationships through graphsleuth's
    procedure (:mod:`graphsleuth.plugin`; the local server has it, another
    server has it once the jar is in its plugins folder), one call per batch of
    columns; ``auto`` is ``procedure`` where the server has it, else ``csv`` for
    the local server and ``params`` otherwise. ``progress`` reports each step
    as it goes (silent unless given one that shows). With ``bulk=True`` the local database is replaced through
    ``neo4j-admin database import full`` instead (see :func:`bulk_load`).
    """
    if via not in _VIAS:
        raise StoreError(f"via must be one of {', '.join(_VIAS)}, got {via!r}")
    progress = progress or Progress()
    with CtrlC() as ctrl_c:
        evidence = as_evidence(evidence_or_dir, lenient=lenient)
        if bulk:
            return bulk_load(evidence, progress=progress)
        if batch_size < 1:
            raise StoreError("batch size must be at least 1")
        summary = LoadSummary()
        began = time.monotonic()
        with _preparation() as pool:
            steps = load_steps(evidence, summary, pool)
            summary.timings["prepare"] = time.monotonic() - began
            _write_load(steps, summary, pool, connection, batch_size, via, progress, ctrl_c)
    summary.seconds = time.monotonic() - began
    for table, why in summary.skipped.items():
        progress.note(f"note: {table}: {why}")
    return summary


def _write_load(
    steps: list[Step],
    summary: LoadSummary,
    pool: ThreadPoolExecutor,
    connection: server.Connection | None,
    batch_size: int,
    via: str,
    progress: Progress,
    ctrl_c: CtrlC,
) -> None:
    """Create the schema and write ``steps`` through Bolt (the body of :func:`load`)."""
    with open_driver(connection) as (driver, conn), store_errors(conn):
        use_csv = via == "csv" or (via in ("auto", "procedure") and conn.local)
        if use_csv and not conn.local:
            raise StoreError("load via csv needs the local server (it reads the files itself); use via='params'")
        with closing_session(driver, conn.database) as session:
            apply_schema(session)
            use_procedure = via in ("auto", "procedure") and has_procedures(session)
            if via == "procedure" and not use_procedure:
                raise StoreError(
                    f"Neo4j at {conn.uri} does not have graphsleuth's procedures ({', '.join(procedures.PROCEDURES)}); "
                    f"put {procedures.JAR_NAME} (`graphsleuth neo4j fetch` builds it) in its plugins folder, or use via='auto'"
                )
        ways = [way for way, used in (("LOAD CSV", use_csv), ("procedure", use_procedure)) if used]
        summary.method = f"bolt ({', '.join(ways)})" if ways else "bolt"
        writing = time.monotonic()
        writers = Writers(driver, conn.database, summary, progress, ctrl_c)
        with csv_rows(writers, batch_size) if use_csv else nullcontext(params_rows(writers, batch_size)) as write_rows:
            if use_procedure:
                write_rows = procedure_rows(writers, batch_size, write_rows)
            _write_steps(writers, steps, write_rows, pool)
        summary.timings["write"] = time.monotonic() - writing


@contextmanager
def _preparation():
    """The background thread that prepares a load's later rows while its first ones are written.

    A load that stops early does not wait for a preparation still running.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphsleuth prepare")
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _write_steps(writers: Writers, steps: list[Step], write_rows, pool: ThreadPoolExecutor) -> None:
    """Write the node steps one after another, then the relationship steps phase by phase.

    ``write_rows(session, step, frame, name)`` writes ``frame``'s rows for
    ``step`` and, for a node step, returns the row order and node ids the
    server sent back. A relationship step's rows (its two nodes as ids) are
    made as soon as both its kinds of node are written, in the ``pool``'s
    background thread, while the other node steps go on.
    The relationships that do not start at an account (payment method to BIN,
    IP address to subnet) are written in a second session as soon as their
    nodes are, beside the node steps still to come, whose nodes they never
    touch: at 1M accounts the load took 223.9 s against 230.7 s with them
    written after the nodes.
    """
    ids = NodeIds()
    relationships = [step for step in steps if step.ends]
    written: set[str] = set()
    rows_of: dict[str, Future] = {}

    def nodes_written(step: Step) -> None:
        written.add(step.what)
        for rel in relationships:
            if rel.what not in rows_of and all(end in written for end, _key in rel.ends):
                rows_of[rel.what] = pool.submit(ids.rows, rel)

    def rows_when_ready(step: Step) -> pd.DataFrame:
        while step.what not in rows_of:
            if writers.stop.wait(0.05):
                raise Stopped
        return rows_of[step.what].result()

    def write(step: Step, frame: Callable[[], pd.DataFrame], name: str, rows: np.ndarray | None = None):
        def work(session) -> None:
            began = time.monotonic()
            part = frame() if rows is None else frame()[rows].reset_index(drop=True)
            if rows is None:
                writers.expect(step, len(part))
            written_rows = write_rows(session, step, part, name)
            if step.key:
                ids.keep(step, *written_rows)
                nodes_written(step)
            writers.took(step, time.monotonic() - began)

        return work

    nodes = [step for step in steps if step.key]
    names = {step.what: f"{len(nodes) + index:02d}-{step.body}" for index, step in enumerate(relationships)}
    first = [step for step in relationships if step.ends[0][0] != ACCOUNTS]
    node_lane = [write(step, lambda step=step: step.frame, f"{index:02d}-{step.body}") for index, step in enumerate(nodes)]
    first_lane = [write(step, lambda step=step: rows_when_ready(step), f"{names[step.what]}-all") for step in first]
    writers.run([lane for lane in (node_lane, first_lane) if lane])
    sided = [step for step in relationships if step.ends[0][0] == ACCOUNTS]
    frames = {step.what: rows_of[step.what].result() for step in sided}  # every node step is written by now
    for step in sided:
        writers.expect(step, len(frames[step.what]))
    for phase in _relationship_phases(sided, frames, ids):
        writers.run(
            [
                [write(step, lambda step=step: frames[step.what], f"{names[step.what]}-{half}", rows) for step, rows, half in lane]
                for lane in phase
            ]
        )


def _relationship_phases(
    steps: list[Step], frames: dict[str, pd.DataFrame], ids: NodeIds
) -> list[list[list[tuple[Step, np.ndarray, str]]]]:
    """The writes of the relationships that start at an account, as phases of lanes that run at
    once, each lane a list of (step, which of its rows, part name).

    No two lanes of a phase ever lock the same node, so they never wait on each
    other or deadlock. The accounts are cut in two halves by node id, and the
    steps in two groups with no end nodes in common: the biggest step (SENT) in
    one, the rest in the other. Each group writes one half while the other
    group writes the other half, then the halves swap. A relationship statement
    runs on one server thread, and on two cores a second one finds most of a
    core free: at 1M accounts these two phases took 127 s against 160 s one
    step after the other.
    """
    sided = sorted(steps, key=lambda step: -len(frames[step.what]))
    ends_of_big = {step.ends[1][0] for step in sided[:1]}
    big = [step for step in sided if step.ends[1][0] in ends_of_big]
    rest = [step for step in sided if step.ends[1][0] not in ends_of_big]
    accounts = ids.ids.get(ACCOUNTS, np.zeros(0, dtype=np.int64))
    cut = np.median(accounts) if len(accounts) else 0

    def half(group: list[Step], first: bool) -> list[tuple[Step, np.ndarray, str]]:
        parts = []
        for step in group:
            rows = (frames[step.what]["start"].to_numpy() < cut) == first
            if rows.any():
                parts.append((step, rows, "a" if first else "b"))
        return parts

    phases = [[half(big, True), half(rest, False)], [half(big, False), half(rest, True)]]
    return [[lane for lane in phase if lane] for phase in phases if any(phase)]
