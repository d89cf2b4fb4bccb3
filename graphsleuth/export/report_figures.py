"""The figures of a ring's case file, as inline SVG: the ring's graph (networkx) and its timeline (matplotlib).

The graph shows the ring's accounts and the evidence that at least two of
them share (cards, BINs, IPs, subnets, templates, devices, phones, ...), the
most shared values of each kind; the timeline shows the accounts created and
the requests sent per day. Both are drawn with well-kept libraries (networkx's
drawing on matplotlib, matplotlib's date axes) and written as SVG text, with
text kept as text so the page can be searched and read by a screen reader.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from ..evidence import Evidence, subnet_of

__all__ = ["ring_evidence_pairs", "ring_graph_svg", "ring_timeline_svg", "KIND_COLOURS"]

#: Colour of each kind of node (Okabe-Ito: told apart by colour-blind readers too).
KIND_COLOURS = {
    "account": "#999999",
    "card": "#E69F00",
    "BIN": "#F0E442",
    "IP": "#56B4E9",
    "subnet": "#0072B2",
    "template": "#009E73",
    "device": "#CC79A7",
    "phone": "#D55E00",
}
_OTHER_LINK = "#000000"
#: Most-shared values of each kind that the graph shows.
VALUES_PER_KIND = 12


def ring_evidence_pairs(evidence: Evidence, members: pd.Index) -> pd.DataFrame:
    """(account_id, kind, value) for every piece of evidence of the ring's accounts that two or more of them share."""
    parts = []
    pay = evidence.payments[evidence.payments["account_id"].astype(str).isin(members)]
    if len(pay):
        parts.append(pd.DataFrame({"account_id": pay["account_id"], "kind": "card", "value": pay["payment_id"]}))
        if "bin" in pay.columns:
            rows = pay.dropna(subset=["bin"])
            parts.append(pd.DataFrame({"account_id": rows["account_id"], "kind": "BIN", "value": rows["bin"]}))
    ips = evidence.ips[evidence.ips["account_id"].astype(str).isin(members)]
    if len(ips):
        parts.append(pd.DataFrame({"account_id": ips["account_id"], "kind": "IP", "value": ips["ip"]}))
        parts.append(pd.DataFrame({"account_id": ips["account_id"].to_numpy(), "kind": "subnet", "value": subnet_of(ips["ip"]).to_numpy()}))
    prompts = evidence.prompts
    if "template_id" in prompts.columns:
        rows = prompts[prompts["account_id"].astype(str).isin(members)].dropna(subset=["template_id"])
        parts.append(pd.DataFrame({"account_id": rows["account_id"], "kind": "template", "value": rows["template_id"]}))
    links = evidence.links[evidence.links["account_id"].astype(str).isin(members)]
    if len(links):
        parts.append(pd.DataFrame({"account_id": links["account_id"], "kind": links["kind"].astype(str), "value": links["value"]}))
    if not parts:
        return pd.DataFrame({"account_id": [], "kind": [], "value": []})
    pairs = pd.concat(parts, ignore_index=True).astype(str).drop_duplicates()
    sharers = pairs.groupby(["kind", "value"])["account_id"].transform("size")
    return pairs[sharers >= 2].reset_index(drop=True)


