"""What several test modules share: a small evidence directory with one obvious ring, findings made by hand,
and where the repository and the test artifacts are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from graphsleuth.detection.findings import Cluster, Findings, Ring, SharedEvidence

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
#: Populations with ground truth that this project did not generate (read in place, never copied).
SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"


def cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m graphsleuth ARGS`` as a user would, and return what it did."""
    return subprocess.run(
        [sys.executable, "-m", "graphsleuth", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env or dict(os.environ),
        timeout=timeout,
    )


# --- a small evidence directory with one obvious ring ----------------------------------------
#
# a1 and a2 share card c1 (BIN 411111), device dev-1, template t1 and subnet 10.0.0.0/24:
# the ring. a3 shares only the BIN, a4 only the subnet, a5 only the template; a6 shares
# nothing. a4 and a5 form a cluster that detection looked at but did not flag.

ACCOUNTS = """account_id,created_at,email,country,plan
a1,2026-01-01T10:00:00Z,a1@mail.test,US,free
a2,2026-01-01T10:05:00Z,a2@mail.test,US,free
a3,2026-01-02T09:00:00Z,a3@mail.test,DE,pro
a4,,a4@mail.test,FR,
a5,2026-01-03T00:00:00Z,a5@mail.test,US,free
a6,2026-01-04T00:00:00Z,a6@mail.test,BR,team
"""
PAYMENTS = """account_id,payment_id,kind,bin
a1,c1,card,411111
a2,c1,card,411111
a3,c2,card,411111
a4,c3,card,522222
a5,p4,paypal,
a6,c6,card,633333
"""
IPS = """account_id,ip,first_seen,last_seen,requests
a1,10.0.0.1,2026-01-01T10:00:00Z,2026-01-02T10:00:00Z,5
a1,10.0.0.1,2026-01-03T10:00:00Z,2026-01-04T10:00:00Z,7
a2,10.0.0.2,2026-01-01T11:00:00Z,2026-01-02T10:00:00Z,3
a3,2001:db8::1,2026-01-02T12:00:00Z,,
a4,10.0.0.9,,,1
a6,192.0.2.7,2026-01-04T01:00:00Z,2026-01-04T02:00:00Z,2
"""
PROMPTS = """account_id,template_id,ts,count
a1,t1,2026-01-01T10:01:00Z,3
a1,t1,2026-01-01T11:01:00Z,2
a2,t1,2026-01-01T10:06:00Z,4
a3,t2,2026-01-02T10:08:00Z,1
a5,t1,2026-01-04T00:00:00Z,1
a6,t3,2026-01-04T01:30:00Z,9
"""
LINKS = """account_id,kind,value
a1,device,dev-1
a2,device,dev-1
a3,phone_number,+15550001
a6,device,dev-6
"""

#: What loading the evidence above must create.
EXPECTED_COUNTS = {
    "Account": 6,
    "PaymentMethod": 5,
    "Bin": 3,
    "IpAddress": 5,
    "Subnet": 3,
    "PromptTemplate": 3,
    "Link": 3,
    "Device": 2,
    "PhoneNumber": 1,
    "PAID_WITH": 6,
    "ISSUED_UNDER": 4,
    "CONNECTED_FROM": 5,
    "IN_SUBNET": 5,
    "SENT": 5,
    "LINKED_TO": 4,
}


def write_evidence(folder: Path) -> Path:
    """Write the small evidence directory into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("accounts", ACCOUNTS), ("payments", PAYMENTS), ("ips", IPS), ("prompts", PROMPTS), ("links", LINKS)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def make_findings(run_id: str = "run-1", rings=None, clusters=None) -> Findings:
    """Findings with ring R1 = {a1, a2} and the unflagged cluster K1 = {a4, a5}, unless told otherwise."""
    if rings is None:
        rings = [{"ring_id": "R1", "accounts": ["a1", "a2"], "score": 0.93}]
    if clusters is None:
        clusters = [{"cluster_id": "K1", "account_ids": ["a4", "a5"], "score": 0.21, "reason": "shares only common evidence"}]
    members = pd.DataFrame(
        [{"account_id": a, "ring_id": r["ring_id"], "score": r["score"]} for r in rings for a in r["accounts"]],
        columns=["account_id", "ring_id", "score"],
    )
    ring_records = [
        Ring(
            ring_id=r["ring_id"],
            size=len(r["accounts"]),
            score=r["score"],
            evidence={"cards": SharedEvidence(1, 1, ()), "device": SharedEvidence(1, 1, ()), "templates": SharedEvidence(1, 1, ())},
            created_from="2026-01-01T10:00:00Z",
            created_to="2026-01-01T10:05:00Z",
            creation_burst_share=1.0,
            requests=0,
            active_from=None,
            active_to=None,
            peak_day=None,
            features={},
            explanation=f"{len(r['accounts'])} accounts share one card, one device and one prompt template",
            run_id=run_id,
            algorithm="leiden",
            seed=7,
        )
        for r in rings
    ]
    cluster_records = [
        Cluster(
            cluster_id=r["ring_id"],
            size=len(r["accounts"]),
            score=r["score"],
            flagged=True,
            features={},
            account_ids=tuple(r["accounts"]),
            ring_id=r["ring_id"],
            reason="flagged",
        )
        for r in rings
    ] + [
        Cluster(
            cluster_id=c["cluster_id"],
            size=len(c["account_ids"]),
            score=c["score"],
            flagged=False,
            features={},
            account_ids=tuple(c["account_ids"]),
            ring_id=None,
            reason=c["reason"],
        )
        for c in clusters
    ]
    return Findings(members=members, rings=ring_records, clusters=cluster_records, run_id=run_id, algorithm="leiden", seed=7)


def shared_benchmark(name: str) -> Path:
    """The external population ``name`` in ../shared/benchmarks/, read in place.

    Beside this project's CI it is always there, and a missing one fails the test
    there (CI=true); on another machine the test is skipped with its reason.
    """
    import pytest

    folder = SHARED_BENCHMARKS / name
    if not folder.is_dir():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{folder} is missing: CI runs with shared/benchmarks/ beside the clone", pytrace=False)
        pytest.skip(f"{folder} is not on this machine (it sits beside this project's CI clone)")
    return folder


#: Headless Chromium's flags for the browser tests (Debian's chromium under chromedriver, no network chatter).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def headless_chromium(profile: str | Path, window: str, console_log: bool = False):
    """A headless Chromium (Debian's) under chromedriver with the profile folder ``profile`` and a window of
    ``window`` ("WIDTH,HEIGHT"); with ``console_log`` the page's console can be read (``get_log("browser")``)."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert shutil.which("chromium") and shutil.which("chromedriver"), "install Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in [*CHROMIUM_FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    return driver
