"""Replacing the local database with the evidence graph through neo4j-admin's bulk import."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import server
from ..errors import StoreError
from ..evidence import Evidence
from ..progress import Progress
from .rows import write_frame_csv
from .schema import apply_schema
from .session import open_driver, store_errors
from .steps import NodeIds, as_evidence, key_text, load_steps
from .summary import LoadSummary

__all__ = ["bulk_load", "bulk_files"]


def _has_newlines(frame: pd.DataFrame) -> bool:
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object and len(values):
            text = values.dropna().astype(str)
            if len(text) and text.str.contains(r"[\r\n]", regex=True).any():
                return True
    return False


class _NodeNumbers:
    """Node ids for ``neo4j-admin import --id-type=actual``: every node numbered once, from 0.

    Relationships then name their nodes by number, so the importer looks nothing
    up (with string ids it sorts and searches millions of them: most of its time).
    """

    def __init__(self):
        self.count = 0
        self.numbered = NodeIds()

    def number(self, group: str, keys: pd.Series) -> np.ndarray:
        """Number the nodes of ``group`` (keys unique within it) after every node numbered before."""
        numbers = np.arange(self.count, self.count + len(keys), dtype=np.int64)
        self.numbered.put(group, keys, numbers)
        self.count += len(keys)
        return numbers

    def of(self, group: str, keys: pd.Series) -> np.ndarray:
        """The numbers of the nodes of ``group`` with these keys (every key must be a node)."""
        found = self.numbered.of(group, keys)
        if (found < 0).any():  # the frames come from one Evidence: a miss is a bug, not bad input
            raise StoreError(f"bulk import: a relationship names a {group} that is not a node")
        return found


def bulk_files(evidence: Evidence, folder: Path, summary: LoadSummary | None = None) -> tuple[list[str], list[str]]:
    """Write neo4j-admin import CSV files for ``evidence`` into ``folder`` (pyarrow, column-wise).

    Returns the ``--nodes`` and ``--relationships`` arguments (labels and types
    given in the arguments, not as columns), for ``--id-type=actual``: nodes
    are numbered by :class:`_NodeNumbers` and their own ids are properties.
    Same graph as :func:`load` builds through Bolt; link nodes are keyed by kind
    and value. ``summary.multiline`` tells whether any text field holds a line break.
    """
    summary = summary or LoadSummary()
    folder.mkdir(parents=True, exist_ok=True)
    steps = {s.body + ("" if "label" not in s.extra else ":" + s.extra["label"]): s for s in load_steps(evidence, summary)}
    nodes, rels = [], []
    numbers = _NodeNumbers()
    summary.multiline = False

    def write(name: str, frame: pd.DataFrame, header: list[str]) -> Path:
        path = folder / f"{name}.csv"
        summary.rows[name] = write_frame_csv(frame, path, header)
        summary.multiline = summary.multiline or _has_newlines(frame)
        return path

    def node_file(name: str, frame: pd.DataFrame, key, header: list[str], labels: str) -> None:
        numbered = frame.copy()
        numbered.insert(0, "node", numbers.number(name, key))
        nodes.append(f"--nodes={labels}={write(name, numbered, [':ID', *header])}")

    def rel_file(
        name: str, props: pd.DataFrame, start: tuple[str, object], end: tuple[str, object], header: list[str], rel_type: str
    ) -> None:
        """``props`` holds the relationship's property columns (matching ``header``), one row per relationship."""
        ends = pd.DataFrame({"start": numbers.of(*start), "end": numbers.of(*end)})
        frame = pd.concat([ends, props.reset_index(drop=True)], axis=1)
        rels.append(f"--relationships={rel_type}={write(name, frame, [':START_ID', ':END_ID', *header])}")

    accounts = steps["accounts"].frame
    node_file("accounts", accounts, accounts["account_id"], ["accountId", "createdAt:datetime", "email", "country", "extras"], "Account")
    methods = steps["payment_methods"].frame
    node_file("payment_methods", methods, methods["payment_id"], ["paymentId", "kind"], "PaymentMethod")
    bins = steps["bins"].frame
    node_file("bins", bins, bins["bin"], ["bin"], "Bin")
    addresses = steps["ip_addresses"].frame
    node_file("ip_addresses", addresses[["ip"]], addresses["ip"], ["ip"], "IpAddress")
    subnets = steps["subnets"].frame
    node_file("subnets", subnets, subnets["cidr"], ["cidr"], "Subnet")
    templates = steps["prompt_templates"].frame
    node_file("prompt_templates", templates, templates["template_id"], ["templateId", "text"], "PromptTemplate")
    issued = steps["issued_under"].frame
    rel_file("issued_under", issued.iloc[:, :0], ("payment_methods", issued["payment_id"]), ("bins", issued["bin"]), [], "ISSUED_UNDER")
    paid = steps["paid_with"].frame
    rel_file("paid_with", paid.iloc[:, :0], ("accounts", paid["account_id"]), ("payment_methods", paid["payment_id"]), [], "PAID_WITH")
    rel_file("in_subnet", addresses.iloc[:, :0], ("ip_addresses", addresses["ip"]), ("subnets", addresses["cidr"]), [], "IN_SUBNET")
    connected = steps["connected_from"].frame
    rel_file(
        "connected_from",
        connected[["requests", "first_seen", "last_seen"]],
        ("accounts", connected["account_id"]),
        ("ip_addresses", connected["ip"]),
        ["requests:long", "firstSeen:datetime", "lastSeen:datetime"],
        "CONNECTED_FROM",
    )
    sent = steps["sent"].frame
    rel_file(
        "sent",
        sent[["count", "first_ts", "last_ts"]],
        ("accounts", sent["account_id"]),
        ("prompt_templates", sent["template_id"]),
        ["count:long", "firstTs:datetime", "lastTs:datetime"],
        "SENT",
    )
    labels = sorted(s.extra["label"] for s in steps.values() if s.body == "links")
    for index, label in enumerate(labels):
        link_nodes = steps[f"links:{label}"].frame
        linked = steps[f"linked_to:{label}"].frame
        node_file(
            f"links_{index}", link_nodes[["kind", "value"]], key_text(link_nodes, ("kind", "value")), ["kind", "value"], f"Link:{label}"
        )
        rel_file(
            f"linked_to_{index}",
            linked.iloc[:, :0],
            ("accounts", linked["account_id"]),
            (f"links_{index}", key_text(linked, ("kind", "value"))),
            [],
            "LINKED_TO",
        )
    return nodes, rels


