"""Where the request logs are: one file, a directory or a glob, in one format, with their side tables.

A log directory may be a *bundle*, as ``graphsleuth generate --logs`` writes
it: the logs in its ``logs/`` folder, and beside them the ``accounts`` and
``payments`` tables that logs do not carry. Side tables given by the caller
win over a bundle's own.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["LogFiles", "find_logs", "looks_like_logs", "REQUIRED", "LOG_LINKS", "ACCOUNT_LINKS", "KNOWN_COLUMNS", "LINK_NAME"]

#: Columns every request must have.
REQUIRED = ("ts", "account_id", "ip")
#: Request attributes that become links (kind = the column's name) when the logs have them.
LOG_LINKS = ("user_agent", "api_key_id", "device")
#: Columns of the side accounts table that become links when it has them.
ACCOUNT_LINKS = ("phone",)
#: Every column ingest reads from a log (declared link columns besides).
KNOWN_COLUMNS = (*REQUIRED, *LOG_LINKS, "model", "prompt", "prompt_hash", "template_id", "tokens_in", "tokens_out")
#: A declared link column's name: it becomes a link kind, so it follows the evidence's kind rule.
LINK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")

_FORMATS = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".jsonl": "json",
    ".jsonl.gz": "json",
    ".ndjson": "json",
    ".ndjson.gz": "json",
    ".json": "json",
    ".json.gz": "json",
}
_SIDE = ("accounts", "payments")


@dataclass(frozen=True)
class LogFiles:
    """The log files to read (sorted), their one format, and the side tables found beside them."""

    files: tuple[str, ...]
    format: str
    accounts: Path | None = None
    payments: Path | None = None


def _format_of(path: str) -> str | None:
    low = path.lower()
    for ext in sorted(_FORMATS, key=len, reverse=True):
        if low.endswith(ext):
            return _FORMATS[ext]
    return None


def _side_table(folder: Path, name: str) -> Path | None:
    found = [folder / f"{name}{ext}" for ext in (".parquet", ".csv", ".csv.gz")]
    found = [p for p in found if p.is_file()]
    return found[0] if found else None


def find_logs(logs: str | Path) -> LogFiles:
    """The log files named by ``logs`` (a file, a directory, a bundle or a glob), in one format."""
    text = str(logs)
    path = Path(text)
    accounts = payments = None
    if path.is_dir():
        folder = path
        if (path / "logs").is_dir():  # a bundle: logs/ beside its side tables
            accounts, payments = _side_table(path, "accounts"), _side_table(path, "payments")
            folder = path / "logs"
        side = {p for p in (_side_table(folder, n) for n in _SIDE) if p is not None}
        files = sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and p not in side)
        files = [f for f in files if _format_of(f)]
    elif any(ch in text for ch in "*?["):
        files = sorted(f for f in glob.glob(text, recursive=True) if Path(f).is_file())
    elif path.is_file():
        files = [text]
    else:
        raise InputError(text, "no such file or directory of request logs")
    if not files:
        raise InputError(text, "no request log files found (expected .parquet, .csv, .csv.gz, .jsonl or .jsonl.gz files)")
    unknown = [f for f in files if _format_of(f) is None]
    if unknown:
        raise InputError(unknown[0], "not a request log file (expected .parquet, .csv, .csv.gz, .jsonl or .jsonl.gz)")
    formats = sorted({_format_of(f) for f in files})
    if len(formats) > 1:
        raise InputError(text, f"the logs mix formats ({', '.join(formats)}); give one format at a time")
    return LogFiles(tuple(files), formats[0], accounts, payments)


def looks_like_logs(data: str | Path) -> bool:
    """True when ``data`` holds request logs rather than evidence tables: a log file or glob,
    a bundle (a ``logs/`` folder), or a directory of log files that holds no evidence table."""
    path = Path(str(data))
    if not path.is_dir():
        return path.is_file() and _format_of(str(path)) is not None or any(ch in str(data) for ch in "*?[")
    tables = ("accounts", "payments", "ips", "prompts", "links", "lockstep")
    if (path / "logs").is_dir():
        return not any((path / f"{name}{ext}").exists() for name in tables[2:] for ext in (".csv", ".csv.gz", ".parquet"))
    if any((path / f"{name}{ext}").exists() for name in tables for ext in (".csv", ".csv.gz", ".parquet")):
        return False  # evidence tables (perhaps with one missing: reading them says which)
    return any(
        _format_of(str(p)) in ("parquet", "csv") or p.name.endswith((".jsonl", ".jsonl.gz", ".ndjson"))
        for p in path.iterdir()
        if p.is_file()
    )
