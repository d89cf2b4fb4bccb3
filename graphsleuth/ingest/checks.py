"""Bad requests: found by counting on the hot path, located (file, row, column) only when there are any.

The passes over the log never number rows: a request is ``ok`` or not, and
the distinct account ids and IPs are checked on the small per-account table.
Only when something is wrong are the original files read again with their
file names and row numbers (Parquet's ``file_row_number``; CSV and JSON rows
are numbered in file order by a streaming window) to name the first bad row,
or, in lenient mode, every one of them with its reason.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..evidence import MAX_ID_CHARS, REJECT_COLUMNS, canonical_ipv6
from .engine import Engine

__all__ = ["ValueProblems", "check_values", "locate_bad_rows", "csv_structure_problem"]


@dataclass
class ValueProblems:
    """Distinct account ids and IPs that are malformed, and the canonical form of IPv6 spellings."""

    bad_accounts: list[str] = field(default_factory=list)
    bad_ips: list[str] = field(default_factory=list)
    canonical_ips: dict[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.bad_accounts or self.bad_ips)


def check_values(engine: Engine) -> ValueProblems:
    """Check the distinct account ids and IPs of the per-account table (IPv6 forms in Python: few values)."""
    engine.run("ips", "ipv4")
    bad_accounts, other_ips = engine.rows("ips", "values_check", max_id=MAX_ID_CHARS)[0]
    problems = ValueProblems(bad_accounts=sorted(bad_accounts or []))
    for value in other_ips or []:
        canonical = canonical_ipv6(value)
        if canonical is None:
            problems.bad_ips.append(value)
        elif canonical != value:
            problems.canonical_ips[value] = canonical
    problems.bad_ips.sort()
    return problems


def locate_bad_rows(engine: Engine, fmt: str, problems: ValueProblems, lenient: bool) -> pd.DataFrame:
    """The bad requests with their place (columns of ``REJECT_COLUMNS``); strict mode raises the first."""
    engine.variable("bad_ips", problems.bad_ips)
    engine.variable("bad_accounts", problems.bad_accounts)
    engine.run("checks", f"located_{fmt}")
    with engine.in_order():  # CSV and JSON rows are numbered in file order
        found = engine.run("checks", "locate", max_rows=1 if not lenient else 2**62).fetch_df()
    found["file"] = [Path(f).name for f in found["file"]]
    found = found[REJECT_COLUMNS]
    if not lenient and len(found):
        first = found.iloc[0]
        value = first["value"]
        detail = f"{first['reason']} (got {value!r})" if value is not None else first["reason"]
        raise InputError(first["file"], detail, row=int(first["row"]), column=first["column"])
    return found


def csv_structure_problem(files: tuple[str, ...]) -> InputError | None:
    """When DuckDB refuses a CSV file (its error names no line): the first malformed record, found
    by Python's csv module on that error path only."""
    for name in files:
        opener = gzip.open if name.lower().endswith(".gz") else open
        try:
            with opener(name, "rt", encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh, strict=True)
                try:
                    header = next(reader)
                except StopIteration:
                    return InputError(Path(name).name, "empty file: expected a header line naming the columns")
                row = 0
                while True:
                    try:
                        record = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        return InputError(Path(name).name, f"malformed CSV record: {exc}", row=row + 1)
                    row += 1
                    if len(record) != len(header):
                        return InputError(Path(name).name, f"expected {len(header)} fields as in the header, found {len(record)}", row=row)
        except UnicodeDecodeError:
            return InputError(Path(name).name, "bytes that are not UTF-8 text (binary data or another encoding)")
        except (OSError, EOFError) as exc:
            return InputError(Path(name).name, f"cannot read the file: {exc}")
    return None
