"""Faults: transient errors retried, lost connections reported in one line, nothing lost or doubled.

* a transient Neo4j error in any write is retried and the load completes;
* an unreachable server gives a one-line StoreError through the CLI;
* SIGKILL of the Neo4j server in the middle of a load, restart, load again:
  the graph is identical to a clean load (counts and a checksum over ids);
* two loads of the same data at once leave no duplicates;
* Ctrl-C during detect or load leaves no half-written output.

The kill test stops and restarts the session's local server; it always leaves
it running for the tests that follow.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graphsleuth import server, store
from graphsleuth.errors import StoreError
from graphsleuth.synthetic import generate

from conftest import EXPECTED_COUNTS, write_evidence

REPO = Path(__file__).resolve().parents[1]
POPULATION = 8_000


def _cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphsleuth", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=REPO)


def _popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "graphsleuth", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO, env=dict(os.environ))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    """A generated population big enough that detect and load take several seconds."""
    out = tmp_path_factory.mktemp("population") / "evidence"
    generate("demo", seed=11, out=out, accounts=POPULATION)
    return out


@pytest.fixture(scope="module")
def clean_graph(neo4j_connection, population) -> dict:
    """The snapshot of a clean load of the population."""
    store.clear(connection=neo4j_connection)
    store.load(population, connection=neo4j_connection, quiet=True)
    return snapshot(neo4j_connection)


def _kill_local_server() -> None:
    """SIGKILL the local Neo4j's java process and wait until it is gone (reaped when it is our child)."""
    pid = server.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            break  # gone
        if state == "Z" and _bindable(server.bolt_port()) and _bindable(server.http_port()):
            break  # dead, and its threads have closed the listening sockets
        time.sleep(0.1)
    else:
        raise AssertionError(f"Neo4j (pid {pid}) did not die")
    assert not server.is_running()


def _bindable(port: int) -> bool:
    return server._port_free(port)


def snapshot(connection) -> dict:
    """Node and relationship counts per label/type, and a checksum over every sorted id and link."""
    counts = store.graph_counts(connection=connection)
    evidence = store.read_evidence_from_neo4j(connection=connection)
    digest = hashlib.sha256()
    for name, columns in (("accounts", ["account_id"]), ("payments", ["account_id", "payment_id", "bin"]),
                          ("ips", ["account_id", "ip"]), ("prompts", ["account_id", "template_id", "count"]),
                          ("links", ["account_id", "kind", "value"])):
        frame = evidence.table(name)[columns].astype(str)
        for row in sorted(map(tuple, frame.to_numpy().tolist())):
            digest.update(("\x1f".join(row) + "\x1e").encode())
        digest.update(f"|{name}|".encode())
    return {"counts": counts, "checksum": digest.hexdigest()}


# --- transient errors and lost connections ------------------------------------------------------------------


class _Flaky:
    """Wraps a driver ``run``: the first call of each of the first ``limit`` write statements fails with a transient error."""

    def __init__(self, original, limit: int = 3):
        self.original = original
        self.limit = limit
        self.seen: set[str] = set()
        self.failures = 0

    def __call__(self, this, query, *args, **kwargs):
        import neo4j.exceptions as nx

        text = str(query)
        if self.failures < self.limit and text not in self.seen and not text.lstrip().upper().startswith(("RETURN", "MATCH", "SHOW", "CALL DB.")):
            self.seen.add(text)
            self.failures += 1
            raise nx.TransientError("simulated: Neo.TransientError.Transaction.DeadlockDetected")
        return self.original(this, query, *args, **kwargs)


