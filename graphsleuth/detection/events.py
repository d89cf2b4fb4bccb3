"""Events: a hackathon's or a workshop's participants, whom one event explains.

An event's participants sign up within hours of its start, sit at its venue's
addresses, and send its starter kit in the same hours, all within its two days,
at an ordinary account's rate. The event explains their creation burst, their
shared network and their hours, as an organisation explains its seats' (see
:mod:`.organisations`); the templates they share remain one signal. It
explains nothing a campaign adds beyond that: accounts made before it, a
payment pattern, activity that goes on after it, or distillation volume.
"""

from __future__ import annotations

import pandas as pd

from .organisations import STAFF_VOLUME

__all__ = ["event_excuse", "EVENT_HELD", "MADE_FOR_EVENT", "ACTIVE_AFTER_EVENT"]

#: A cluster is an event's when at least this share of its template use fell within its busiest two days
#: (counted with the prior of :data:`~.features.EVENT_PRIOR_HOURS` hours outside them): a ring whose accounts
#: take turns a few days each spreads its own over three or four (0.77 on two such rings of 21 and 24)...
EVENT_HELD = 0.9
#: ...at least this share of its members were created from the day before those days to the day after...
MADE_FOR_EVENT = 0.5
#: ...at most this share of all its activity came outside them, and its members send below
#: :data:`~.organisations.STAFF_VOLUME` (about four times an ordinary account's requests).
ACTIVE_AFTER_EVENT = 0.5


def event_excuse(table: pd.DataFrame) -> pd.Series:
    """Per cluster: whether one event explains its creation burst, its network and its hours (see the module).

    Unknown creation times (``created_at_event`` NaN) excuse nothing: a ring's piece that came together in one
    wave also has all its hours in two days."""
    needed = ("event_share", "after_event_share", "created_at_event", "volume")
    if not all(column in table.columns for column in needed):
        return pd.Series(False, index=table.index)
    return (
        (table["event_share"] >= EVENT_HELD)
        & (table["created_at_event"].astype(float).fillna(0.0) >= MADE_FOR_EVENT)
        & (table["after_event_share"] <= ACTIVE_AFTER_EVENT)
        & (table["volume"] < STAFF_VOLUME)
    )
