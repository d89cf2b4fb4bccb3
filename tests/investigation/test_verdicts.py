"""Verdicts: recorded with who, when and why, carried to the next run, and a dismissed ring left alone."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsleuth.errors import InputError
from graphsleuth.evidence import read_evidence
from graphsleuth.investigation import Verdict, follow_rings, read_verdicts, write_verdicts
from graphsleuth.investigation.runs import PreviousRun

from helpers import cli, make_findings, write_evidence


def dismissal(members, score=0.9, at="2026-01-05T00:00:00Z") -> Verdict:
    return Verdict(
        "R1", "dismissed", at, "alice", "a company's seats", "run-0", "2026-01-04T00:00:00Z", len(members), score, tuple(members)
    )


def previous_with(tmp_path, verdicts, members=("a1", "a2")) -> PreviousRun:
    import pandas as pd

    frame = pd.DataFrame({"account_id": list(members), "ring_id": "R1"})
    return PreviousRun(tmp_path, "run-0", "2026-01-04T00:00:00Z", frame, {"R1": "2026-01-04T00:00:00Z"}, list(verdicts))


def test_a_dismissed_ring_that_did_not_change_is_held_back_not_flagged(tmp_path):
    evidence = read_evidence(write_evidence(tmp_path / "evidence"))
    tracked = follow_rings(make_findings(), evidence, previous_with(tmp_path, [dismissal(["a1", "a2"])]))
    assert tracked.rings == [] and len(tracked.members) == 0
    [held] = tracked.dismissed
    assert held.ring_id == "R1" and held.verdict["by"] == "alice" and held.account_ids == ("a1", "a2")
    cluster = next(c for c in tracked.clusters if c.ring_id == "R1")
    assert not cluster.flagged and "dismissed by alice on 2026-01-05 (a company's seats)" in cluster.reason


def test_a_dismissed_ring_that_grew_is_flagged_again_and_says_what_changed(tmp_path):
    evidence = read_evidence(write_evidence(tmp_path / "evidence"))
    findings = make_findings(rings=[{"ring_id": "R1", "accounts": ["a1", "a2", "a3"], "score": 0.9}])
    # Dismissed when it had a1 and a2 only: a3 joined since, half as many again.
    tracked = follow_rings(findings, evidence, previous_with(tmp_path, [dismissal(["a1", "a2"])]))
    [ring] = tracked.rings
    assert ring.verdict["verdict"] == "dismissed"
    assert ring.verdict["changed_since"].startswith("1 accounts joined and 0 left since it was dismissed on 2026-01-05")


def test_the_latest_verdict_is_the_one_in_force(tmp_path):
    evidence = read_evidence(write_evidence(tmp_path / "evidence"))
    confirmed = Verdict("R1", "confirmed", "2026-01-06T00:00:00Z", "bob", "", "run-0", None, 2, 0.9, ("a1", "a2"))
    tracked = follow_rings(make_findings(), evidence, previous_with(tmp_path, [dismissal(["a1", "a2"]), confirmed]))
    assert [r.verdict["verdict"] for r in tracked.rings] == ["confirmed"]
    assert len(tracked.verdicts) == 2  # both are kept, as given


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.builds(
            Verdict,
            ring_id=st.text("abcdef-0123", min_size=1, max_size=12),
            verdict=st.sampled_from(["confirmed", "dismissed", "banned"]),
            at=st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
            by=texts,
            note=texts,
            run_id=texts,
            as_of=st.none() | st.just("2026-01-01T00:00:00Z"),
            size=st.integers(0, 10),
            score=st.none() | st.floats(0, 1),
            members=st.lists(st.text("abc123", min_size=1, max_size=5), max_size=5).map(tuple),
        ),
        max_size=5,
    )
)
def test_verdicts_read_back_as_written(tmp_path_factory, verdicts):
    path = tmp_path_factory.mktemp("v") / "verdicts.jsonl"
    write_verdicts(verdicts, path)
    assert read_verdicts(path) == verdicts


def test_a_broken_verdicts_file_is_named_with_its_row(tmp_path):
    path = tmp_path / "verdicts.jsonl"
    good = dismissal(["a1"]).to_dict()
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "verdict": "maybe"}) + "\n")
    with pytest.raises(InputError, match=r"verdicts.jsonl, row 2, column verdict: verdict must be one of confirmed, dismissed, banned"):
        read_verdicts(path)


def test_verdict_command_records_the_ring_as_it_is_and_refuses_an_unknown_ring(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rings.jsonl").write_text(json.dumps({"ring_id": "R1", "score": 0.8, "run_id": "run-9"}) + "\n")
    (out / "members.csv").write_text("account_id,ring_id,score\na2,R1,0.8\na1,R1,0.8\n")
    done = cli("verdict", str(out), "R1", "banned", "--note", "cards bought in bulk", "--by", "carol", "--at", "2026-02-01T10:00:00Z")
    assert done.returncode == 0, done.stderr
    assert "R1: banned by carol at 2026-02-01T10:00:00Z (2 accounts)" in done.stdout
    [record] = read_verdicts(out / "verdicts.jsonl")
    assert (record.members, record.note, record.score, record.run_id) == (("a1", "a2"), "cards bought in bulk", 0.8, "run-9")
    unknown = cli("verdict", str(out), "R404", "dismissed")
    assert unknown.returncode == 1 and unknown.stderr.strip().endswith("no ring R404 in this run (see rings.jsonl)")
    wrong = cli("verdict", str(out), "R1", "maybe")
    assert wrong.returncode == 2
    assert len(read_verdicts(out / "verdicts.jsonl")) == 1


def test_a_time_that_is_not_one_is_refused_before_any_work(tmp_path):
    from helpers import write_evidence

    done = cli("detect", str(write_evidence(tmp_path / "evidence")), "--out", str(tmp_path / "out"), "--as-of", "yesterday")
    assert done.returncode == 1
    assert done.stderr.strip() == "graphsleuth: error: --as-of must be an ISO-8601 time such as 2026-03-01T00:00:00Z, got 'yesterday'"
    assert not (tmp_path / "out").exists()
    missing = cli("detect", str(tmp_path / "evidence"), "--out", str(tmp_path / "out"), "--previous", str(tmp_path / "nothere"))
    assert missing.returncode == 3 and "--previous takes the output directory of an earlier detect run" in missing.stderr
