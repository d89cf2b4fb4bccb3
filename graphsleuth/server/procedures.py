"""graphsleuth's own Neo4j procedures: the jar the local server loads from its plugins folder.

The Java source is in neo4j/plugin/ (``graphsleuth.mergeRelationships``: a load's
relationship writes without one interpreted Cypher MERGE per row). It is compiled
here, on the machine, against the very Neo4j jars the server runs, so a Neo4j
upgrade that changed the API fails at build time rather than at load time. The
compiler is the Eclipse compiler for Java (ecj), fetched from Maven Central like the
server: the Java runtime that runs Neo4j has no ``javac``, and the machine's JDK may
be too old to read Neo4j's class files. A stamp of the sources and the Neo4j
version goes into the jar, so a changed source or version builds it again.

Nothing here needs the server module: the server passes in its folders and Java.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from ..errors import StoreError
from ..progress import Progress
from ..resources import package_folder

__all__ = ["ECJ_VERSION", "JAR_NAME", "PROCEDURES", "source_dir", "stamp", "is_built", "build"]

#: The Eclipse compiler for Java used to build the jar (it runs on Java 21 or later).
ECJ_VERSION = "3.43.0"
#: The file name of the jar in the server's plugins folder.
JAR_NAME = "graphsleuth-procedures.jar"
#: The procedures the jar defines; a load uses them when the server has all of them.
PROCEDURES = ("graphsleuth.mergeRelationships",)
_STAMP = "META-INF/graphsleuth-stamp"


def source_dir() -> Path:
    """The folder of the procedures' Java sources (java/ in this package)."""
    return package_folder("graphsleuth.server", "java")


def _sources() -> list[Path]:
    return sorted(source_dir().rglob("*.java"))


def stamp(neo4j_version: str) -> str:
    """What the jar is built from: the Neo4j version, the compiler's and every source file."""
    digest = hashlib.sha256(f"{neo4j_version}\n{ECJ_VERSION}\n".encode())
    for path in _sources():
        digest.update(path.relative_to(source_dir()).as_posix().encode() + b"\n" + path.read_bytes())
    return digest.hexdigest()


def is_built(plugins: Path, neo4j_version: str) -> bool:
    """True when ``plugins`` holds the jar built from the current sources for ``neo4j_version``."""
    jar = plugins / JAR_NAME
    try:
        with zipfile.ZipFile(jar) as archive:
            return archive.read(_STAMP).decode() == stamp(neo4j_version)
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def build(*, lib: Path, plugins: Path, tools: Path, java: str, neo4j_version: str, progress: Progress | None = None) -> Path:
    """Build the jar into ``plugins`` (unless it is built already) and return its path.

    ``lib`` holds the server's jars (the classpath), ``tools`` is where the compiler
    is kept, ``java`` runs it. The jar is written beside its place and then moved
    in, so a failed build never leaves half a jar for the server to load.
    """
    jar = plugins / JAR_NAME
    if is_built(plugins, neo4j_version):
        return jar
    with (progress or Progress()).steps(f"building graphsleuth's Neo4j procedures into {jar}"):
        return _build(jar, lib, plugins, tools, java, neo4j_version)


def _build(jar: Path, lib: Path, plugins: Path, tools: Path, java: str, neo4j_version: str) -> Path:
    compiler = _fetch_compiler(tools)
    plugins.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="graphsleuth-plugin-") as scratch:
        classes = Path(scratch) / "classes"
        classes.mkdir()
        classpath = ":".join(str(path) for path in sorted(lib.glob("*.jar")))
        cmd = [
            java,
            "-jar",
            str(compiler),
            "-21",
            "-nowarn",
            "-encoding",
            "UTF-8",
            "-cp",
            classpath,
            "-d",
            str(classes),
            *(str(path) for path in _sources()),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            first = next((line for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line or "error" in line), "")
            detail = " | ".join((done.stdout + done.stderr).strip().splitlines()[:4])
            raise StoreError(f"could not compile graphsleuth's Neo4j procedures ({source_dir()}): {first or detail or 'no output'}")
        partial = plugins / f".{JAR_NAME}.part"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: graphsleuth\n")
            archive.writestr(_STAMP, stamp(neo4j_version))
            for path in sorted(classes.rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        partial.replace(jar)
    return jar


def _fetch_compiler(tools: Path) -> Path:
    """The ecj jar in ``tools``, copied there from Maven Central (or Maven's local cache) once."""
    jar = tools / f"ecj-{ECJ_VERSION}.jar"
    if jar.exists():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StoreError("Maven (mvn) is not installed; it is needed once to fetch the Java compiler for graphsleuth's procedures")
    tools.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-B",
        "-q",
        "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
        f"-Dartifact=org.eclipse.jdt:ecj:{ECJ_VERSION}",
        f"-DoutputDirectory={tools}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tools)
    if done.returncode != 0 or not jar.exists():
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise StoreError(f"Maven could not fetch the Eclipse compiler (org.eclipse.jdt:ecj:{ECJ_VERSION}): {tail or 'no output'}")
    return jar
