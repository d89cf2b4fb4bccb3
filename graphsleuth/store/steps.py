"""The writes of one load, in order (every kind of node, then the relationships), and the node ids
the relationship writes name their nodes by."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import StoreError
from ..evidence import Evidence, read_evidence
from ..queries import cypher_statement
from .rows import account_frame, ip_frames, link_labels, link_tables, payment_frames, prompt_frames, records
from .summary import LoadSummary

__all__ = ["Step", "load_steps", "NodeIds"]

ACCOUNTS = "accounts"


@dataclass
class Step:
    """One write of a load: a table of rows and the Cypher body that writes one ``row``.

    ``body`` names ``merge_<body>`` in cypher/load.cypher; ``kind`` is the label
    or relationship type it writes. The rows may still be in preparation in the
    background (:func:`load_steps`): ``frame`` waits for them.
    """

    what: str
    body: str
    _frame: pd.DataFrame | Callable[[], pd.DataFrame]
    kind: str
    extra: dict = field(default_factory=dict)
    #: a node step: the columns that name a node (the load keeps each node's id by them)
    key: tuple[str, ...] = ()
    #: a relationship step: for its start and its end, the node step and the columns naming the node
    ends: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def frame(self) -> pd.DataFrame:
        """The step's rows, once they are prepared."""
        if callable(self._frame):
            self._frame = self._frame()
        return self._frame


def as_evidence(evidence_or_dir, lenient: bool = False) -> Evidence:
    if isinstance(evidence_or_dir, Evidence):
        return evidence_or_dir
    return read_evidence(evidence_or_dir, lenient=lenient)


def _prepared(pool: ThreadPoolExecutor | None, prepare, *args) -> dict[str, pd.DataFrame] | _FramesLater:
    """The frames ``prepare(*args)`` makes, by name: at once without a ``pool``, else in its
    background thread."""
    if pool is None:
        return prepare(*args)
    return _FramesLater(pool.submit(prepare, *args))


class _FramesLater:
    """The frames of a preparation running in the background: ``[name]`` is a function that
    waits for frame ``name`` (a :class:`Step` takes either)."""

    def __init__(self, future: Future):
        self.future = future

    def __getitem__(self, name: str) -> Callable[[], pd.DataFrame]:
        return lambda: self.future.result()[name]


def load_steps(evidence: Evidence, summary: LoadSummary, pool: ThreadPoolExecutor | None = None) -> list[Step]:
    """The writes of one load, in order: every kind of node first, then the relationships.

    With a ``pool``, the rows of every table but accounts (payments 1.5 s, IPs 6 s,
    prompts 8 s and links 1.7 s at 1M accounts) are made in its background thread,
    in the order they are written, while the accounts are written; a step's
    ``frame`` waits for its rows.
    """
    pay = _prepared(pool, payment_frames, evidence.payments)
    ip = _prepared(pool, ip_frames, evidence.ips)
    prompt = _prepared(pool, prompt_frames, evidence.prompts, summary)
    links = _prepared(pool, link_tables, evidence.links)
    steps = [
        Step(ACCOUNTS, "accounts", account_frame(evidence.accounts), "Account", key=("account_id",)),
        Step("payment methods", "payment_methods", pay["methods"], "PaymentMethod", key=("payment_id",)),
        Step("BINs", "bins", pay["bins"], "Bin", key=("bin",)),
        Step("IP addresses", "ip_addresses", ip["addresses"], "IpAddress", key=("ip",)),
        Step("subnets", "subnets", ip["subnets"], "Subnet", key=("cidr",)),
        Step("prompt templates", "prompt_templates", prompt["templates"], "PromptTemplate", key=("template_id",)),
    ]
    labels = link_labels(evidence.links)  # they decide the steps, so they are known at once
    for label in labels:
        steps.append(Step(f"links ({label})", "links", links[("nodes", label)], "Link", {"label": label}, key=("kind", "value")))
    account = (ACCOUNTS, ("account_id",))
    steps += [
        Step(
            "payment methods issued under",
            "issued_under",
            pay["issued"],
            "ISSUED_UNDER",
            ends=(("payment methods", ("payment_id",)), ("BINs", ("bin",))),
        ),
        Step("accounts paid with", "paid_with", pay["paid"], "PAID_WITH", ends=(account, ("payment methods", ("payment_id",)))),
        Step("IP addresses in subnet", "in_subnet", ip["addresses"], "IN_SUBNET", ends=(("IP addresses", ("ip",)), ("subnets", ("cidr",)))),
        Step("accounts connected from", "connected_from", ip["connected"], "CONNECTED_FROM", ends=(account, ("IP addresses", ("ip",)))),
        Step("accounts sent", "sent", prompt["sent"], "SENT", ends=(account, ("prompt templates", ("template_id",)))),
    ]
    for label in labels:
        steps.append(
            Step(
                f"accounts linked to ({label})",
                "linked_to",
                links[("rels", label)],
                "LINKED_TO",
                {"label": label},
                ends=(account, (f"links ({label})", ("kind", "value"))),
            )
        )
    return steps