def _svg(figure) -> str:
    """A matplotlib figure as SVG text for inlining: no XML prolog, text as text, no fixed size in points."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "graphsleuth"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 width="100%"', text, count=1)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def ring_graph_svg(pairs: pd.DataFrame, members: pd.Index, title: str) -> str:
    """The ring's accounts and the evidence they share as a graph, drawn by networkx, as SVG text."""
    import networkx as nx

    counts = pairs.groupby(["kind", "value"]).size().rename("accounts").reset_index()
    counts = counts.sort_values(["kind", "accounts", "value"], ascending=[True, False, True])
    shown = counts.groupby("kind", sort=False).head(VALUES_PER_KIND)
    edges = pairs.merge(shown[["kind", "value"]], on=["kind", "value"])
    graph = nx.Graph()
    for account in sorted(members):
        graph.add_node(("account", account), kind="account")
    for kind, value in zip(shown["kind"], shown["value"]):
        graph.add_node((kind, value), kind=kind)
    graph.add_edges_from(zip(zip(["account"] * len(edges), edges["account_id"]), zip(edges["kind"], edges["value"])))
    position = nx.spring_layout(graph, seed=0, k=1.6 / max(1.0, np.sqrt(graph.number_of_nodes())), iterations=80)
    figure = _figure(9, 7)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_title(title, fontsize=11)
    nx.draw_networkx_edges(graph, position, ax=axes, width=0.4, alpha=0.35, edge_color="#555555")
    accounts = [n for n in graph if n[0] == "account"]
    nx.draw_networkx_nodes(graph, position, nodelist=accounts, ax=axes, node_size=14, node_color=KIND_COLOURS["account"], label="account")
    evidence_nodes = [n for n in graph if n[0] != "account"]
    sharers = dict(zip(zip(shown["kind"], shown["value"]), shown["accounts"]))
    for kind in sorted({n[0] for n in evidence_nodes}):
        nodes = [n for n in evidence_nodes if n[0] == kind]
        sizes = [60 + 6 * min(sharers[n], 60) for n in nodes]
        colour = KIND_COLOURS.get(kind, _OTHER_LINK)
        nx.draw_networkx_nodes(
            graph, position, nodelist=nodes, ax=axes, node_size=sizes, node_color=colour, edgecolors="#222222", label=kind
        )
    labels = {n: _short(n[1]) for n in evidence_nodes}
    if len(accounts) <= 40:
        labels.update({n: n[1] for n in accounts})
    nx.draw_networkx_labels(graph, position, labels=labels, ax=axes, font_size=6)
    axes.legend(loc="lower left", fontsize=7, markerscale=0.6, frameon=False, ncol=4)
    return _svg(figure)


def _short(value: str, limit: int = 18) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def ring_timeline_svg(created: pd.Series, activity: pd.DataFrame, marks: dict[str, str | None], title: str) -> str:
    """Accounts created per day and requests per day, one above the other, with the run times marked, as SVG text.

    ``created``: the members' creation times; ``activity``: their prompt rows
    (``ts`` and ``count``); ``marks``: a label for each time to draw as a line
    (first seen, last seen, banned, ...).
    """
    import matplotlib.dates as mdates

    figure = _figure(9, 4.6)
    top, bottom = figure.subplots(2, 1, sharex=True)
    figure.suptitle(title, fontsize=11)
    days = created.dropna().dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    per_day = days.value_counts().sort_index()
    if len(per_day):
        top.bar(per_day.index, per_day.to_numpy(), width=0.9, color=KIND_COLOURS["subnet"])
    top.set_ylabel("accounts created", fontsize=8)
    if len(activity) and "ts" in activity.columns:
        rows = activity.dropna(subset=["ts"])
        count = rows["count"] if "count" in rows.columns else pd.Series(1, index=rows.index)
        requests = count.groupby(rows["ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")).sum().sort_index()
        bottom.bar(requests.index, requests.to_numpy(), width=0.9, color=KIND_COLOURS["template"])
    bottom.set_ylabel("requests", fontsize=8)
    together: dict[pd.Timestamp, list[str]] = {}  # marks at one time share one line and one label
    for label, when in marks.items():
        if when:
            together.setdefault(pd.Timestamp(when).tz_convert("UTC").tz_localize(None), []).append(label)
    for moment, labels in together.items():
        label = " / ".join(labels)
        for axes in (top, bottom):
            axes.axvline(moment, color=KIND_COLOURS["phone"], linewidth=1, linestyle="--")
        top.annotate(label, (moment, 1.0), xycoords=("data", "axes fraction"), fontsize=7, rotation=90, va="top", ha="right")
    locator = mdates.AutoDateLocator()
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for axes in (top, bottom):
        axes.tick_params(labelsize=7)
        axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)