def bulk_load(evidence_or_dir, *, progress: Progress | None = None, start_after: bool = True) -> LoadSummary:
    """Replace the local database with ``evidence`` via ``neo4j-admin database import full``.

    For large graphs. Works only on the project's local server (NEO4J_URI unset),
    and only while it is stopped, because the import writes the store files
    directly. Starts the server afterwards (``start_after``) and creates the
    schema, so the result is what :func:`load` would build. ``summary.timings``
    holds the seconds of each part (prepare, write_csv, import, start, schema).
    """
    import os

    if os.environ.get("NEO4J_URI"):
        raise StoreError("bulk load writes the local database files; it cannot load into NEO4J_URI (unset it, or load without --bulk)")
    if server.is_running():
        raise StoreError(
            "bulk load replaces the local database and needs the server stopped: "
            "run `graphsleuth neo4j stop` first (or load without --bulk)"
        )
    evidence = as_evidence(evidence_or_dir)
    summary = LoadSummary(method="neo4j-admin import")
    began = time.monotonic()
    folder = server.neo4j_home() / "import" / "bulk"
    shutil.rmtree(folder, ignore_errors=True)
    nodes, rels = bulk_files(evidence, folder, summary)
    summary.timings["write_csv"] = time.monotonic() - began
    progress = progress or Progress()
    progress.note(f"importing {sum(summary.rows.values())} rows with neo4j-admin into the local database neo4j (replacing it)")
    report = server.neo4j_home() / "logs" / "import.report"
    importing = time.monotonic()
    done = server.admin(
        [
            "database",
            "import",
            "full",
            "neo4j",
            "--overwrite-destination=true",
            "--id-type=actual",
            f"--multiline-fields={'true' if summary.multiline else 'false'}",
            f"--report-file={report}",
            *nodes,
            *rels,
        ],
        heap=server.IMPORT_HEAP,
    )
    summary.timings["import"] = time.monotonic() - importing
    output = done.stdout + done.stderr
    if done.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.strip().startswith("at ")]
        reasons = [ln for ln in lines if "Exception" in ln] or [ln for ln in lines if "rror" in ln] or lines[-2:]
        raise StoreError(f"neo4j-admin import failed: {reasons[0] if reasons else 'no output'} (see {report})")
    summary.nodes_created = _import_count(output, "nodes")
    summary.relationships_created = _import_count(output, "relationships")
    summary.seconds = time.monotonic() - began
    shutil.rmtree(folder, ignore_errors=True)
    if start_after:
        starting = time.monotonic()
        server.start(progress=progress)
        summary.timings["start"] = time.monotonic() - starting
        schema = time.monotonic()
        with open_driver() as (driver, conn), store_errors(conn):
            with driver.session(database=conn.database) as session:
                apply_schema(session)
        summary.timings["schema"] = time.monotonic() - schema
    return summary


def _import_count(output: str, what: str) -> int:
    """Imported node/relationship count from neo4j-admin's closing report."""
    match = re.search(rf"Imported:\s*(?:\n|.)*?(\d+)\s+{what}", output)
    return int(match.group(1)) if match else 0
