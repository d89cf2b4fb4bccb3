"""Property tests of the log reader: the evidence depends on the requests, not on how the log is laid out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphsleuth.ingest import ingest

TABLES = ("accounts", "ips", "prompts", "links", "lockstep")
OFFSETS = [timedelta(0), timedelta(hours=2), timedelta(hours=-8), timedelta(hours=5, minutes=30)]


def _requests(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 2, 2, tzinfo=timezone.utc)
    return pd.DataFrame(
        {
            "ts": [start + timedelta(seconds=int(s)) for s in rng.integers(0, 3 * 86400, n)],
            "account_id": [f"a{i}" for i in rng.integers(0, 25, n)],
            "ip": [f"10.0.{i % 7}.{i}" for i in rng.integers(1, 40, n)],
            "user_agent": [f"ua-{i}" for i in rng.integers(0, 5, n)],
            "template_id": [f"t{i}" for i in rng.integers(0, 6, n)],
            "tokens_in": rng.integers(1, 500, n),
        }
    )


def _write(frame: pd.DataFrame, folder, fmt: str, parts: int, offsets: list[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    out["ts"] = [(t.astimezone(timezone(OFFSETS[o]))).isoformat() for t, o in zip(frame["ts"], offsets)]
    for i, chunk in enumerate(np.array_split(np.arange(len(out)), parts)):
        piece = out.iloc[chunk]
        if fmt == "parquet":
            pq.write_table(pa.Table.from_pandas(piece, preserve_index=False), folder / f"part-{i}.parquet")
        elif fmt == "csv":
            piece.to_csv(folder / f"part-{i}.csv", index=False)
        else:
            (folder / f"part-{i}.jsonl").write_text("".join(json.dumps(r, default=str) + "\n" for r in piece.to_dict("records")))


def _read(folder) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in TABLES:
        frame = pd.read_parquet(folder / f"{name}.parquet")
        tables[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return tables


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 3),
    fmt=st.sampled_from(["parquet", "csv", "jsonl"]),
    parts=st.integers(1, 4),
    shuffle=st.integers(0, 2**32 - 1),
    offsets=st.lists(st.integers(0, len(OFFSETS) - 1), min_size=300, max_size=300),
    drop=st.sets(st.sampled_from(["user_agent", "tokens_in"])),
    duplicate=st.booleans(),
)
def test_shuffled_split_offset_and_thinned_logs_give_the_same_evidence(
    tmp_path_factory, seed, fmt, parts, shuffle, offsets, drop, duplicate
):
    base = tmp_path_factory.mktemp("reader")
    requests = _requests(seed)
    _write(requests.drop(columns=sorted(drop)), base / "plain", "parquet", 1, [0] * len(requests))
    ingest(base / "plain", base / "plain-ev")
    order = np.random.default_rng(shuffle).permutation(len(requests))
    laid_out = requests.iloc[order].drop(columns=sorted(drop))
    _write(laid_out, base / "other", fmt, parts, [offsets[i] for i in order])
    if duplicate:  # the same file twice: every request counts twice, nothing else changes
        first = sorted((base / "other").iterdir())[0]
        (base / "other" / ("copy-" + first.name)).write_bytes(first.read_bytes())
        _write(
            pd.concat([requests, requests.iloc[np.sort(order[: len(np.array_split(order, parts)[0])])]]).drop(columns=sorted(drop)),
            base / "plain2",
            "parquet",
            1,
            [0] * (len(requests) + len(np.array_split(order, parts)[0])),
        )
        ingest(base / "plain2", base / "plain-ev2")
        expected = _read(base / "plain-ev2")
    else:
        expected = _read(base / "plain-ev")
    ingest(base / "other", base / "other-ev")
    got = _read(base / "other-ev")
    for name in TABLES:
        pd.testing.assert_frame_equal(got[name], expected[name][got[name].columns], check_dtype=False, obj=name)
    if "user_agent" in drop:
        assert "user_agent" not in set(got["links"]["kind"])
    assert got["accounts"]["requests"].sum() == sum(len(c) for c in np.array_split(order, parts)) + (
        len(np.array_split(order, parts)[0]) if duplicate else 0
    )