@pytest.mark.neo4j
@pytest.mark.parametrize("via", ["auto", "params"])
def test_transient_errors_in_writes_are_retried(empty_graph, evidence_dir, monkeypatch, via):
    import neo4j

    flaky_tx = _Flaky(neo4j.ManagedTransaction.run)
    flaky_session = _Flaky(neo4j.Session.run)
    monkeypatch.setattr(neo4j.ManagedTransaction, "run", lambda this, q, *a, **k: flaky_tx(this, q, *a, **k))
    monkeypatch.setattr(neo4j.Session, "run", lambda this, q, *a, **k: flaky_session(this, q, *a, **k))
    store.load(evidence_dir, connection=empty_graph, quiet=True, via=via)
    monkeypatch.undo()
    assert flaky_tx.failures >= 3  # schema and (via params) row writes failed once each and were tried again
    if via == "auto" and empty_graph.local:
        assert flaky_session.failures >= 3  # LOAD CSV steps too
    counts = store.graph_counts(connection=empty_graph)
    assert {k: v for k, v in counts.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS


def test_store_writes_use_managed_transactions():
    source = Path(store.__file__).read_text(encoding="utf-8")
    assert "session.execute_write(work)" in source and "session.execute_read(work)" in source


@pytest.mark.parametrize("uri_scheme", ["neo4j", "bolt"])
def test_cli_load_with_server_unreachable_is_one_line(tmp_path, uri_scheme):
    port = _free_port()
    evidence = write_evidence(tmp_path / "evidence")
    began = time.monotonic()
    done = _cli("load", str(evidence), env={"NEO4J_URI": f"{uri_scheme}://127.0.0.1:{port}", "NEO4J_PASSWORD": "not-used"})
    assert done.returncode == 3, done.stderr
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.startswith("graphsleuth: error:")]
    assert len(done.stderr.strip().splitlines()) == 1 and len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and f"127.0.0.1:{port}" in lines[0]
    assert time.monotonic() - began < 60


def test_cli_load_wrong_password_is_one_line(neo4j_connection, evidence_dir):
    done = _cli("load", str(evidence_dir), env={"NEO4J_URI": neo4j_connection.uri, "NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": "wrong-password"})
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "refused user" in done.stderr


# --- the server killed in the middle of a load ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.neo4j
def test_server_killed_mid_load_then_load_again_gives_the_clean_graph(neo4j_connection, population, clean_graph):
    if not neo4j_connection.local:
        pytest.skip("NEO4J_URI points at a server this test must not kill")
    store.clear(connection=neo4j_connection)

    loading = _popen("load", str(population))
    killed = False
    try:
        # Wait until the load is writing (its first progress line), then give it a moment more.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and loading.poll() is None:
            line = loading.stderr.readline()
            if ": " in line and "/" in line:  # "accounts: 12000/12000"
                break
        time.sleep(0.5)
        assert loading.poll() is None, "the load finished before the server could be killed: use a bigger population"
        _kill_local_server()
        killed = True
        server.start(quiet=True)  # the load may still be retrying: it either finishes or fails in one line
        out, err = loading.communicate(timeout=180)
        err_lines = [ln for ln in err.strip().splitlines() if not (ln.count("/") == 1 and ": " in ln)]
        assert "Traceback" not in err, err[-800:]
        if loading.returncode == 0:
            assert len(err_lines) == 1 and err_lines[0].startswith("loaded "), err[-800:]
        else:
            assert len(err_lines) == 1 and err_lines[0].startswith("graphsleuth: error:"), err[-800:]
    finally:
        if loading.poll() is None:
            loading.kill()
            loading.wait()
        server.start(quiet=True)  # the session's server runs again whatever happened above
    assert killed
    store.load(population, connection=neo4j_connection, quiet=True)
    assert snapshot(neo4j_connection) == clean_graph


# --- concurrent loads ------------------------------------------------------------------------------------------


