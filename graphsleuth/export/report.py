"""A ring's case file: one self-contained HTML page an investigator can attach to a ticket.

Per ring: its id, score, size, verdict and lineage, the explanation in plain
words, its graph (accounts and the evidence they share), its timeline
(accounts created and requests per day), the evidence tables, its accounts,
its successors when it was banned, and the link that opens it in the Neo4j
Browser. Everything is inlined (styles and figures as SVG): the page opens
with no network. The run's ``run.json`` says where its evidence is.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..errors import GraphsleuthError, InputError
from ..evidence import Evidence

__all__ = ["write_report", "case_file_html"]

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 0; background: #f6f6f3; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
section.case { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 20px 28px; margin-bottom: 32px;
               page-break-after: always; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid #eee; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
.facts dt { color: #555; } .facts dd { margin: 0; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; }
.verdict-banned { background: #f8d7d3; } .verdict-confirmed { background: #fbe5c8; } .verdict-dismissed { background: #e3e3e3; }
.verdict-none { background: #e6eef8; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 8px 0; } figure svg { max-width: 100%; height: auto; }
code { font-size: 12px; } .muted { color: #666; }
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _read_jsonl(path: Path) -> list[dict]:
    from ..investigation.runs import read_jsonl

    return read_jsonl(path)


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _lineage_text(lineage: dict | None) -> str:
    if not lineage:
        return "not followed from another run"
    change = lineage["change"].replace("_", " ")
    rings = ", ".join(lineage.get("rings") or [])
    joined, left = lineage["added"], lineage["removed"]
    named = " " + rings if rings and lineage["change"] in ("split_from", "merged_from") else ""
    return f"{change}{named}: {joined} account{'' if joined == 1 else 's'} joined, {left} left"


def case_file_html(ring: dict, members: pd.Index, evidence: Evidence, successors: pd.DataFrame, key: bytes | None = None) -> str:
    """One ring's case file as an HTML section (its figures inline)."""
    from ..investigation.runs import iso_time
    from .pseudonyms import pseudonym
    from .report_figures import ring_evidence_pairs, ring_graph_svg, ring_timeline_svg

    ring_id = ring["ring_id"]
    verdict = ring.get("verdict")
    pairs = ring_evidence_pairs(evidence, members)
    if key is not None:  # the run was pseudonymised: so are the graph's personal values
        personal = ~pairs["kind"].isin(["BIN", "template"])
        kinds = pairs["kind"].map({"card": "card", "IP": "ip", "subnet": "subnet"}).fillna(pairs["kind"])
        pairs.loc[personal, "value"] = [pseudonym(key, v, k) for v, k in zip(pairs.loc[personal, "value"], kinds[personal])]
    accounts = evidence.accounts[evidence.accounts["account_id"].astype(str).isin(members)]
    created = accounts["created_at"] if "created_at" in accounts.columns else pd.Series(dtype="datetime64[ns, UTC]")
    prompts = evidence.prompts[evidence.prompts["account_id"].astype(str).isin(members)]
    marks = {"first seen": ring.get("first_seen"), "last seen": ring.get("last_seen")}
    if verdict and verdict.get("verdict") == "banned":
        marks["banned (data of)"] = verdict.get("as_of")
    graph = ring_graph_svg(pairs, members, f"{ring_id}: {len(members)} accounts and the evidence they share")
    timeline = ring_timeline_svg(created, prompts, marks, f"{ring_id}: accounts created and requests per day")
    v = verdict.get("verdict") if verdict else None
    badge = f'<span class="verdict verdict-{_e(v or "none")}">{_e(v or "no verdict")}</span>'
    facts = [
        ("score", f"{ring.get('score', 0):.2f}"),
        ("accounts", f"{ring.get('size', len(members)):,}"),
        ("verdict", badge),
        ("first seen", _e(ring.get("first_seen") or "-")),
        ("last seen", _e(ring.get("last_seen") or "-")),
        ("lineage", _e(_lineage_text(ring.get("lineage")))),
        ("created", _e(f"{ring.get('created_from') or '-'} to {ring.get('created_to') or '-'}")),
        ("active", _e(f"{ring.get('active_from') or '-'} to {ring.get('active_to') or '-'}")),
        ("requests", f"{ring.get('requests', 0):,}"),
        ("run", _e(f"{ring.get('run_id', '')} ({ring.get('algorithm', '')}, seed {ring.get('seed', '')})")),
    ]
    if verdict:
        said = f"by {verdict.get('by') or 'unknown'} at {verdict.get('at')}" + (f": {verdict['note']}" if verdict.get("note") else "")
        facts.append(("verdict given", _e(said)))
        if verdict.get("changed_since"):
            facts.append(("changed since", _e(verdict["changed_since"])))
    if ring.get("browser_link"):
        facts.append(("Neo4j Browser", f'<a href="{_e(ring["browser_link"])}">open this ring in the Neo4j Browser</a>'))
    facts_html = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    evidence_rows = []
    for kind, group in (ring.get("evidence") or {}).items():
        top = ", ".join(f"{item['value']} ({item['accounts']})" for item in group.get("top", []))
        evidence_rows.append([kind, group.get("distinct", 0), group.get("shared", 0), top])
    member_rows = accounts.sort_values("account_id")
    member_table = _table(
        ["account", "created", "country"],
        [
            [a, iso_time(c) or "-", k]
            for a, c, k in zip(
                member_rows["account_id"],
                member_rows["created_at"] if "created_at" in member_rows else [None] * len(member_rows),
                member_rows["country"] if "country" in member_rows else [""] * len(member_rows),
            )
        ],
    )
    parts = [
        f'<section class="case" id="case-{_e(ring_id)}">',
        f"<h1>Case file: ring {_e(ring_id)} {badge}</h1>",
        f'<p class="explanation">{_e(ring.get("explanation"))}</p>',
        f'<dl class="facts">{facts_html}</dl>',
        "<h2>The ring's graph</h2>",
        f'<figure class="ring-graph" id="graph-{_e(ring_id)}">{graph}<figcaption class="muted">Grey: accounts; '
        f"coloured: the {len(pairs.groupby(['kind', 'value'])) if len(pairs) else 0} values at least two of them share "
        "(the most shared of each kind are drawn).</figcaption></figure>",
        "<h2>Timeline</h2>",
        f'<figure class="ring-timeline" id="timeline-{_e(ring_id)}">{timeline}</figure>',
        "<h2>Evidence</h2>",
        _table(["kind", "distinct values", "shared by 2+", "most shared (accounts)"], evidence_rows, numeric={1, 2}),
    ]
    mine = successors[successors["successor_of"] == ring_id] if len(successors) else successors
    if len(mine):
        parts.append(f"<h2>Successors since the ban ({len(mine):,})</h2>")
        parts.append(
            _table(["account", "created", "reuses"], [[a, c, r] for a, c, r in zip(mine["account_id"], mine["created_at"], mine["reused"])])
        )
    parts.append(f"<h2>Accounts ({len(member_rows):,})</h2>")
    parts.append(member_table)
    parts.append("</section>")
    return "\n".join(parts)


