"""Faults: transient errors retried, lost connections reported in one line, nothing lost or doubled.

* a transient Neo4j error in any write is retried and the load completes;
* an unreachable server gives a one-line StoreError through the CLI;
* SIGKILL of the Neo4j server in the middle of a load, restart, load again:
  the graph is identical to a clean load (counts and a checksum over ids);
* two loads of the same data at once leave no duplicates (tests/test_concurrent_load.py);
* Ctrl-C during detect or load leaves no half-written output.

The kill test stops and restarts the session's local server; it always leaves
it running for the tests that follow.

A fault is injected at a chosen point of a running command without sleeping
and hoping: the command is paused (SIGSTOP) once its stderr shows the point
was reached, the fault (SIGINT, or the server killed) is injected while it
cannot move on, and then it is resumed (SIGCONT). A paused command cannot
finish before the fault, however fast the machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphsleuth import server, store
from graphsleuth.errors import StoreError
from graphsleuth.progress import Progress
from graphsleuth.synth import generate

from helpers import EXPECTED_COUNTS, write_evidence

REPO = Path(__file__).resolve().parents[2]
POPULATION = 8_000


def _cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "graphsleuth", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=REPO,
    )


def _interruptible() -> None:
    # A shell without job control starts background jobs (`make test &`, some CI runners)
    # with SIGINT ignored, and the child would inherit that: Ctrl-C as a user's terminal
    # delivers it must reach the command under test.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(*args: str) -> subprocess.Popen:
    """``graphsleuth ARGS`` in a subprocess; read its stderr through :class:`Paused`."""
    return subprocess.Popen(
        [sys.executable, "-m", "graphsleuth", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=dict(os.environ),
        preexec_fn=_interruptible,
    )


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


class Paused:
    """A command paused (SIGSTOP) once a line holding ``marker`` shows on its stderr.

    ``text`` is all it wrote before it stopped. Stderr is read from the pipe's
    file descriptor, unbuffered, so nothing it wrote stays hidden in a buffer:
    :meth:`wrote` tells exactly whether the paused command had got past a point.
    """

    def __init__(self, proc: subprocess.Popen, marker: str, after: float = 0.0):
        self.proc = proc
        self.fd = proc.stderr.fileno()
        self.raw = b""
        while not any(marker.encode() in line for line in self.raw.split(b"\n")[:-1]):  # a whole line holds it
            chunk = os.read(self.fd, 65536)
            if not chunk:
                proc.wait()
                raise AssertionError(f"exit {proc.returncode} before {marker!r}: {self.text[-800:]}")
            self.raw += chunk
        if after:
            time.sleep(after)  # where in the step to pause; what was reached is checked, not assumed
        os.kill(proc.pid, signal.SIGSTOP)  # a command that has already exited is a zombie until waited for
        while (state := _state(proc.pid)) not in ("T", "t", "Z"):
            os.sched_yield()
        #: Whether the command had finished before it could be paused (only possible with ``after``).
        self.finished = state == "Z"
        os.set_blocking(self.fd, False)
        try:
            while chunk := os.read(self.fd, 65536):  # what it wrote before it stopped
                self.raw += chunk
        except BlockingIOError:
            pass
        os.set_blocking(self.fd, True)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    def wrote(self, text: str) -> bool:
        return text in self.text

    def resume(self, send: signal.Signals | None = None) -> Paused:
        """Send ``send`` (held until the command runs again, then delivered), and resume it."""
        if self.proc.poll() is None:
            if send is not None:
                os.kill(self.proc.pid, send)
            os.kill(self.proc.pid, signal.SIGCONT)
        return self

    def wait(self) -> tuple[str, str]:
        """Wait for the command to end: (its stdout, all its stderr)."""
        out, err = self.proc.communicate(timeout=180)
        return out.decode("utf-8", errors="replace"), self.text + err.decode("utf-8", errors="replace")

    def abandon(self) -> None:
        """Kill the command (paused or not) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL ends a stopped process too
        self.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_population(tmp_path_factory, seed: int, accounts: int) -> Path:
    """An evidence folder of the demo scenario with ``accounts`` accounts."""
    out = tmp_path_factory.mktemp(f"demo-{seed}") / "evidence"
    generate("demo", seed=seed, out=out, accounts=accounts)
    return out


