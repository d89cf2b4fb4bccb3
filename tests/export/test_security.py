"""Security: the local server is private and its password secret; exports can be pseudonymised; dependencies are audited by `make audit` (pip-audit; not in the suite, since its vulnerability services are unreachable here).

tests/test_server.py already checks, on a freshly started server, that it binds
127.0.0.1 only, that auth is on and that the password is never printed, logged
or put on a command line. Here: the same for the session's running server (its
java process's command line and environment), the pseudonymised exports, and
a pip-audit run that fails clearly when it cannot audit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from graphsleuth import server
from graphsleuth.errors import GraphsleuthError
from graphsleuth.export import pseudonymise_findings, pseudonymise_rejects
from graphsleuth.synth import generate

from helpers import make_findings

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "GRAPHSLEUTH_PSEUDONYM_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "graphsleuth", *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=180,
        cwd=REPO,
    )


# --- the running local server ---------------------------------------------------------------------------


@pytest.mark.neo4j
def test_running_server_is_private_and_keeps_its_password(neo4j_connection):
    if not neo4j_connection.local:
        pytest.skip("NEO4J_URI points at another server; tests/test_server.py covers the local one")
    pid = server.status().pid
    password = neo4j_connection.password
    assert len(password) >= 24
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert password.encode() not in cmdline and password.encode() not in environ
    assert b"NEO4J_PASSWORD" not in environ
    conf = (server.neo4j_home() / "conf" / "neo4j.conf").read_text()
    assert "dbms.security.auth_enabled=true" in conf and "server.default_listen_address=127.0.0.1" in conf
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout.splitlines()
    for port in (server.bolt_port(), server.http_port(), server.guide_port()):
        lines = [ln for ln in listening if f":{port} " in ln]
        assert lines and all(f"127.0.0.1:{port}" in ln or f"127.0.0.1]:{port}" in ln for ln in lines), lines
    # Without credentials Bolt refuses (auth is on).
    import neo4j

    with neo4j.GraphDatabase.driver(neo4j_connection.uri, auth=("neo4j", "not-the-password")) as driver:
        with pytest.raises(neo4j.exceptions.AuthError):
            driver.verify_connectivity()
    status = _cli("neo4j", "status")
    started = _cli("neo4j", "start")
    assert status.returncode == 0 and started.returncode == 0
    for done in (status, started):
        assert password not in done.stdout + done.stderr
    for log in (server.neo4j_home() / "logs").glob("*"):
        if log.is_file():
            assert password.encode() not in log.read_bytes(), log


# --- pseudonymised exports ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pseudo") / "evidence"
    generate("demo", seed=4, out=out, accounts=1_500)
    # One bad row per personal column, so --lenient writes them to rejects.csv.
    with open(out / "ips.csv", "a", encoding="utf-8") as fh:
        fh.write('"u0000001","999.1.2.3","2026-02-02T00:00:00Z","2026-02-03T00:00:00Z","1"\n')
    return out


def _personal_values(folder: Path) -> set[str]:
    """Emails, IPs, payment ids and link values (phones, devices) of the evidence."""
    values: set[str] = set()
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    values |= set(accounts["email"]) - {""}
    values |= set(pd.read_csv(folder / "payments.csv", dtype=str, keep_default_na=False)["payment_id"])
    values |= set(pd.read_csv(folder / "ips.csv", dtype=str, keep_default_na=False)["ip"])
    values |= set(pd.read_csv(folder / "links.csv", dtype=str, keep_default_na=False)["value"])
    return {v for v in values if len(v) >= 6}


def _output_text(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()) if p.suffix in (".csv", ".jsonl"))


@pytest.mark.slow
def test_pseudonymise_hides_personal_data_and_is_keyed(population, tmp_path):
    plain, first, second, other = (tmp_path / n for n in ("plain", "first", "second", "other"))
    assert _cli("detect", str(population), "--out", str(plain), "--lenient", "-q").returncode == 0
    for out, key in ((first, "key-one"), (second, "key-one"), (other, "key-two")):
        done = _cli(
            "detect", str(population), "--out", str(out), "--lenient", "--pseudonymise", "-q", env={"GRAPHSLEUTH_PSEUDONYM_KEY": key}
        )
        assert done.returncode == 0, done.stderr

    personal = _personal_values(population)
    plain_text = _output_text(plain)
    leaked_plain = {v for v in personal if v in plain_text}
    assert leaked_plain, "the plain export should show some cards/IPs/devices, or this test checks nothing"
    assert "999.1.2.3" in (plain / "rejects.csv").read_text()
    hidden = _output_text(first)
    assert not {v for v in leaked_plain if v in hidden}
    assert not {v for v in personal if v in hidden}
    assert "999.1.2.3" not in (first / "rejects.csv").read_text()

    # Same key -> same files; another key -> other pseudonyms; account ids and templates stay.
    for name in ("rings.jsonl", "members.csv", "clusters.jsonl", "rejects.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "rings.jsonl").read_text() != (other / "rings.jsonl").read_text()
    assert (first / "members.csv").read_bytes() == (plain / "members.csv").read_bytes()
    plain_rings = [json.loads(line) for line in (plain / "rings.jsonl").read_text().splitlines()]
    hidden_rings = [json.loads(line) for line in (first / "rings.jsonl").read_text().splitlines()]
    for a, b in zip(plain_rings, hidden_rings):
        assert a["evidence"]["templates"] == b["evidence"]["templates"] and a["evidence"]["bins"] == b["evidence"]["bins"]
        assert {k for k in b["evidence"]} == {k for k in a["evidence"]}
        for kind in set(a["evidence"]) - {"templates", "bins"}:
            for x, y in zip(a["evidence"][kind]["top"], b["evidence"][kind]["top"]):
                assert x["accounts"] == y["accounts"] and x["value"] != y["value"] and y["value"].count("_") >= 1


def test_pseudonymise_without_key_is_one_line_and_writes_nothing(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "accounts.csv").write_text("account_id,email\na1,a1@mail.test\na2,a2@mail.test\n")
    (evidence / "payments.csv").write_text("account_id,payment_id\na1,c1\na2,c1\n")
    out = tmp_path / "rings"
    done = _cli("detect", str(evidence), "--out", str(out), "--pseudonymise")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "graphsleuth: error: --pseudonymise needs a key in the environment variable GRAPHSLEUTH_PSEUDONYM_KEY"
    ]
    assert not out.exists()


def test_pseudonymise_covers_every_personal_evidence_kind():
    from dataclasses import replace

    from graphsleuth.detection.findings import SharedEvidence, SharedValue

    def shared(value, accounts):
        return SharedEvidence(1, 1, (SharedValue(value, accounts),))

    findings = make_findings()
    ring = replace(
        findings.rings[0],
        evidence={
            "cards": shared("4111-card", 3),
            "ips": shared("203.0.113.9", 3),
            "subnets": shared("203.0.113.0/24", 3),
            "phone_number": shared("+15550001", 2),
            "email": shared("x@mail.test", 2),
            "device": shared("fp_123", 2),
            "templates": shared("t1", 3),
            "bins": shared("411111", 3),
        },
    )
    findings = replace(findings, rings=[ring])
    hidden = json.dumps([r.to_dict() for r in pseudonymise_findings(findings, key=b"k").rings])
    for value in ("4111-card", "203.0.113.9", "203.0.113.0/24", "+15550001", "x@mail.test", "fp_123"):
        assert value not in hidden
    assert '"t1"' in hidden and '"411111"' in hidden
    assert ring.evidence["cards"].top[0].value == "4111-card"  # the input is not changed
    rejects = pd.DataFrame(
        {
            "file": ["accounts.csv", "ips.csv", "accounts.csv"],
            "row": [1, 2, 3],
            "column": ["email", "ip", "created_at"],
            "reason": ["r"] * 3,
            "value": ["x@y", "1.2.3.999", "soon"],
        }
    )
    shown = pseudonymise_rejects(rejects, key=b"k")["value"].tolist()
    assert shown[0] != "x@y" and shown[1] != "1.2.3.999" and shown[2] == "soon"
    os.environ.pop("GRAPHSLEUTH_PSEUDONYM_KEY", None)
    with pytest.raises(GraphsleuthError, match="GRAPHSLEUTH_PSEUDONYM_KEY"):
        pseudonymise_findings(findings)