def write_report(
    out: str | Path,
    report_file: str | Path,
    *,
    ring: str | None = None,
    top: int | None = None,
    evidence: Evidence | None = None,
    key: bytes | None = None,
) -> list[str]:
    """Write the case files of the rings of the run in ``out`` to ``report_file``; the ring ids written."""
    from ..investigation.runs import read_run_members, read_run_record, run_evidence

    out = Path(out)
    if not (out / "rings.jsonl").is_file():
        raise InputError(str(out / "rings.jsonl"), "missing file: give the output directory of graphsleuth detect")
    rings = _read_jsonl(out / "rings.jsonl")
    held = _read_jsonl(out / "dismissed.jsonl")
    if ring is not None:
        chosen = [r for r in rings + held if r.get("ring_id") == ring]
        if not chosen:
            raise GraphsleuthError(f"{out}: no ring {ring} in this run (see rings.jsonl)")
    else:
        chosen = rings[: top if top is not None else 10]
        if not chosen:
            raise GraphsleuthError(f"{out}: this run flagged no ring, so there is no case file to write")
    members = read_run_members(out)
    for record in held:
        members = pd.concat([members, pd.DataFrame({"account_id": record["account_ids"], "ring_id": record["ring_id"]})])
    run = read_run_record(out)
    evidence = run_evidence(out, run, evidence)
    if run.get("pseudonymised") and key is None:
        raise GraphsleuthError("this run was pseudonymised: the case file needs the same key (--pseudonymise)")
    successors = (
        pd.read_csv(out / "successors.csv", dtype=str, keep_default_na=False) if (out / "successors.csv").is_file() else pd.DataFrame()
    )
    sections = []
    for record in chosen:
        accounts = pd.Index(members.loc[members["ring_id"] == record["ring_id"], "account_id"].astype(str))
        sections.append(case_file_html(record, accounts, evidence, successors, key))
    title = f"graphsleuth case file: {chosen[0]['ring_id']}" if len(chosen) == 1 else f"graphsleuth case files: {len(chosen)} rings"
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f'<body><main>\n<p class="muted">Run {_e(run.get("run_id", ""))}, data as of {_e(run.get("as_of") or "-")}, '
        f"evidence {_e(run.get('evidence') or '-')}.</p>\n" + "\n".join(sections) + "\n</main></body></html>\n"
    )
    _write_file(Path(report_file), page)
    return [r["ring_id"] for r in chosen]


def _write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    import os

    from ..interrupts import interrupts_deferred

    if path.exists() and path.is_dir():
        raise GraphsleuthError(f"{path}: is a directory; --out takes a file name such as case.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    with interrupts_deferred():
        os.replace(partial, path)
