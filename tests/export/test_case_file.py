"""A ring's case file: one self-contained HTML page with the ring's graph, timeline, evidence, verdict and lineage.

The page is opened in headless Chromium (Debian's, driven as the Browser
guide's test drives it): it must draw the graph and the timeline with no
console error and load nothing from the network. The screenshot is kept in
test-artifacts/case-file.png.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time

import pandas as pd
import pytest

from graphsleuth import api

from helpers import ARTIFACTS, cli, headless_chromium


@pytest.fixture(scope="module")
def banned_run(tmp_path_factory):
    """Two weekly runs of a demo population; the largest ring banned after the first, its successors in the second."""
    folder = tmp_path_factory.mktemp("case")
    api.generate("demo", seed=5, accounts=2000, out=folder / "snaps", snapshots=2)
    api.detect(folder / "snaps" / "snapshot-1", folder / "run-1")
    first = [json.loads(line) for line in (folder / "run-1" / "rings.jsonl").read_text().splitlines()]
    largest = max(first, key=lambda r: r["size"])["ring_id"]
    api.verdict(folder / "run-1", largest, "banned", note="cards bought in bulk", by="fay")
    api.detect(folder / "snaps" / "snapshot-2", folder / "run-2", previous=folder / "run-1")
    return folder, largest


@pytest.fixture(scope="module")
def case_file(banned_run):
    folder, largest = banned_run
    page = folder / "case.html"
    assert api.report(folder / "run-2", page, ring=largest) == [largest]
    return page, largest


def test_the_case_file_holds_the_ring_its_verdict_lineage_successors_and_link_and_nothing_from_the_network(banned_run, case_file):
    folder, _ = banned_run
    page, ring_id = case_file
    text = page.read_text(encoding="utf-8")
    ring = next(json.loads(line) for line in (folder / "run-2" / "rings.jsonl").read_text().splitlines() if ring_id in line)
    assert f"Case file: ring {ring_id}" in text
    assert ring["explanation"].replace("'", "&#x27;") in text
    assert '<span class="verdict verdict-banned">banned</span>' in text and "by fay at" in text and "cards bought in bulk" in text
    added = ring["lineage"]["added"]
    assert f"grown: {added} account{'' if added == 1 else 's'} joined" in text
    successors = pd.read_csv(folder / "run-2" / "successors.csv", dtype=str)
    assert len(successors) > 0 and f"Successors since the ban ({len(successors):,})" in text
    assert ring["browser_link"].replace("&", "&amp;") in text
    # The graph names the ring's most shared BIN; both figures are inline SVG.
    top_bin = ring["evidence"]["bins"]["top"][0]["value"]
    graph = re.search(r'<figure class="ring-graph".*?</figure>', text, re.S).group(0)
    assert f">{top_bin}<" in graph
    assert text.count("<svg") == 2
    # Self-contained: no script, stylesheet, image or font is fetched from anywhere.
    assert not re.search(r"<(script|link|img|iframe)\b", text)
    assert not re.search(r"""(src|xlink:href)=["']https?:|url\(\s*["']?https?:""", text)


def test_report_refuses_what_it_cannot_do_in_one_line(banned_run, tmp_path):
    folder, largest = banned_run
    unknown = cli("report", str(folder / "run-2"), "--ring", "ring-nope", "--out", str(tmp_path / "x.html"))
    assert unknown.returncode == 1 and unknown.stderr.strip().endswith("no ring ring-nope in this run (see rings.jsonl)")
    both = cli("report", str(folder / "run-2"), "--ring", largest, "--top", "2", "--out", str(tmp_path / "x.html"))
    assert both.returncode == 2
    moved = tmp_path / "moved"
    shutil.copytree(folder / "run-2", moved)
    run = json.loads((moved / "run.json").read_text())
    (moved / "run.json").write_text(json.dumps({**run, "evidence": str(tmp_path / "gone")}))
    missing = cli("report", str(moved), "--out", str(tmp_path / "x.html"))
    assert missing.returncode == 3 and "run.json, column evidence: the run's evidence directory" in missing.stderr
    assert not (tmp_path / "x.html").exists()


@pytest.mark.slow
@pytest.mark.browser
def test_chromium_draws_the_graph_and_the_timeline_with_no_console_error(case_file):
    from selenium.webdriver.common.by import By

    page, ring_id = case_file
    profile = tempfile.mkdtemp(prefix="graphsleuth-chromium-")
    driver = headless_chromium(profile, "1400,2200", console_log=True)
    try:
        driver.get(page.resolve().as_uri())
        deadline = time.monotonic() + 20
        while driver.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
            time.sleep(0.1)
        sizes = {}
        for name in ("graph", "timeline"):
            svg = driver.find_element(By.CSS_SELECTOR, f"figure#{name}-{ring_id} svg")
            sizes[name] = svg.size
            assert svg.size["width"] > 600 and svg.size["height"] > 250, (name, svg.size)
        drawn = driver.execute_script(
            "return [document.querySelectorAll('figure.ring-graph svg path').length,"
            " document.querySelectorAll('figure.ring-timeline svg path').length]"
        )
        assert drawn[0] > 50 and drawn[1] > 20  # the edges and nodes; the bars and axes
        labels = {t.get_attribute("textContent").strip() for t in driver.find_elements(By.CSS_SELECTOR, "figure.ring-graph svg text")}
        assert {"account", "BIN", "template"} <= labels  # the legend, drawn as text
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "case-file.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 50_000
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
