"""The ring score: a small logistic model over a cluster's features, fitted on a family of populations.

Its weights are fitted (:mod:`graphsleuth.quality.fitting`) on populations
sampled from wide ranges of ring and legitimate-group behaviour, never on one
population, and kept with the package as ``ring_model.json``. Each weight has a
fixed sign where the direction is known (a creation burst can only make a
cluster more suspicious, an organisation's domain only less), so the score is
monotone in every such feature and each term can be said in plain words: the
explanation names the features that added most to the score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from ..resources import package_file
from .organisations import heavy_off_hours, scripted_seats

__all__ = ["RingModel", "ring_model", "model_inputs", "MODEL_FEATURES"]

#: The inputs of the model, each a share in [0, 1], and the sign its weight must have (0: either).
MODEL_FEATURES = {
    "template_share": 1,
    "template_exclusivity": 1,
    "template_coordination": 1,
    "lockstep_share": 1,
    "burst_share": 1,
    "card_sharing": 1,
    "bin_concentration": 1,
    "network_share": 1,
    "volume": 1,
    "organisation_share": -1,
    "invoiced_share": -1,
    "organisation_long_lived": -1,
    "organisation_office_hours": -1,
    "organisation_off_hours": 1,
    "office_hours_share": 0,
    "creation_spread": 0,
    "one_event": -1,
    "event_then_ordinary": -1,
    "activity_in_two_days": -1,
    "network_without_organisation": 1,
    "network_at_scale": 1,
    "templates_made_together": 1,
}
#: A group held together by shared addresses counts in full from this many accounts (on a log scale from
#: ten): households and offices are small or on an organisation's domain, an event's venue is shared for
#: its two days, and a proxy pool's users are none of these.
NETWORK_SCALE = 1000


def model_inputs(table: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs from a table of cluster features (what :func:`score_clusters` measures)."""
    inputs = pd.DataFrame(index=table.index)
    for name in MODEL_FEATURES:
        if name in table.columns:
            inputs[name] = table[name].astype(float)
    organisation = table["organisation_share"].astype(float)
    inputs["organisation_long_lived"] = organisation * table["creation_spread"].astype(float)
    inputs["organisation_office_hours"] = organisation * table["office_hours_share"].astype(float)
    inputs["organisation_off_hours"] = organisation * (1.0 - table["office_hours_share"].astype(float))
    # An event explains a group as far as its members were made for it: a ring's accounts that sent their
    # two waves within two days were created weeks before, in bursts of their own.
    made_for_it = table["created_at_event"].astype(float).fillna(1.0) if "created_at_event" in table.columns else 1.0
    inputs["one_event"] = (2.0 * table["event_share"].astype(float) - 1.0).clip(0.0, 1.0) * made_for_it
    inputs["event_then_ordinary"] = inputs["one_event"] * table["after_event_share"].astype(float)
    inputs["activity_in_two_days"] = 1.0 - table["after_event_share"].astype(float)
    # An organisation's office network explains its seats' shared addresses, unless they send heavily off hours
    # or every seat it pays for runs the same templates (one script's accounts have no office).
    office_network = organisation.where(~(heavy_off_hours(table) | scripted_seats(table)), 0.0)
    inputs["network_without_organisation"] = table["network_share"].astype(float) * (1.0 - office_network)
    size = table["size"].astype(float) if "size" in table.columns else pd.Series(10.0, index=table.index)
    scale = (np.log10(size.clip(lower=10.0) / 10.0) / np.log10(NETWORK_SCALE / 10.0)).clip(0.0, 1.0)
    # An event's venue is shared by hundreds for two days; a proxy pool by its ring for as long as it runs.
    # Integrators made over years share their cloud's addresses too.
    made_together = 1.0 - table["creation_spread"].astype(float)
    inputs["network_at_scale"] = inputs["network_without_organisation"] * scale * (1.0 - inputs["one_event"]) * made_together
    # Templates in common among accounts made within weeks of each other: integrators made over years send
    # the same apps' templates too.
    inputs["templates_made_together"] = table["template_share"].astype(float) * made_together
    return inputs[list(MODEL_FEATURES)].fillna(0.0).clip(0.0, 1.0)


@dataclass(frozen=True)
class RingModel:
    """A logistic model: ``p = 1 / (1 + exp(-(bias + sum(weight * input))))``; a cluster is a ring at ``threshold``."""

    weights: dict[str, float]
    bias: float
    threshold: float = 0.5
    #: How the model was fitted: populations, seeds, counts (kept for the record, not used to score).
    fitted_on: dict = field(default_factory=dict)

    def probability(self, table: pd.DataFrame) -> np.ndarray:
        """The probability that each cluster of ``table`` is a ring."""
        inputs = model_inputs(table)
        z = self.bias + inputs.to_numpy() @ np.array([self.weights.get(name, 0.0) for name in inputs.columns])
        return 1.0 / (1.0 + np.exp(-z))

    def contributions(self, table: pd.DataFrame) -> pd.DataFrame:
        """Each input's term in each cluster's score (weight times input), the largest first when explained."""
        inputs = model_inputs(table)
        return inputs * pd.Series({name: self.weights.get(name, 0.0) for name in inputs.columns})

    def to_dict(self) -> dict:
        return {"weights": dict(self.weights), "bias": self.bias, "threshold": self.threshold, "fitted_on": dict(self.fitted_on)}

    @classmethod
    def from_dict(cls, record: dict) -> RingModel:
        return cls(
            {str(k): float(v) for k, v in record["weights"].items()},
            float(record["bias"]),
            float(record.get("threshold", 0.5)),
            dict(record.get("fitted_on", {})),
        )


@cache
def ring_model() -> RingModel:
    """The model that ships with graphsleuth (``graphsleuth/detection/ring_model.json``)."""
    path = package_file("graphsleuth.detection", "ring_model.json")
    if path is None:  # a broken install, not bad input
        raise FileNotFoundError("graphsleuth/detection/ring_model.json is missing from the package")
    return RingModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
