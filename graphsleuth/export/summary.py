"""The terminal summary of a detection run: counts, then the top rings with their strongest reasons."""

from __future__ import annotations

from ..detection.findings import Findings

__all__ = ["rings_table"]


def rings_table(findings: Findings, limit: int = 15) -> str:
    """The terminal summary: counts, then the top rings with their strongest reason."""
    lines = [
        f"{len(findings.rings)} suspected rings, {len(findings.members):,} accounts "
        f"({findings.stats.clusters_scored} clusters scored, {findings.stats.accounts:,} accounts read)"
    ]
    if findings.rings:
        lines.append(f"{'ring':<16} {'size':>7} {'score':>6}  why")
        for ring in findings.rings[:limit]:
            why = "; ".join(ring.reasons[:2])
            why = why if len(why) <= 150 else why[:149] + "…"
            lines.append(f"{ring.ring_id:<16} {ring.size:>7,} {ring.score:>6.2f}  {why}")
        if len(findings.rings) > limit:
            lines.append(f"… {len(findings.rings) - limit} more in rings.jsonl")
    return "\n".join(lines)
