"""Starting, stopping and watching the local Neo4j server process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError
from ..progress import Progress
from .config import child_env, ensure_password, java, read_password, write_config
from .fetch import fetch
from .guide import publish_guide, start_guide_server
from .paths import bolt_port, browser_url, guide_url, home, http_port, lib_folder, neo4j_home, pid_file
from .pidfiles import alive, port_free, read_pid, reap
from .settings import HEAP, JVM_FLAGS, NEO4J_VERSION, SERVER_CLASS, SERVER_GC, START_TIMEOUT, USERNAME, young_generation

__all__ = ["ServerInfo", "start", "stop", "status", "is_running"]


@dataclass(frozen=True)
class ServerInfo:
    """What :func:`start` and :func:`status` report about the local server."""

    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str
    guide_url: str
    home: Path
    already_running: bool = False
    seconds: float = 0.0

    def describe(self) -> str:
        """A few plain lines for the terminal (no password)."""
        if not self.running:
            return f"Neo4j is not running (home {self.home})"
        how = "running" if self.already_running else f"started in {self.seconds:.1f}s"
        return (
            f"Neo4j {NEO4J_VERSION} {how} (pid {self.pid})\n"
            f"Bolt:    {self.bolt_uri}\n"
            f"Browser: {self.browser_url}\n"
            f"Guide:   :play {self.guide_url}\n"
            f"Password: run `graphsleuth neo4j env` (kept in {self.home / 'neo4j' / 'password'})"
        )


def is_running() -> bool:
    """True when our local Neo4j process is alive."""
    return read_pid("neo4j") is not None


def _check_ports() -> None:
    for port, variable, what in (
        (bolt_port(), "GRAPHSLEUTH_NEO4J_BOLT_PORT", "Bolt"),
        (http_port(), "GRAPHSLEUTH_NEO4J_HTTP_PORT", "HTTP"),
    ):
        if not port_free(port):
            raise StoreError(
                f"port {port} ({what}) on 127.0.0.1 is already in use by another program; stop it or choose another port with {variable}"
            )


def _bolt_answers(password: str, timeout: float = 2.0) -> bool:
    import neo4j

    try:
        with neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{bolt_port()}", auth=(USERNAME, password), connection_timeout=timeout) as driver:
            driver.verify_connectivity()
        return True
    except neo4j.exceptions.AuthError:
        raise StoreError(
            f"the local Neo4j server refused the password in its password file; remove {neo4j_home() / 'data'} to start afresh"
        ) from None
    except Exception:
        return False


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no log"
    errors = [ln for ln in text if "ERROR" in ln or "Exception" in ln]
    return " | ".join((errors or text)[-lines:])


def start(timeout: float = START_TIMEOUT, progress: Progress | None = None) -> ServerInfo:
    """Start the local Neo4j server (and the guide server) and wait until Bolt answers.

    Idempotent: when it already runs, returns its details. Fetches the jars first
    when they are missing. Raises :class:`StoreError` when a port is taken or the
    server does not come up, naming the log to read.
    """
    pid = read_pid("neo4j")
    if pid is not None:
        if not _bolt_answers(read_password(), timeout=5.0):
            _wait_for_bolt(pid, timeout)
        start_guide_server()
        return _info(pid, already_running=True)
    fetch(progress)
    _check_ports()
    write_config()
    publish_guide()
    ensure_password()
    began = time.monotonic()
    nh = neo4j_home()
    console = nh / "logs" / "console.log"
    cmd = [
        java(),
        f"-Xms{HEAP}",
        f"-Xmx{HEAP}",
        young_generation(HEAP),
        SERVER_GC,
        *JVM_FLAGS,
        "-cp",
        str(lib_folder() / "*"),
        SERVER_CLASS,
        f"--home-dir={nh}",
        f"--config-dir={nh / 'conf'}",
        "--console-mode",
    ]
    with open(console, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env(),
            cwd=nh,
            start_new_session=True,
        )
    pid_file("neo4j").write_text(str(proc.pid))
    _wait_for_bolt(proc.pid, timeout, proc)
    start_guide_server()
    return _info(proc.pid, seconds=time.monotonic() - began)


def _wait_for_bolt(pid: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    password = read_password()
    deadline = time.monotonic() + timeout
    console = neo4j_home() / "logs" / "console.log"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StoreError(f"Neo4j stopped while starting (exit {proc.returncode}): {_log_tail(console)} (see {console})")
        if proc is None and not alive(pid, "neo4j"):
            raise StoreError(f"Neo4j stopped while starting: {_log_tail(console)} (see {console})")
        if _bolt_answers(password):
            return
        time.sleep(0.5)
    raise StoreError(f"Neo4j did not answer on Bolt port {bolt_port()} within {timeout:.0f}s (see {console})")


def _info(pid: int | None, already_running: bool = False, seconds: float = 0.0) -> ServerInfo:
    return ServerInfo(
        running=pid is not None,
        pid=pid,
        bolt_uri=f"neo4j://127.0.0.1:{bolt_port()}",
        browser_url=browser_url(),
        guide_url=guide_url(),
        home=home(),
        already_running=already_running,
        seconds=seconds,
    )


def _stop_pid(pid: int, name: str, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, name):
            return
        reap(pid)
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap(pid)


def stop(timeout: float = 60.0) -> bool:
    """Stop the local Neo4j server and the guide server; True when something was stopped."""
    stopped = False
    for name in ("guide", "neo4j"):
        pid = read_pid(name)
        if pid is not None:
            _stop_pid(pid, name, timeout)
            stopped = True
        pid_file(name).unlink(missing_ok=True)
    return stopped


def status() -> ServerInfo:
    """Whether the local server runs, its pid, and where Bolt, the Browser and the guide are."""
    return _info(read_pid("neo4j"), already_running=True)
