"""From request logs to the evidence directory ``detect`` reads, on DuckDB.

Two passes over the log do all the work, each grouped by fixed-width keys:

1. per (account, IP, link values): counts and first/last times, the rows that
   are not ok counted too, and in the same scan the distinct templates (or,
   for raw prompts, the distinct texts). ``accounts``, ``ips`` and ``links``
   are rolled up from it; account ids and IPs are checked on its distinct values.
2. per (account, template, hour): the triples every timing table needs.
   ``prompts`` (per account and template: count, first and last time, hours)
   and ``lockstep`` (the template-hour cells that 3+ accounts share far above
   chance, then their members) are rolled up from it.

Raw prompt text is normalised once per distinct text in the engine, grouped
into templates in Python on the distinct normal forms only, and mapped back
in the engine. CSV and JSON logs are parsed once into Parquet in the
temporary directory first. Bad rows are located (file, row, column) only
when the counts found some. The tables are written as Parquet into a
temporary directory that replaces ``out`` at the end: all of them or nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..atomic import check_output_dir, output_directory
from ..detection.graph import LOCKSTEP_LIFT
from ..errors import GraphsleuthError, InputError
from ..evidence import read_table
from ..progress import Progress
from .checks import check_values, csv_structure_problem, locate_bad_rows
from .engine import Engine
from .forms import group_forms, normalise_macro
from .sources import ACCOUNT_LINKS, KNOWN_COLUMNS, LINK_NAME, LOG_LINKS, REQUIRED, LogFiles, find_logs

__all__ = ["IngestSummary", "ingest", "LOCKSTEP_MIN_ACCOUNTS"]

#: A template-hour cell is lockstep when at least this many accounts share it (and LOCKSTEP_LIFT times chance).
LOCKSTEP_MIN_ACCOUNTS = 3


@dataclass
class IngestSummary:
    """What one ingest read and wrote: requests, rejected rows, rows per table, time per step."""

    logs: str
    out: str
    files: int
    format: str
    templates: str  # "template ids", "raw prompts" or "none"
    requests: int = 0
    rejected: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rows_per_s: float = 0.0
    spilled_mb: float = 0.0
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        tables = ", ".join(f"{name} {rows:,}" for name, rows in self.tables.items())
        return (
            f"{self.requests:,} requests from {self.files} {self.format} file(s) in {self.seconds:.1f} s "
            f"({self.rows_per_s / 1e6:.2f}M rows/s); {self.rejected:,} rejected; wrote {tables}"
        )


def ingest(
    logs: str | Path,
    out: str | Path,
    accounts: str | Path | None = None,
    payments: str | Path | None = None,
    memory_limit: str = "3GB",
    temp_dir: str | Path | None = None,
    lenient: bool = False,
    progress: Progress | None = None,
    force: bool = False,
    links: tuple[str, ...] = (),
) -> IngestSummary:
    """Turn request logs (LOGS: a file, directory or glob of Parquet, CSV or JSON Lines, gzipped or not) into the evidence directory OUT.

    Each request needs ``ts``, ``account_id`` and ``ip``; ``user_agent``,
    ``api_key_id``, ``device``, ``template_id`` / ``prompt_hash`` or raw
    ``prompt`` text, ``tokens_in``, ``tokens_out`` and the columns named in
    ``links`` are read when present. ``accounts`` and ``payments`` are side
    tables in the evidence format, joined by account_id (a directory with a
    ``logs/`` folder brings its own). Writes ``accounts``, ``ips``,
    ``prompts`` (per account and template), ``links``, ``lockstep`` (which
    accounts sent a template in the same hour far above chance), ``payments``
    and, for raw prompts, ``templates``; with ``lenient`` bad rows are left
    out and listed in ``rejects.csv``, otherwise the first one stops the run
    naming file, row and column. The engine keeps to ``memory_limit`` and
    spills to ``temp_dir`` (default: a new temporary directory, removed after).
    """
    progress = progress or Progress()
    began = time.perf_counter()
    check_output_dir(out, force)
    for name in links:
        if not LINK_NAME.match(name) or name in KNOWN_COLUMNS:
            raise GraphsleuthError(
                f"link column {name!r}: expected a column name of letters, digits and _ that ingest does not read already"
            )
    found = find_logs(logs)
    side_accounts = Path(accounts) if accounts is not None else found.accounts
    side_payments = Path(payments) if payments is not None else found.payments
    scratch = Path(tempfile.mkdtemp(prefix="graphsleuth-ingest-", dir=None if temp_dir is None else str(temp_dir)))
    engine = Engine(memory_limit, scratch / "spill")
    try:
        summary = _run(engine, found, str(logs), Path(out), side_accounts, side_payments, tuple(links), scratch, lenient, progress, force)
    finally:
        engine.close()
        shutil.rmtree(scratch, ignore_errors=True)
    summary.seconds = round(time.perf_counter() - began, 3)
    summary.rows_per_s = round(summary.requests / max(summary.seconds, 1e-9))
    summary.timings_s = {k: v for k, v in progress.timings.items() if k.startswith("ingest:")}
    return summary


def _run(engine, found: LogFiles, logs, out, side_accounts, side_payments, links, scratch, lenient, progress, force) -> IngestSummary:
    present = progress.step("ingest: opening the logs", lambda: _open(engine, found, links, scratch))
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise InputError(
            found.files[0], f"missing column {missing[0]} in the request logs (required: {', '.join(REQUIRED)})", column=missing[0]
        )
    absent = [c for c in links if c not in present]
    if absent:
        raise InputError(found.files[0], f"declared link column {absent[0]} is in no log file", column=absent[0])
    engine.run("requests", "requests")
    templates = "template ids" if {"template_id", "prompt_hash"} & present else "raw prompts" if "prompt" in present else "none"
    summary = IngestSummary(logs=logs, out=str(out), files=len(found.files), format=found.format, templates=templates)
    texts = templates == "raw prompts"

    progress.step("ingest: pass 1, accounts, IPs and links", lambda: _guarded(engine, found, "accounts", "seen_all"))
    spilled = engine.spilled_bytes()
    engine.variable("drop_accounts", [])
    engine.variable("drop_ips", [])
    engine.run("accounts", "seen")
    requests, bad = engine.rows("accounts", "totals")[0]
    problems = check_values(engine)
    rejects = pd.DataFrame(columns=["file", "row", "column", "reason", "value"])
    if bad or problems.any:
        rejects = progress.step("ingest: locating bad rows", lambda: locate_bad_rows(engine, found.format, problems, lenient))
        engine.variable("drop_accounts", problems.bad_accounts)
        engine.variable("drop_ips", problems.bad_ips)
    summary.requests, summary.rejected = int(requests), len(rejects)
    side = _side_tables(engine, side_accounts, side_payments, lenient)
    if len(side):
        rejects = pd.concat([rejects, side], ignore_index=True)
    engine.register("ip_map", pa.table({"ip": list(problems.canonical_ips), "canonical": list(problems.canonical_ips.values())}))
    engine.run("accounts", "account_dict")
    if engine.rows("accounts", "account_hash_collisions")[0][0]:
        raise GraphsleuthError(f"{logs}: two account ids share one 64-bit hash; ingest cannot key them apart")

    engine.run("links", "link_rows")
    dropping = "_dropping" if problems.any else ""
    if texts:
        progress.step("ingest: templates from raw prompts", lambda: _derive_templates(engine, found))
        progress.step("ingest: pass 2, account-template-hours", lambda: _guarded(engine, found, "prompts", f"triples_texts{dropping}"))
    elif templates == "template ids":
        progress.step("ingest: templates as logged", lambda: _guarded(engine, found, "prompts", "template_names_ids"))
        progress.step("ingest: pass 2, account-template-hours", lambda: _guarded(engine, found, "prompts", f"triples_ids{dropping}"))
    else:
        engine.run("prompts", "template_names_none")
        engine.run("prompts", "triples_none")

    spilled = max(spilled, engine.spilled_bytes())
    side_links = [c for c in (*ACCOUNT_LINKS, *links) if c in side.attrs.get("account_columns", ())]
    engine.variable("side_link_columns", side_links)
    with output_directory(out, force) as tmp:
        written = summary.tables

        def write(file: str, name: str | None = None, table: str | None = None, **params) -> None:
            table = table or file
            written[table] = progress.step(
                f"ingest: writing {table}", lambda: engine.copy(file, name or table, tmp / f"{table}.parquet", **params)
            )

        write("accounts")
        write("ips")
        write("links", "links_with_side" if side_links else "links")
        write("prompts")
        write("lockstep", min_accounts=LOCKSTEP_MIN_ACCOUNTS, min_lift=float(LOCKSTEP_LIFT))
        if side_payments is not None:
            write("payments")
        if texts:
            write("templates")
        if lenient:
            rejects.to_csv(tmp / "rejects.csv", index=False)
        summary.spilled_mb = round(max(spilled, engine.spilled_bytes()) / 2**20, 1)
    return summary


def _open(engine: Engine, found: LogFiles, links: tuple[str, ...], scratch: Path) -> set[str]:
    """Views over the logs (CSV and JSON staged once as Parquet); the columns the logs have."""
    engine.variable("log_files", list(found.files))
    engine.variable("link_columns", [*LOG_LINKS, *links])
    wanted = {*KNOWN_COLUMNS, *links}
    try:
        if found.format == "json":
            sql = "DESCRIBE SELECT * FROM read_json($files, format = 'newline_delimited', union_by_name = true)"
            keys = [row[0] for row in engine.execute(sql, {"files": list(found.files)}).fetchall()]
            engine.variable("json_columns", {k: "VARCHAR" for k in keys if k in wanted})
        engine.run("requests", f"source_{found.format}")
        if found.format in ("csv", "json"):
            stage = scratch / "staged"
            engine.variable("stage_columns", sorted(wanted))
            engine.run("requests", "stage", path=str(stage))
            engine.variable("staged_files", sorted(str(p) for p in stage.glob("*.parquet")))
            engine.run("requests", "source_staged")
        present = {row[0] for row in engine.execute("DESCRIBE logs_src").fetchall()}
    except engine.duckdb.Error as exc:
        raise _read_error(found, exc) from None
    return present


def _guarded(engine: Engine, found: LogFiles, file: str, name: str) -> None:
    """Run a pass over the logs; a file the reader refuses becomes a one-line InputError."""
    try:
        engine.run(file, name)
    except engine.duckdb.Error as exc:
        raise _read_error(found, exc) from None


def _read_error(found: LogFiles, exc: Exception) -> InputError:
    if found.format == "csv":
        problem = csv_structure_problem(found.files)
        if problem is not None:
            return problem
    message = _first_line(exc)
    named = [f for f in found.files if f in message]
    return InputError(named[0] if named else found.files[0], f"cannot read the request logs: {message}")


def _side_tables(engine: Engine, accounts: Path | None, payments: Path | None, lenient: bool) -> pd.DataFrame:
    """Read and check the side tables (evidence format), register them; their rejects (lenient)."""
    rejects = []
    frame = pd.DataFrame({"account_id": pd.Series([], dtype="str")})
    if accounts is not None:
        frame, bad = read_table(accounts, "accounts", lenient)
        rejects.append(bad)
    account_columns = tuple(frame.columns)
    for column, kind in (("created_at", "datetime64[ns, UTC]"), ("email", "str"), ("country", "str")):
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=kind if kind != "str" else object)
    engine.register("side_accounts", frame)
    pay = pd.DataFrame({"account_id": [], "payment_id": [], "kind": [], "bin": []}, dtype=object)
    if payments is not None:
        pay, bad = read_table(payments, "payments", lenient)
        rejects.append(bad)
        for column in ("kind", "bin"):
            if column not in pay.columns:
                pay[column] = None
    engine.register("side_payments", pay)
    found = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame(columns=["file", "row", "column", "reason", "value"])
    found.attrs["account_columns"] = account_columns
    return found


def _derive_templates(engine: Engine, found: LogFiles) -> None:
    _guarded(engine, found, "templates", "texts")
    engine.execute(normalise_macro())
    engine.run("templates", "text_forms")
    forms = engine.arrow("templates", "distinct_forms")
    engine.register("forms_grouped", group_forms(forms))
    engine.run("templates", "text_templates")
    engine.run("templates", "template_names_texts")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
