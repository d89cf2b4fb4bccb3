"""The local server's processes as the pid files and ports tell: who runs, and which port is free."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from .paths import neo4j_home, pid_file
from .settings import SERVER_CLASS

__all__ = ["read_pid", "alive", "port_free", "reap"]


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid, name) else None


def alive(pid: int, name: str) -> bool:
    """True when ``pid`` is our process ``name`` (checks its command line, not just the pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    marker = SERVER_CLASS if name == "neo4j" else "graphsleuth.server"
    return marker in cmdline and str(neo4j_home()) in cmdline


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def reap(pid: int) -> None:
    """Collect a child we started (so it does not linger as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