def clean_load(connection, evidence: Path) -> dict:
    """The snapshot of one load of ``evidence`` into the emptied database."""
    store.clear(connection=connection)
    store.load(evidence, connection=connection)
    return snapshot(connection)


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    """A generated population big enough that detect and load take several seconds."""
    return demo_population(tmp_path_factory, seed=11, accounts=POPULATION)


@pytest.fixture(scope="module")
def clean_graph(neo4j_connection, population) -> dict:
    return clean_load(neo4j_connection, population)


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
    return server.port_free(port)


def snapshot(connection) -> dict:
    """Node and relationship counts per label/type, and a checksum over every sorted id and link."""
    counts = store.graph_counts(connection=connection)
    evidence = store.read_evidence_from_neo4j(connection=connection)
    digest = hashlib.sha256()
    for name, columns in (
        ("accounts", ["account_id"]),
        ("payments", ["account_id", "payment_id", "bin"]),
        ("ips", ["account_id", "ip"]),
        ("prompts", ["account_id", "template_id", "count"]),
        ("links", ["account_id", "kind", "value"]),
    ):
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
        if (
            self.failures < self.limit
            and text not in self.seen
            and not text.lstrip().upper().startswith(("RETURN", "MATCH", "SHOW", "CALL DB."))
        ):
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
    store.load(evidence_dir, connection=empty_graph, via=via)
    monkeypatch.undo()
    assert flaky_tx.failures >= 3  # schema and (via params) row writes failed once each and were tried again
    if via == "auto" and empty_graph.local:
        assert flaky_session.failures >= 3  # LOAD CSV steps too
    counts = store.graph_counts(connection=empty_graph)
    assert {k: v for k, v in counts.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS


@pytest.mark.neo4j
def test_a_late_transient_error_in_a_long_load_step_is_retried(empty_graph, evidence_dir, monkeypatch):
    """A LOAD CSV step that fails after running longer than the retry budget (a deadlock with a
    concurrent load near the end of a big step) is run again, not given up on."""
    import neo4j
    import neo4j.exceptions as nx

    if not empty_graph.local:
        pytest.skip("LOAD CSV steps need the local server")
    monkeypatch.setattr(store, "RETRY_SECONDS", 1.0)
    original = neo4j.Session.run
    late = {"failures": 0}

    def run(this, query, *args, **kwargs):
        if "LOAD CSV" in str(query) and "SENT" in str(query) and not late["failures"]:
            late["failures"] += 1
            original(this, query, *args, **kwargs).consume()  # the step runs, and takes longer than the budget
            time.sleep(1.2)
            raise nx.TransientError("simulated: Neo.TransientError.Transaction.DeadlockDetected")
        return original(this, query, *args, **kwargs)

    monkeypatch.setattr(neo4j.Session, "run", run)
    store.load(evidence_dir, connection=empty_graph, via="csv")
    monkeypatch.undo()
    assert late["failures"] == 1
    counts = store.graph_counts(connection=empty_graph)
    assert {k: v for k, v in counts.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS


@pytest.mark.neo4j
def test_a_batch_rolled_back_in_a_load_step_is_written_again_alone(empty_graph, evidence_dir, monkeypatch, capsys):
    """A relationship batch that fails is rolled back while its step goes on; then only its rows
    are written again, and the summary counts every relationship once. Here the batch waits for
    a lock another session holds and is ended on the server, as a deadlock with the other lane
    would end it."""
    import neo4j

    if not empty_graph.local:
        pytest.skip("LOAD CSV steps need the local server")
    auth = (empty_graph.username, empty_graph.password)
    ended = []
    locked = threading.Event()
    original = neo4j.Session.run

    def end_the_batch_waiting_for_a1():
        with neo4j.GraphDatabase.driver(empty_graph.uri, auth=auth) as driver, driver.session(database=empty_graph.database) as holder:
            tx = holder.begin_transaction()
            tx.run("MATCH (a:Account {accountId: 'a1'}) SET a.heldByTest = true").consume()
            locked.set()
            deadline = time.monotonic() + 30
            while not ended and time.monotonic() < deadline:
                blocked = driver.execute_query(
                    "SHOW TRANSACTIONS YIELD transactionId, outerTransactionId, status "
                    "WHERE outerTransactionId <> '' AND status STARTS WITH 'Blocked' RETURN transactionId",
                    database_=empty_graph.database,
                ).records
                for record in blocked:
                    driver.execute_query("TERMINATE TRANSACTION $id", id=record["transactionId"], database_=empty_graph.database)
                    ended.append(record["transactionId"])
                time.sleep(0.05)
            tx.rollback()

    holder = threading.Thread(target=end_the_batch_waiting_for_a1)

    def run(this, query, *args, **kwargs):
        text = str(query)
        if "LOAD CSV" in text and "SENT" in text and "ON ERROR CONTINUE" in text and holder.ident is None:
            holder.start()
            assert locked.wait(30)  # a1 is locked before the step's batches reach it
        return original(this, query, *args, **kwargs)

    monkeypatch.setattr(neo4j.Session, "run", run)
    summary = store.load(evidence_dir, connection=empty_graph, batch_size=1, via="csv", progress=Progress(show=True))
    monkeypatch.undo()
    holder.join()
    assert ended
    err = capsys.readouterr().err
    assert re.search(r"^accounts [a-z ()]+: 1 of \d+ rows were rolled back \(.*terminated.*\); writing them again$", err, re.MULTILINE), err
    counts = store.graph_counts(connection=empty_graph)
    assert {k: v for k, v in counts.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert summary.relationships_created == sum(v for k, v in counts.items() if k.isupper())


@pytest.mark.neo4j
@pytest.mark.parametrize("via", ["csv", "params"])
def test_a_session_that_fails_stops_the_load_with_its_own_error(empty_graph, evidence_dir, monkeypatch, via):
    """Relationships are written in two sessions at once: when one fails, the load stops with
    that failure (not the other session's ended statement), and loading again completes."""
    import neo4j

    if via == "csv" and not empty_graph.local:
        pytest.skip("LOAD CSV steps need the local server")
    failed = {"n": 0}

    def failing_on_sent(original):
        def run(this, query, *args, **kwargs):
            if "SENT" in str(query):
                failed["n"] += 1
                raise OSError("simulated: the disk is full")
            return original(this, query, *args, **kwargs)

        return run

    monkeypatch.setattr(neo4j.Session, "run", failing_on_sent(neo4j.Session.run))  # LOAD CSV
    monkeypatch.setattr(neo4j.ManagedTransaction, "run", failing_on_sent(neo4j.ManagedTransaction.run))  # parameters
    with pytest.raises(StoreError, match="simulated: the disk is full"):
        store.load(evidence_dir, connection=empty_graph, via=via)
    monkeypatch.undo()
    assert failed["n"] == 1
    store.load(evidence_dir, connection=empty_graph, via=via)
    counts = store.graph_counts(connection=empty_graph)
    assert {k: v for k, v in counts.items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS


def test_store_writes_use_managed_transactions():
    source = "".join(path.read_text(encoding="utf-8") for path in Path(store.__file__).parent.glob("*.py"))
    assert "session.execute_write(work)" in source and "session.execute_read(work)" in source


@pytest.mark.parametrize("uri_scheme", ["neo4j", "bolt"])
def test_cli_load_with_server_unreachable_is_one_line(tmp_path, uri_scheme):
    port = _free_port()
    evidence = write_evidence(tmp_path / "evidence")
    began = time.monotonic()
    done = _cli("load", str(evidence), env={"NEO4J_URI": f"{uri_scheme}://127.0.0.1:{port}", "NEO4J_PASSWORD": "not-used"})
    assert done.returncode == 4, done.stderr
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.startswith("graphsleuth: error:")]
    assert len(done.stderr.strip().splitlines()) == 1 and len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and f"127.0.0.1:{port}" in lines[0]
    assert time.monotonic() - began < 60


def test_cli_load_wrong_password_is_one_line(neo4j_connection, evidence_dir):
    done = _cli(
        "load", str(evidence_dir), env={"NEO4J_URI": neo4j_connection.uri, "NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": "wrong-password"}
    )
    assert done.returncode == 4 and "Traceback" not in done.stderr
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
        # Paused once it has written its accounts: the rest of the load is still to come.
        paused = Paused(loading, "accounts: ")
        _kill_local_server()
        killed = True
        paused.resume()  # against a dead server: it retries, then finishes once the server is back or fails in one line
        server.start()
        out, err = paused.wait()
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
        server.start()  # the session's server runs again whatever happened above
    assert killed
    store.load(population, connection=neo4j_connection)
    assert snapshot(neo4j_connection) == clean_graph


# --- Ctrl-C ----------------------------------------------------------------------------------------------------


def _interrupt_after_progress(proc: subprocess.Popen, marker: str) -> tuple[str, str]:
    """Pause ``proc`` once ``marker`` shows on its stderr, send SIGINT, resume it: (stdout, whole stderr)."""
    paused = Paused(proc, marker)
    assert not paused.finished
    return paused.resume(signal.SIGINT).wait()


#: The lines of the progress reporter when stderr is not a terminal: a finished step with its seconds,
#: or a counting step's progress.
_PROGRESS = re.compile(r"^graphsleuth: (.+ \(\d+\.\d s\)|.+: [\d,]+/[\d,]+( \(\d+\.\d s\))?)$")


def _only_progress_and(err: str, message: str) -> None:
    lines = err.strip().splitlines()
    others = [ln for ln in lines if not _PROGRESS.match(ln)]
    assert others == [message], err[-800:]
    assert "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_during_detect_leaves_no_output(population, tmp_path):
    out = tmp_path / "results" / "rings"
    proc = _popen("detect", str(population), "--out", str(out))
    _, err = _interrupt_after_progress(proc, "building the evidence graph")
    assert proc.returncode == 130
    _only_progress_and(err, "graphsleuth: interrupted; nothing was written")
    assert not out.exists()
    assert not out.parent.exists() or not [p for p in out.parent.iterdir() if ".partial." in p.name]


def _step_seconds(proc: subprocess.Popen, step: str, next_step: str) -> float:
    """How long ``proc`` took from its progress line holding ``step`` to the one holding ``next_step``."""
    began = None
    for line in proc.stderr:
        if step.encode() in line:
            began = time.monotonic()
        elif next_step.encode() in line and began is not None:
            took = time.monotonic() - began
            proc.communicate(timeout=180)
            return took
    raise AssertionError(f"no {step!r} then {next_step!r} (exit {proc.wait()})")


def _interrupted_inside(command, step: str, next_step: str, shares: list[float], before_each=None) -> Iterator[tuple[int, str, str]]:
    """Runs of ``command(attempt)`` sent Ctrl-C inside ``step``: (attempt, where, stderr) for each.

    The step's length (from its progress line to ``next_step``'s) is measured
    on one uninterrupted run first, ``command(-1)``. Each run is then paused ``share`` of that
    length into the step and interrupted only if it was still inside: a run
    that had finished or had written ``next_step`` is killed and not yielded.
    Every interrupted run must exit 130. ``before_each`` runs before each run.
    """
    if before_each:
        before_each()
    length = _step_seconds(_popen(*command(-1)), step, next_step)
    for attempt, share in enumerate(shares):
        if before_each:
            before_each()
        paused = Paused(_popen(*command(attempt)), step, after=share * length)
        if paused.finished or paused.wrote(next_step):
            paused.abandon()
            continue
        _, err = paused.resume(signal.SIGINT).wait()
        where = f"interrupted {share * length:.3f}s into {step!r} (of {length:.3f}s)"
        assert paused.proc.returncode == 130, f"{where}: exit {paused.proc.returncode}: {err[-800:]}"
        yield attempt, where, err


@pytest.mark.slow
def test_ctrl_c_during_leiden_is_clean(population, tmp_path):
    """Ctrl-C while the clusters are found (igraph's C code): exit 130, nothing written, never a crash.

    Each run is paused at the clustering step's start or some way into it (the
    step's length is measured on an uninterrupted run first), and interrupted
    only if it was still inside the step when it stopped: it had not written
    the next step's line. A run paused past the step is killed and not counted;
    at least three must have been interrupted inside the step.
    """

    def command(attempt: int) -> list[str]:
        return ["detect", str(population), "--out", str(tmp_path / f"rings-{attempt}")]

    inside = 0
    # A step's line is written when it ends: clustering runs from the graph's line to its own.
    for attempt, where, err in _interrupted_inside(
        command, "building the evidence graph", "finding clusters", [0.0, 0.2, 0.4, 0.6, 0.8] * 2
    ):
        _only_progress_and(err, "graphsleuth: interrupted; nothing was written")
        assert not (tmp_path / f"rings-{attempt}").exists() and not [p for p in tmp_path.iterdir() if ".partial." in p.name], where
        inside += 1
    assert inside >= 3, f"only {inside} runs could be paused inside the clustering step"


def test_interrupt_while_writing_leaves_nothing_or_the_previous_results(tmp_path, monkeypatch, evidence_dir):
    from graphsleuth import detect, export
    from graphsleuth.export import files

    findings = detect(evidence_dir)
    out = tmp_path / "rings"
    calls = {"n": 0}
    original = files.write_jsonl

    def interrupted(records, path):
        calls["n"] += 1
        original(records, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_jsonl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.write_findings(findings, out)
    leftovers = lambda: [p.name for p in tmp_path.iterdir() if ".partial." in p.name or ".old." in p.name]  # noqa: E731
    assert calls["n"] == 1 and not out.exists() and leftovers() == []

    monkeypatch.setattr(files, "write_jsonl", original)
    export.write_findings(findings, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(files, "write_jsonl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.write_findings(findings, out, format="parquet", force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # --force replaced nothing
    assert leftovers() == []


@pytest.mark.slow
@pytest.mark.neo4j
def test_ctrl_c_during_load_is_one_line_and_loading_again_completes(neo4j_connection, population, clean_graph):
    """Ctrl-C while the load prepares rows (pandas, pyarrow) or waits on the server: one line, exit 130.

    Paused as it finishes its last node step, or some way into its first
    relationship phase (two sessions at once, the server writing SENT for half
    of the accounts and the other relationships for the other half, the
    driver waiting for both replies); a run that had written SENT's first half
    too when it stopped is killed and not counted. Ctrl-C must end both
    sessions' statements. Loading again afterwards gives the clean graph.
    """
    if not neo4j_connection.local:
        pytest.skip("uses the local server's default connection in a subprocess")
    interrupted = 0
    for _attempt, _where, err in _interrupted_inside(
        lambda attempt: ["load", str(population)],
        "links (Phone): ",
        "accounts sent: ",
        [0.0, 0.0, 0.2, 0.4, 0.6, 0.8],
        before_each=lambda: store.clear(connection=neo4j_connection),
    ):
        _only_progress_and(err, "graphsleuth: interrupted; the graph may be partly loaded (load again to complete it)")
        interrupted += 1
    assert interrupted >= 3, f"only {interrupted} loads could be paused before they had written SENT"
    store.load(population, connection=neo4j_connection)
    assert snapshot(neo4j_connection) == clean_graph
