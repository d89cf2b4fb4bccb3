"""What a load did: counters summed over every batch, rows per step, and how long each part took."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LoadSummary"]


@dataclass
class LoadSummary:
    """What a load did: counters summed over every batch, and how long it took."""

    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    labels_added: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    method: str = "bolt"
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    multiline: bool = False

    def add(self, counters) -> None:
        self.nodes_created += counters.nodes_created
        self.relationships_created += counters.relationships_created
        self.properties_set += counters.properties_set
        self.labels_added += counters.labels_added

    def describe(self) -> str:
        """One line for the terminal."""
        rows = sum(self.rows.values())
        return (
            f"loaded {rows} evidence rows via {self.method} in {self.seconds:.1f}s: "
            f"{self.nodes_created} nodes and {self.relationships_created} relationships created"
        )
