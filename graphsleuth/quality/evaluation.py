"""Measure suspected rings against ground truth.

Account level: precision and recall of "this account is in some ring".
Ring level: a planted ring counts as found when one suspected ring has
Jaccard similarity of at least 0.5 with it; for each planted ring the best
Jaccard and the number of suspected rings its accounts were split into are
reported. False positives are also given per 100,000 legitimate accounts,
the figure a provider budgets review time with.

Where truth has a ``campaign_id`` column (rings tied only by a shared template
bank are one campaign), campaigns are scored too: a planted campaign counts as
found when one suspected campaign (the members' ``campaign_id`` where detection
writes one, else each suspected ring) has Jaccard at least 0.5 with it; and for
each planted ring, the suspected ring holding most of it says whether it was
merged with other operators' rings (it holds at least a tenth, and at least
three accounts, of another planted ring).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["Evaluation", "PlantedRing", "evaluate", "evaluate_members", "read_members", "read_truth", "FOUND_JACCARD", "MERGED_SHARE"]

#: A planted ring counts as found when one suspected ring has at least this Jaccard similarity with it.
FOUND_JACCARD = 0.5
#: A planted ring was merged with another when the suspected ring holding most of it holds this share of the other too.
MERGED_SHARE = 0.1


@dataclass(frozen=True)
class PlantedRing:
    """How detection did on one planted ring: its best Jaccard with a suspected ring, and in how many it landed."""

    size: int
    best_jaccard: float
    fragments: int
    found: bool

    def to_dict(self) -> dict:
        return {"size": self.size, "best_jaccard": self.best_jaccard, "fragments": self.fragments, "found": self.found}


@dataclass(frozen=True)
class Evaluation:
    """Suspected rings measured against ground truth: account and ring level, and false positives by kind."""

    accounts: int
    ring_accounts: int
    legitimate_accounts: int
    flagged_accounts: int
    suspected_rings: int
    precision: float
    recall: float
    ring_recall: float
    rings_found: int
    rings_planted: int
    false_positives: int
    false_positives_per_100k: float
    false_positive_kinds: dict[str, int]
    rings: dict[str, PlantedRing]
    templates: dict | None = None
    #: Successors of banned rings caught (when truth marks successors), and time to detection over runs.
    successors: dict | None = None
    over_time: dict | None = None
    #: Campaign figures, where truth says each ring's campaign (see the module's docstring).
    campaigns: dict | None = None

    def to_dict(self) -> dict:
        """The figures as plain JSON values (what ``graphsleuth evaluate --format json`` prints)."""
        record = {name: getattr(self, name) for name in _FIGURES}
        record["false_positive_kinds"] = dict(self.false_positive_kinds)
        record["rings"] = {ring_id: ring.to_dict() for ring_id, ring in self.rings.items()}
        if self.templates is not None:
            record["templates"] = dict(self.templates)
        if self.successors is not None:
            record["successors"] = dict(self.successors)
        if self.over_time is not None:
            record["over_time"] = dict(self.over_time)
        if self.campaigns is not None:
            record["campaigns"] = self.campaigns
        return record

    def to_text(self) -> str:
        """A short human-readable report (what ``graphsleuth evaluate`` prints)."""
        return format_evaluation(self)


_FIGURES = (
    "accounts",
    "ring_accounts",
    "legitimate_accounts",
    "flagged_accounts",
    "suspected_rings",
    "precision",
    "recall",
    "ring_recall",
    "rings_found",
    "rings_planted",
    "false_positives",
    "false_positives_per_100k",
)


def read_truth(path: str | Path) -> pd.DataFrame:
    """Read truth.csv (account_id, ring_id empty for legitimate accounts, kind)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "missing file: expected a truth.csv with account_id and ring_id")
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("account_id", "ring_id"):
        if column not in truth.columns:
            raise InputError(path.name, f"missing column {column}", column=column)
    return truth


def read_members(out_dir: str | Path) -> pd.DataFrame:
    """Read members.csv (or .parquet / .jsonl) written by detect."""
    out_dir = Path(out_dir)
    for name, reader in (
        ("members.csv", lambda p: pd.read_csv(p, dtype={"account_id": str, "ring_id": str})),
        ("members.parquet", pd.read_parquet),
        ("members.jsonl", lambda p: pd.read_json(p, lines=True, dtype={"account_id": str, "ring_id": str})),
    ):
        path = out_dir / name
        if path.is_file():
            frame = reader(path)
            if len(frame) == 0:
                return pd.DataFrame({"account_id": pd.Series([], dtype=str), "ring_id": pd.Series([], dtype=str)})
            return frame
    raise InputError(str(out_dir / "members.csv"), "missing file: run graphsleuth detect first")


