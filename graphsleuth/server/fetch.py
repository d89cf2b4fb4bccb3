"""Fetching Neo4j Community and the Neo4j Browser as jars with Maven, and building graphsleuth's procedures."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import StoreError
from ..progress import Progress
from ..resources import package_file
from . import procedures
from .paths import lib_folder, neo4j_home
from .settings import NEO4J_VERSION, java

__all__ = ["fetch", "is_fetched", "build_plugin"]


def is_fetched() -> bool:
    """True when the jars are in place (Neo4j and the Browser)."""
    return _holds_jars(lib_folder())


def _holds_jars(folder: Path) -> bool:
    """True when ``folder`` holds this Neo4j version's jar and a Browser's."""
    return (folder / f"neo4j-{NEO4J_VERSION}.jar").exists() and any(folder.glob("neo4j-browser-*.jar"))


def fetch(progress: Progress | None = None) -> Path:
    """Download Neo4j Community and the Browser from Maven Central into neo4j/lib/, and build
    graphsleuth's procedures into neo4j/plugins/ (:func:`build_plugin`); returns the lib folder.

    Runs ``mvn dependency:copy-dependencies`` on ``neo4j/pom.xml`` into a fresh
    folder that then takes the place of lib/, so the jars of another Neo4j version
    fetched before are never mixed in. Each part is skipped when it is done already.
    """
    if not is_fetched():
        _fetch_jars(progress or Progress())
    build_plugin(progress)
    return lib_folder()


def build_plugin(progress: Progress | None = None) -> Path:
    """Build graphsleuth's Neo4j procedures (:mod:`graphsleuth.plugin`) for the local server's
    plugins folder, against its jars; returns the jar. The server loads it when it starts."""
    nh = neo4j_home()
    return procedures.build(
        lib=lib_folder(), plugins=nh / "plugins", tools=nh / "tools", java=java(), neo4j_version=NEO4J_VERSION, progress=progress
    )


def _fetch_jars(progress: Progress) -> None:
    """Copy this Neo4j version's jars and the Browser's into a fresh folder, then put it in lib/'s place."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StoreError("Maven (mvn) is not installed; it is needed once to fetch the Neo4j jars")
    pom = package_file("graphsleuth.server", "maven", "pom.xml")
    lib = lib_folder()
    fresh = lib.with_name("lib.fetching")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    cmd = [mvn, "-B", "-q", "-f", str(pom), f"-Dgraphsleuth.lib={fresh}", "dependency:copy-dependencies"]
    with progress.steps(f"fetching Neo4j {NEO4J_VERSION} and the Browser with Maven into {lib}"):
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