@pytest.mark.neo4j
def test_two_loads_at_once_leave_no_duplicates(neo4j_connection, tmp_path):
    data = tmp_path / "evidence"
    generate("demo", seed=3, out=data, accounts=1_000)
    store.clear(connection=neo4j_connection)
    store.load(data, connection=neo4j_connection, quiet=True)
    clean = snapshot(neo4j_connection)
    store.clear(connection=neo4j_connection)

    outcome: dict[int, object] = {}
    barrier = threading.Barrier(2)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcome[index] = store.load(data, connection=neo4j_connection, quiet=True)
        except StoreError as exc:  # a clear one-line refusal is acceptable; a duplicate is not
            outcome[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(outcome) == 2 and any(not isinstance(o, Exception) for o in outcome.values()), outcome
    for result in outcome.values():
        if isinstance(result, StoreError):
            assert "\n" not in str(result)
    assert snapshot(neo4j_connection) == clean
    # Whatever happened, loading again changes nothing.
    again = store.load(data, connection=neo4j_connection, quiet=True)
    assert again.nodes_created == 0 and again.relationships_created == 0
    assert snapshot(neo4j_connection) == clean


# --- Ctrl-C ----------------------------------------------------------------------------------------------------


def _interrupt_after_progress(proc: subprocess.Popen, marker: str, delay: float) -> tuple[str, str]:
    """Send SIGINT once ``marker`` shows in stderr (plus ``delay`` seconds); the rest of both streams."""
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stderr.readline()
        seen.append(line)
        if marker in line:
            break
    time.sleep(delay)
    assert proc.poll() is None, "finished before it could be interrupted: " + "".join(seen)[-500:]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return out, "".join(seen) + err


def _only_progress_and(err: str, message: str) -> None:
    lines = err.strip().splitlines()
    others = [ln for ln in lines if not ln.endswith("…") and not (ln.count("/") == 1 and ": " in ln)]
    assert others == [message], err[-800:]
    assert "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_during_detect_leaves_no_output(population, tmp_path):
    out = tmp_path / "results" / "rings"
    proc = _popen("detect", str(population), "--out", str(out))
    _, err = _interrupt_after_progress(proc, "building the evidence graph", 0.1)
    assert proc.returncode == 130
    _only_progress_and(err, "graphsleuth: interrupted; nothing was written")
    assert not out.exists()
    assert not out.parent.exists() or not [p for p in out.parent.iterdir() if ".partial." in p.name]


@pytest.mark.slow
def test_ctrl_c_during_leiden_is_clean(population, tmp_path):
    for attempt in range(3):
        out = tmp_path / f"rings-{attempt}"
        proc = _popen("detect", str(population), "--out", str(out))
        _, err = _interrupt_after_progress(proc, "finding clusters", 0.15 * attempt)
        assert not out.exists() and not [p for p in tmp_path.iterdir() if ".partial." in p.name]
        assert proc.returncode == 130, err[-300:]


def test_interrupt_while_writing_leaves_nothing_or_the_previous_results(tmp_path, monkeypatch, evidence_dir):
    from graphsleuth import export
    from graphsleuth.detection import detect

    findings = detect(evidence_dir)
    out = tmp_path / "rings"
    calls = {"n": 0}
    original = export._jsonl

    def interrupted(records, path):
        calls["n"] += 1
        original(records, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "_jsonl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.write_findings(findings, out)
    leftovers = lambda: [p.name for p in tmp_path.iterdir() if ".partial." in p.name or ".old." in p.name]  # noqa: E731
    assert calls["n"] == 1 and not out.exists() and leftovers() == []

    monkeypatch.setattr(export, "_jsonl", original)
    export.write_findings(findings, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(export, "_jsonl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.write_findings(findings, out, format="parquet", force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # --force replaced nothing
    assert leftovers() == []


@pytest.mark.slow
@pytest.mark.neo4j
def test_ctrl_c_during_load_is_one_line_and_loading_again_completes(neo4j_connection, population, clean_graph):
    if not neo4j_connection.local:
        pytest.skip("uses the local server's default connection in a subprocess")
    store.clear(connection=neo4j_connection)
    proc = _popen("load", str(population))
    _, err = _interrupt_after_progress(proc, "/", 0.5)
    assert proc.returncode == 130
    _only_progress_and(err, "graphsleuth: interrupted; the graph may be partly loaded (load again to complete it)")
    store.load(population, connection=neo4j_connection, quiet=True)
    assert snapshot(neo4j_connection) == clean_graph