def evaluate_members(members: pd.DataFrame, truth: pd.DataFrame) -> Evaluation:
    """Compare suspected ring members (account_id, ring_id) with truth."""
    truth = truth.copy()
    truth["ring_id"] = truth["ring_id"].fillna("").astype(str)
    is_ring = truth["ring_id"] != ""
    ring_accounts = set(truth.loc[is_ring, "account_id"])
    legit_count = int((~is_ring).sum())
    flagged = set(members["account_id"].astype(str))
    tp = len(flagged & ring_accounts)
    fp = len(flagged - ring_accounts)
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(ring_accounts) if ring_accounts else 1.0
    suspected = members.groupby("ring_id")["account_id"].apply(lambda s: set(s.astype(str)))
    per_ring = {}
    for ring_id, accounts in truth[is_ring].groupby("ring_id")["account_id"]:
        planted = set(accounts)
        best = 0.0
        fragments = 0
        for found in suspected:
            overlap = len(found & planted)
            if overlap:
                fragments += 1
                best = max(best, overlap / len(found | planted))
        per_ring[ring_id] = PlantedRing(len(planted), round(best, 4), fragments, best >= FOUND_JACCARD)
    n_found = sum(r.found for r in per_ring.values())
    campaigns = None
    if "campaign_id" in truth.columns:
        campaigns = _campaign_figures(members, truth[is_ring], suspected)
    kinds = {}
    if "kind" in truth.columns and fp:
        fp_kinds = truth[truth["account_id"].isin(flagged - ring_accounts)]["kind"].value_counts()
        kinds = {str(k): int(v) for k, v in fp_kinds.items()}
    return Evaluation(
        accounts=int(len(truth)),
        ring_accounts=len(ring_accounts),
        legitimate_accounts=legit_count,
        flagged_accounts=len(flagged),
        suspected_rings=int(members["ring_id"].nunique()) if len(members) else 0,
        precision=round(precision, 4),
        recall=round(recall, 4),
        ring_recall=round(n_found / len(per_ring), 4) if per_ring else 1.0,
        rings_found=n_found,
        rings_planted=len(per_ring),
        false_positives=fp,
        false_positives_per_100k=round(fp / legit_count * 100_000, 2) if legit_count else 0.0,
        false_positive_kinds=kinds,
        rings=per_ring,
        campaigns=campaigns,
    )


def _campaign_figures(members: pd.DataFrame, planted: pd.DataFrame, suspected: pd.Series) -> dict:
    """Campaign recall, and for each planted ring the other operators' rings it was merged with."""
    planted = planted.assign(campaign_id=planted["campaign_id"].fillna("").astype(str))
    planted.loc[planted["campaign_id"] == "", "campaign_id"] = planted["ring_id"]
    if "campaign_id" in members.columns and len(members):
        key = members["campaign_id"].fillna("").astype(str).where(lambda c: c != "", members["ring_id"].astype(str))
        found_campaigns = members.assign(key=key).groupby("key")["account_id"].apply(lambda s: set(s.astype(str)))
    else:
        found_campaigns = suspected
    per_campaign = {}
    for campaign_id, frame in planted.groupby("campaign_id"):
        accounts = set(frame["account_id"])
        best = max((len(found & accounts) / len(found | accounts) for found in found_campaigns if found & accounts), default=0.0)
        per_campaign[str(campaign_id)] = {
            "rings": sorted(frame["ring_id"].unique().tolist()),
            "size": len(accounts),
            "best_jaccard": round(best, 4),
            "found": best >= FOUND_JACCARD,
        }
    ring_accounts = {ring_id: set(frame["account_id"]) for ring_id, frame in planted.groupby("ring_id")}
    campaign_of = planted.drop_duplicates("ring_id").set_index("ring_id")["campaign_id"]
    merged = {}
    for ring_id, accounts in ring_accounts.items():
        home = max(suspected, key=lambda found: len(found & accounts), default=set())
        others = sorted(
            other
            for other, theirs in ring_accounts.items()
            if other != ring_id and len(home & theirs) >= max(3, MERGED_SHARE * len(theirs)) and len(home & accounts) > 0
        )
        merged[str(ring_id)] = {
            "merged_with": others,
            "with_other_campaigns": any(campaign_of[o] != campaign_of[ring_id] for o in others),
        }
    n_found = sum(c["found"] for c in per_campaign.values())
    return {
        "campaign_recall": round(n_found / len(per_campaign), 4) if per_campaign else 1.0,
        "campaigns_found": n_found,
        "campaigns_planted": len(per_campaign),
        "rings_merged": sum(bool(m["merged_with"]) for m in merged.values()),
        "campaigns": per_campaign,
        "merged": merged,
    }


