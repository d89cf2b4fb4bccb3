"""Rings followed from run to run: ids kept by member overlap, lineage of splits and merges, rings gone."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsleuth.evidence import read_evidence
from graphsleuth.investigation import PreviousRun, follow_rings, match_rings

from helpers import make_findings, write_evidence


def members(**rings: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{"account_id": a, "ring_id": r} for r, accounts in rings.items() for a in accounts])


def accounts(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(start, start + n)]


def test_a_ring_found_again_keeps_its_id_and_says_how_it_changed():
    before = members(old=accounts("a", 20))
    grown = match_rings(members(new=accounts("a", 23)), before)
    assert grown.ids == {"new": "old"}
    assert grown.lineage["new"].to_dict() == {"change": "grown", "rings": ["old"], "added": 3, "removed": 0}
    shrunk = match_rings(members(new=accounts("a", 16)), before)
    assert shrunk.lineage["new"].change == "shrunk" and shrunk.lineage["new"].removed == 4
    same = match_rings(members(new=accounts("a", 20)), before)
    assert same.lineage["new"].change == "same" and same.gone == ()


def test_containment_keeps_the_id_of_a_ring_that_doubled():
    # Jaccard 0.45 but the whole previous ring is inside the new one.
    match = match_rings(members(new=accounts("a", 44)), members(old=accounts("a", 20)))
    assert match.ids == {"new": "old"}


def test_a_ring_still_forming_keeps_its_id_when_it_and_the_previous_one_are_each_others_best_match():
    # Half the accounts changed (Jaccard 0.38, containment 0.55), but nothing else overlaps either ring as much.
    before = members(old=accounts("a", 20), other=accounts("z", 15))
    match = match_rings(members(new=accounts("a", 11) + accounts("b", 7), elsewhere=accounts("a", 4, start=11)), before)
    assert match.ids["new"] == "old" and match.lineage["new"].to_dict() == {"change": "shrunk", "rings": ["old"], "added": 7, "removed": 9}
    assert match.ids["elsewhere"] == "elsewhere" and match.lineage["elsewhere"].change == "split_from"
    # A third is not enough when the previous ring overlaps another ring more.
    crowded = match_rings(
        members(new=accounts("a", 8) + accounts("b", 6), bigger=accounts("a", 10, start=8)), members(old=accounts("a", 20))
    )
    assert crowded.ids["bigger"] == "old" and crowded.ids["new"] == "new"


def test_a_split_keeps_the_id_on_the_larger_piece_and_the_other_says_where_it_came_from():
    before = members(old=accounts("a", 40))
    now = members(big=accounts("a", 28), small=accounts("a", 12, start=28))
    match = match_rings(now, before)
    assert match.ids == {"big": "old", "small": "small"}
    assert match.lineage["small"].to_dict() == {"change": "split_from", "rings": ["old"], "added": 0, "removed": 28}
    assert match.gone == ()


def test_a_merge_keeps_the_id_with_the_largest_overlap_and_the_other_ring_is_gone_into_it():
    before = members(first=accounts("a", 30), second=accounts("b", 15))
    now = members(joined=accounts("a", 30) + accounts("b", 15))
    match = match_rings(now, before)
    assert match.ids == {"joined": "first"}
    assert match.lineage["joined"].to_dict() == {"change": "merged_from", "rings": ["first", "second"], "added": 0, "removed": 0}
    assert match.gone == ("second",) and match.into == {"second": ("first",)}


def test_rings_that_share_little_are_new_and_old_ones_are_gone():
    match = match_rings(members(new=accounts("a", 20)), members(old=accounts("a", 5) + accounts("z", 30)))
    assert match.ids == {"new": "new"} and match.lineage["new"].change == "new"
    assert match.gone == ("old",) and match.into == {"old": ()}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=80),
    st.lists(st.integers(0, 6), min_size=1, max_size=80),
    st.randoms(use_true_random=False),
)
def test_every_previous_id_goes_to_at_most_one_ring_whatever_the_order_of_rows(now_rings, before_rings, rnd):
    now = pd.DataFrame({"account_id": [f"a{i}" for i in range(len(now_rings))], "ring_id": [f"n{r}" for r in now_rings]})
    before = pd.DataFrame({"account_id": [f"a{i}" for i in range(len(before_rings))], "ring_id": [f"p{r}" for r in before_rings]})
    match = match_rings(now, before)
    kept = [i for i in match.ids.values() if i.startswith("p")]
    assert len(kept) == len(set(kept))
    assert len(set(match.ids.values())) == len(match.ids)
    assert set(match.gone) == set(before["ring_id"]) - set(kept)
    shuffled = now.sample(frac=1.0, random_state=rnd.randint(0, 1000))
    assert match_rings(shuffled, before.sample(frac=1.0, random_state=rnd.randint(0, 1000))).ids == match.ids


def _previous(tmp_path, rings, verdicts=()):
    frame = members(**rings)
    return PreviousRun(
        out=tmp_path,
        run_id="run-before",
        as_of="2026-01-02T00:00:00Z",
        members=frame,
        first_seen=dict.fromkeys(rings, "2025-12-01T00:00:00Z"),
        verdicts=list(verdicts),
    )


def test_follow_rings_dates_rings_and_lists_a_gone_ring_with_where_its_accounts_are_now(tmp_path):
    evidence = read_evidence(write_evidence(tmp_path / "evidence"))
    findings = make_findings(rings=[{"ring_id": "R1", "accounts": ["a1", "a2"], "score": 0.9}])
    previous = _previous(tmp_path, {"OLD": ["a1", "a2"], "GONE": ["a4", "a5", "a6", "x9"]})
    tracked = follow_rings(findings, evidence, previous)
    ring = tracked.rings[0]
    assert (ring.ring_id, ring.first_seen, ring.last_seen) == ("OLD", "2025-12-01T00:00:00Z", "2026-01-04T10:00:00Z")
    assert set(tracked.members["ring_id"]) == {"OLD"}
    [change] = tracked.changes
    assert change.to_dict()["accounts_now"] == {
        "in_rings": {},
        "in_dismissed_rings": {},
        "in_clusters_not_flagged": 2,  # a4 and a5 are the unflagged cluster K1
        "in_no_cluster": 1,
        "no_longer_in_evidence": 1,
    }
    record = tracked.run_record()
    assert record["as_of"] == "2026-01-04T10:00:00Z" and record["previous"]["run_id"] == "run-before"
    json.dumps(record)
