"""Evaluation scores campaigns where truth says each ring's campaign, and leaves its output as it was otherwise."""

from __future__ import annotations

import pandas as pd

from graphsleuth.quality import evaluate_members
from graphsleuth.quality.evaluation import format_evaluation


def _truth(with_campaigns: bool) -> pd.DataFrame:
    rows = [(f"a{i}", "alpha", "kit") for i in range(40)] + [(f"b{i}", "beta", "kit") for i in range(40)]
    rows += [(f"c{i}", "gamma", "gamma") for i in range(20)] + [(f"l{i}", "", "") for i in range(900)]
    truth = pd.DataFrame(rows, columns=["account_id", "ring_id", "campaign_id"])
    truth["kind"] = ["ring" if r else "individual" for r in truth.ring_id]
    return truth if with_campaigns else truth.drop(columns="campaign_id")


def _members(groups: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([(a, ring) for ring, accounts in groups.items() for a in accounts], columns=["account_id", "ring_id"])


# One suspected ring holds two operators of one campaign; gamma is found on its own.
MERGED = _members({"s1": [f"a{i}" for i in range(40)] + [f"b{i}" for i in range(36)], "s2": [f"c{i}" for i in range(20)]})


def test_campaigns_are_scored_when_truth_has_campaign_id():
    result = evaluate_members(MERGED, _truth(True))
    c = result.campaigns
    assert c["campaigns_planted"] == 2 and c["campaigns_found"] == 2 and c["campaign_recall"] == 1.0
    assert c["campaigns"]["kit"]["rings"] == ["alpha", "beta"] and c["campaigns"]["kit"]["found"]
    assert c["merged"]["alpha"]["merged_with"] == ["beta"] and c["merged"]["beta"]["merged_with"] == ["alpha"]
    assert not c["merged"]["alpha"]["with_other_campaigns"]
    assert c["merged"]["gamma"]["merged_with"] == [] and c["rings_merged"] == 2
    assert "campaigns" in result.to_dict()
    assert "merged with beta" in format_evaluation(result)


def test_a_merge_across_campaigns_is_called_so():
    members = _members({"s1": [f"a{i}" for i in range(40)] + [f"c{i}" for i in range(10)]})
    c = evaluate_members(members, _truth(True)).campaigns
    assert c["merged"]["alpha"]["merged_with"] == ["gamma"] and c["merged"]["alpha"]["with_other_campaigns"]
    assert not c["campaigns"]["kit"]["found"]  # half the campaign: Jaccard 0.4


def test_detections_own_campaign_column_is_used_when_written():
    members = _members({"s1": [f"a{i}" for i in range(36)], "s2": [f"b{i}" for i in range(36)]})
    c = evaluate_members(members, _truth(True)).campaigns
    assert not c["campaigns"]["kit"]["found"]  # two rings, no campaign: each holds less than half
    members["campaign_id"] = "k1"
    c = evaluate_members(members, _truth(True)).campaigns
    assert c["campaigns"]["kit"]["found"] and c["rings_merged"] == 0


def test_without_campaign_truth_the_output_is_as_before():
    result = evaluate_members(MERGED, _truth(False))
    assert result.campaigns is None and "campaigns" not in result.to_dict()
    assert "campaign" not in format_evaluation(result)
    same = evaluate_members(MERGED, _truth(True))
    plain = {k: v for k, v in same.to_dict().items() if k != "campaigns"}
    assert plain == result.to_dict()