def frame_rows(frame: pd.DataFrame, start: int, stop: int) -> list[dict]:
    """Rows ``start:stop`` of ``frame`` as parameter maps (plain Python values, None where missing)."""
    return records(frame_columns(frame, start, stop))


def frame_columns(frame: pd.DataFrame, start: int, stop: int) -> dict[str, list]:
    """Rows ``start:stop`` of ``frame`` as one list of plain Python values per column, None where missing."""
    part = frame.iloc[start:stop]
    columns = {}
    for name in part.columns:
        values = part[name]
        if values.dtype.kind in "iu":
            columns[name] = values.tolist()
        else:
            array = values.to_numpy(dtype=object, na_value=None)
            columns[name] = [int(v) if isinstance(v, np.integer) else v for v in array] if values.dtype == "Int64" else array.tolist()
    return columns


def statement_for(step: Step, source: str, again: bool = False) -> str:
    """The Cypher of ``step``: its MERGE body inside the ``source`` wrapper of load.cypher.

    ``source`` is ``unwind`` or ``csv``; a node step's wrapper returns its nodes' ids.
    ``again`` picks the wrapper that writes a relationship step's failed rows once more
    (``csv_rows_again``).
    """
    body = cypher_statement("load", f"merge_{step.body}")
    wrapper = cypher_statement("load", f"{source}_{'nodes' if step.key else 'rows'}{'_again' if again else ''}")
    return wrapper.replace("{{body}}", body)


def key_text(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """One text per row naming its node: the key column, or the key columns joined by a unit separator."""
    key = frame[columns[0]]
    for name in columns[1:]:
        key = key + "\x1f" + frame[name]
    return key


class NodeIds:
    """Node ids by key, per group of nodes: what a Bolt load's relationship steps and a bulk import's
    relationship files name their two nodes by.

    In a Bolt load they are the ids the server gave the nodes the load wrote; the
    server then finds a relationship's two nodes by reading their records instead
    of searching an index. A bulk import numbers the nodes itself (:class:`_NodeNumbers`).
    """

    def __init__(self):
        self.keys: dict[str, pa.Array] = {}
        self.ids: dict[str, np.ndarray] = {}

    def put(self, group: str, keys: pd.Series, ids: np.ndarray) -> None:
        """The nodes of ``group``: their keys (unique within it) and their ids, in the same order."""
        self.keys[group] = _arrow_text(keys)
        self.ids[group] = ids

    def keep(self, step: Step, order: np.ndarray, nodes: list) -> None:
        """Keep the ids the server returned for ``step``'s nodes; ``order`` ranks each among the step's rows."""
        if len(nodes) != len(step.frame):
            raise StoreError(f"{step.what}: the server returned {len(nodes)} node ids for {len(step.frame)} rows")
        ids = np.asarray(nodes, dtype=np.int64)[np.argsort(np.asarray(order, dtype=np.int64), kind="stable")]
        self.put(step.what, key_text(step.frame, step.key), ids)

    def of(self, group: str, keys: pd.Series) -> np.ndarray:
        """The ids of the nodes of ``group`` with these keys; -1 where there is no such node."""
        if group not in self.ids:
            return np.full(len(keys), -1, dtype=np.int64)
        positions = _positions(keys, self.keys[group])
        return np.where(positions >= 0, self.ids[group][positions], -1)

    def rows(self, step: Step) -> pd.DataFrame:
        """The rows relationship ``step`` writes, with its two nodes as ids (``start``, ``end``)
        in place of their keys.

        A row whose node the load did not write is left out, as a MATCH by key
        would have found nothing for it.
        """
        (start_of, start_key), (end_of, end_key) = step.ends
        start = self.of(start_of, key_text(step.frame, start_key))
        end = self.of(end_of, key_text(step.frame, end_key))
        props = step.frame.drop(columns=sorted({*start_key, *end_key}))
        frame = pd.concat([pd.DataFrame({"start": start, "end": end}), props.reset_index(drop=True)], axis=1)
        return frame[(start >= 0) & (end >= 0)].reset_index(drop=True)


def _arrow_text(values: pd.Series) -> pa.Array:
    return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _positions(keys: pd.Series, known: pa.Array) -> np.ndarray:
    """Each key's position in ``known``, -1 where it is not there (Arrow's hash table: millions of keys a second)."""
    return pc.index_in(_arrow_text(keys), value_set=known).fill_null(-1).to_numpy().astype(np.int64)