def evaluate(out_dir: str | Path, truth_csv: str | Path, runs: list[str | Path] | None = None) -> Evaluation:
    """Evaluate the suspected rings that ``detect`` wrote to ``out_dir`` against ``truth_csv``.

    When the detect output holds ``templates.csv`` (derived templates of raw
    prompts) and the truth directory holds ``truth_prompts.csv``, the
    agreement of derived with true templates is reported too. When truth marks
    successors of banned rings (``successor_of``), the share of them that
    ``successors.csv`` names as successors of the right ring is reported. Over
    ``runs`` (detect outputs, oldest first; by default ``out_dir`` and the runs
    before it, as each run.json names its previous) the time to detection is
    reported: days from each ring account's creation to the first run that flags it.
    """
    from .over_time import run_chain, successors_caught, time_to_detection

    truth = read_truth(truth_csv)
    result = evaluate_members(read_members(out_dir), truth)
    derived = Path(out_dir) / "templates.csv"
    true_templates = Path(truth_csv).parent / "truth_prompts.csv"
    if derived.is_file() and true_templates.is_file():
        from ..detection.templates import template_agreement

        d = pd.read_csv(derived, dtype=str, keep_default_na=False)
        t = pd.read_csv(true_templates, dtype=str, keep_default_na=False)
        joined = d.merge(t, on="row", suffixes=("_derived", "_true"))
        result = replace(
            result, templates=template_agreement(joined["template_id_derived"].to_numpy(), joined["template_id_true"].to_numpy())
        )
    result = replace(result, successors=successors_caught(out_dir, truth))
    chain = [Path(r) for r in runs] if runs else run_chain(out_dir)
    if runs or len(chain) > 1:
        result = replace(result, over_time=time_to_detection(chain, truth, Path(truth_csv)))
    return result


def format_evaluation(evaluation: Evaluation) -> str:
    """A short human-readable report of :func:`evaluate`'s figures."""
    result = evaluation.to_dict()
    lines = [
        f"accounts {result['accounts']:,} ({result['ring_accounts']:,} in {result['rings_planted']} planted rings); "
        f"flagged {result['flagged_accounts']:,} in {result['suspected_rings']} suspected rings",
        f"account precision {result['precision']:.3f}   recall {result['recall']:.3f}   "
        f"ring recall {result['ring_recall']:.3f} ({result['rings_found']}/{result['rings_planted']})   "
        f"false positives {result['false_positives']:,} ({result['false_positives_per_100k']:.1f} per 100k legitimate)",
    ]
    if result.get("false_positive_kinds"):
        lines.append("false positives by kind: " + ", ".join(f"{k} {v}" for k, v in result["false_positive_kinds"].items()))
    lines.append(f"{'planted ring':<24} {'size':>7} {'best Jaccard':>13} {'fragments':>10}  found")
    for ring_id, r in sorted(result["rings"].items(), key=lambda kv: -kv[1]["size"]):
        lines.append(f"{ring_id:<24} {r['size']:>7,} {r['best_jaccard']:>13.3f} {r['fragments']:>10}  {'yes' if r['found'] else 'NO'}")
    if "successors" in result:
        s = result["successors"]
        lines.append(
            f"successors of banned rings: {s['caught']:,} of {s['planted']:,} caught ({s['share']:.1%}); "
            f"{s['reported']:,} reported, {s['reported_wrongly']:,} of them not successors of that ring"
        )
    if "over_time" in result:
        t = result["over_time"]
        for name, what in (("ring_accounts_created_since", "ring accounts"), ("successors", "successors")):
            f = t.get(name)
            if f and f["accounts"]:
                median = "-" if f["median_days"] is None else f"{f['median_days']:.1f}"
                lines.append(
                    f"over {t['runs']} runs: {f['flagged']:,} of {f['accounts']:,} {what} created since the first run flagged; "
                    f"median {median} days from creation to the first run that flags them"
                )
    if "campaigns" in result:
        c = result["campaigns"]
        lines.append(
            f"campaign recall {c['campaign_recall']:.3f} ({c['campaigns_found']}/{c['campaigns_planted']}); "
            f"{c['rings_merged']} planted rings merged with other operators' rings"
        )
        for ring_id, m in sorted(c["merged"].items()):
            if m["merged_with"]:
                lines.append(f"  {ring_id} merged with {', '.join(m['merged_with'])}")
    if "templates" in result:
        t = result["templates"]
        lines.append("derived templates: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in t.items()))
    return "\n".join(lines)
