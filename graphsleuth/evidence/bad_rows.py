"""The bad rows of evidence tables: kept with their reasons (lenient), or the first one raised (strict)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import REJECT_COLUMNS

__all__ = ["BadRows"]


class BadRows:
    """Collects bad rows.

    Lenient mode keeps every one (one entry per row: its first problem). Strict
    mode keeps the earliest bad row of each report, and :meth:`check` raises
    the earliest of them all, so the error names the first bad row of a table
    whatever column it is in.
    """

    def __init__(self, lenient: bool):
        self.lenient = lenient
        self.rows: list[dict] = []
        self._first: tuple[int, InputError] | None = None

    def report(self, file: str, rows: np.ndarray, column: str | None, reason: str, values, details=None) -> None:
        """Record bad rows (1-based numbers); ``details`` optionally gives a longer strict-mode reason per row."""
        if len(rows) == 0:
            return
        if not self.lenient:
            first = int(np.argmin(rows))
            value = _shorten(values[first]) if values is not None else None
            why = details[first] if details is not None else reason
            detail = f"{why} (got {value!r})" if value is not None else why
            if self._first is None or int(rows[first]) < self._first[0]:
                self._first = (int(rows[first]), InputError(file, detail, row=int(rows[first]), column=column))
            return
        vals = [None] * len(rows) if values is None else [_shorten(v) for v in values]
        reasons = [reason] * len(rows) if details is None else list(details)
        self.rows.extend(
            {"file": file, "row": int(r), "column": column, "reason": why, "value": v} for r, v, why in zip(rows, vals, reasons)
        )

    def merge(self, other: BadRows) -> None:
        """Take over the bad rows another collector found (one table's, read apart)."""
        self.rows.extend(other.rows)
        if other._first is not None and (self._first is None or other._first[0] < self._first[0]):
            self._first = other._first

    def check(self) -> None:
        """Strict mode: raise the error of the earliest bad row reported since the last check."""
        if self._first is not None:
            error, self._first = self._first[1], None
            raise error

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=REJECT_COLUMNS)
        return frame.sort_values(["file", "row"], kind="stable").reset_index(drop=True)


def _shorten(value, limit: int = 60):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
