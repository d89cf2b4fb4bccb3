"""The vectorised parsers behind reading a million accounts give what the reference libraries give.

Times in the common ``YYYY-MM-DDTHH:MM:SSZ`` form are parsed from Arrow's bytes
with numpy, IPv6 addresses and their /48 networks with inet_pton/inet_ntop, and
a load's per account x IP and account x template rows are summed with integer
group codes; each must agree with pandas or :mod:`ipaddress` on every value, or
a user's evidence would silently change meaning.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsleuth.evidence import subnet_of
from graphsleuth.evidence.values import canonical_ipv6, convert_column
from graphsleuth.store.rows import aggregate_ips, aggregate_prompts, iso_text, sorted_distinct

# Dates near the edges of what fits in nanoseconds, leap days, and impossible fields.
_FIELDS = st.tuples(
    st.sampled_from([1677, 1678, 1900, 1970, 2000, 2024, 2100, 2261, 2262]) | st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)


def _reference_time(text: str):
    """What pandas makes of one value, under the rules evidence reading states (years 1678 to 2261)."""
    if text.strip().lower() in ("now", "today", ""):
        return None
    value = pd.to_datetime(pd.Series([text]), utc=True, format="ISO8601", errors="coerce").iloc[0]
    if pd.isna(value) or not pd.Timestamp("1678-01-01T00:00:00Z") <= value <= pd.Timestamp("2261-12-31T23:59:59Z"):
        return None
    return value


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_FIELDS.map(lambda f: "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*f)) | st.text(max_size=25), min_size=1, max_size=30)
)
def test_times_read_as_pandas_reads_them(values):
    text = pd.Series(values, dtype="str")
    empty = (text.str.len() == 0).to_numpy()
    parsed, bad, _ = convert_column(text, "time", None, required=False)
    for value, got, is_bad in zip(values, parsed, bad):
        expected = _reference_time(value)
        if expected is None:
            assert pd.isna(got) and (is_bad or value == "")
        else:
            assert got == expected and not is_bad
    assert not bad[empty].any()


def test_times_of_a_sliced_column_are_read_from_the_right_bytes():
    stamps = pd.Series(pd.date_range("1999-12-31T23:00:00Z", periods=50, freq="37min").strftime("%Y-%m-%dT%H:%M:%SZ"), dtype="str")
    mixed = pd.concat([stamps, pd.Series(["2026-02-30T00:00:00Z", "x"], dtype="str")]).iloc[::-2]
    parsed, bad, _ = convert_column(mixed, "time", None, required=True)
    expected = pd.to_datetime(mixed, utc=True, errors="coerce", format="%Y-%m-%dT%H:%M:%SZ")
    assert parsed.equals(expected.astype("datetime64[ns, UTC]"))
    assert list(bad) == list(expected.isna())


def _reference_ipv6(value: str):
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return str(address) if address.version == 6 else None


_HEXTETS = st.lists(st.sampled_from([0, 0, 1, 0xFFFF]) | st.integers(0, 0xFFFF), min_size=8, max_size=8)


@settings(max_examples=300, deadline=None)
@given(groups=_HEXTETS, style=st.sampled_from(["short", "full", "upper", "scoped", "mapped", "junk"]))
def test_ipv6_addresses_are_written_as_ipaddress_writes_them(groups, style):
    address = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
    value = {
        "short": str(address),
        "full": address.exploded,
        "upper": str(address).upper(),
        "scoped": f"{address}%eth0",
        "mapped": f"::ffff:{groups[0] % 256}.{groups[1] % 300}.2.3",
        "junk": str(address).replace(":", ":::", 1),
    }[style]
    assert canonical_ipv6(value) == _reference_ipv6(value)
    if _reference_ipv6(value) is not None and "%" not in value:
        assert subnet_of(pd.Series([value])).iloc[0] == str(ipaddress.ip_network(f"{value}/48", strict=False))


def test_counts_keep_their_rules_when_cast_at_once():
    whole = pd.Series(["1", "0", "+7", "9007199254740993"], dtype="str")
    values, bad, _ = convert_column(whole, "count", 0, required=False)
    assert list(values) == [1, 0, 7, 9007199254740992] and not bad.any()
    mixed = pd.Series(["1", "-2", "3.5", "x", " 4"], dtype="str")
    values, bad, _ = convert_column(mixed, "count", 0, required=False)
    assert list(bad) == [False, True, True, True, False]
    assert values.iloc[4] == 4 and np.issubdtype(values.dtype, np.integer)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31)) | st.none(), min_size=1, max_size=40))
def test_times_are_written_for_neo4j_as_numpy_writes_them(moments):
    """The load and bulk files carry times as ISO text; assembling it digit by digit must not change one."""
    times = pd.Series(pd.to_datetime(pd.Series(moments, dtype=object)), dtype="datetime64[ns]").dt.tz_localize("UTC")
    naive = times.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    expected = [None if np.isnat(t) else np.datetime_as_string(t, unit="us") + "Z" for t in naive]
    assert iso_text(times).tolist() == expected


# Few distinct keys, so that groups repeat; non-ASCII text, so that sort orders are tested.
_KEYS = st.sampled_from(["a1", "a2", "B", "ä", "z9", "𝔷", "", None])
_MOMENTS = st.none() | st.integers(0, 10**6).map(lambda s: pd.Timestamp("2026-01-01T00:00:00Z") + pd.Timedelta(seconds=s))


def _texts(values: list, dtype) -> pd.Series:
    return pd.Series(values, dtype=dtype)


def _plain(values) -> list:
    """Values with every kind of missing (None, NaN, NaT, NA) as None, so that lists compare."""
    return [None if pd.isna(v) else v for v in values]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(_KEYS, _KEYS, st.none() | st.integers(0, 50), _MOMENTS, st.none() | st.sampled_from(["q1", "q2", "é"])), max_size=40
    ),
    st.sampled_from(["str", object]),
)
def test_prompts_are_summed_per_account_and_template_as_pandas_groupby_sums_them(rows, dtype):
    prompts = pd.DataFrame(
        {
            "account_id": _texts([r[0] for r in rows], dtype),
            "template_id": _texts([r[1] for r in rows], dtype),
            "count": pd.array([r[2] for r in rows], dtype="Int64"),
            "ts": pd.to_datetime(pd.Series([r[3] for r in rows], dtype=object), utc=True),
            "prompt": _texts([r[4] for r in rows], dtype),
        }
    )
    got = aggregate_prompts(prompts)
    frame = prompts.assign(count=prompts["count"].fillna(1).astype("int64"), prompt=prompts["prompt"].astype(object))
    expected = (
        frame.dropna(subset=["account_id", "template_id"])
        .groupby(["account_id", "template_id"], sort=True)
        .agg(count=("count", "sum"), first_ts=("ts", "min"), last_ts=("ts", "max"), text=("prompt", "first"))
        .reset_index()
    )
    assert got["account_id"].tolist() == expected["account_id"].tolist()
    assert got["template_id"].tolist() == expected["template_id"].tolist()
    assert got["count"].tolist() == expected["count"].tolist()
    for column in ("first_ts", "last_ts", "text"):
        assert _plain(got[column]) == _plain(expected[column]), column


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_KEYS, _KEYS, st.none() | st.integers(0, 10**12), _MOMENTS, _MOMENTS), max_size=40), st.sampled_from(["str", object])
)
def test_ip_rows_are_summed_per_account_and_ip_as_pandas_groupby_sums_them(rows, dtype):
    ips = pd.DataFrame(
        {
            "account_id": _texts([r[0] for r in rows], dtype),
            "ip": _texts([r[1] for r in rows], dtype),
            "requests": pd.array([r[2] for r in rows], dtype="Int64"),
            "first_seen": pd.to_datetime(pd.Series([r[3] for r in rows], dtype=object), utc=True),
            "last_seen": pd.to_datetime(pd.Series([r[4] for r in rows], dtype=object), utc=True),
        }
    )
    got = aggregate_ips(ips)
    grouped = ips.dropna(subset=["account_id", "ip"]).groupby(["account_id", "ip"], sort=True)
    expected = grouped.agg(first_seen=("first_seen", "min"), last_seen=("last_seen", "max")).reset_index()
    expected["requests"] = grouped["requests"].sum(min_count=1).to_numpy()
    for column in ("account_id", "ip", "first_seen", "last_seen", "requests"):
        assert _plain(got[column]) == _plain(expected[column]), column


@given(st.lists(st.text(max_size=6), max_size=30))
def test_distinct_texts_are_sorted_as_python_sorts_them(values):
    assert sorted_distinct(np.array(values, dtype=object)).tolist() == sorted(set(values))
