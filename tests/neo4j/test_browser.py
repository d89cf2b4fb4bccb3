"""End to end: headless Chromium drives the real Neo4j Browser through the investigators' guide.

Needs Debian's chromium and chromium-driver (.ci/run installs them) and the
selenium package. The screenshot is kept in test-artifacts/browser-ring.png.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import pytest

from graphsleuth import server, store

from helpers import ARTIFACTS, headless_chromium, make_findings

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]


@pytest.fixture
def chromium():
    """A headless Chromium (Debian's) under chromedriver, with a fresh profile."""
    profile = tempfile.mkdtemp(prefix="graphsleuth-chromium-")
    driver = headless_chromium(profile, "1600,1100")
    _DRIVER[:] = [driver]
    try:
        yield driver
    finally:
        _DRIVER.clear()
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_DRIVER = []


def _wait(what: str, check, timeout: float = 45.0):
    """Poll ``check`` until it returns something true; on timeout keep a screenshot of the page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # the page is still changing under us
            value = None
        if value:
            return value
        time.sleep(0.25)
    if _DRIVER:
        ARTIFACTS.mkdir(exist_ok=True)
        _DRIVER[0].save_screenshot(str(ARTIFACTS / "browser-failure.png"))
    raise AssertionError(f"timed out waiting for {what}")


def _run_block(driver, text_start: str) -> None:
    """Click the guide's code block that starts with ``text_start`` (it fills the editor), then Run."""
    from selenium.webdriver.common.by import By

    def block():
        for pre in driver.find_elements(By.CSS_SELECTOR, "pre.runnable"):
            if (pre.get_attribute("textContent") or "").strip().startswith(text_start):
                return pre
        # Not on this slide: go to the guide's next slide and look again.
        for button in driver.find_elements(By.CSS_SELECTOR, "[data-testid='nextSlide']"):
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
            break
        return None

    pre = _wait(f"guide block {text_start!r}", block)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", pre)
    editor = driver.find_element(By.CSS_SELECTOR, "#monaco-main-editor, .monaco-editor")
    _wait("the editor to hold the block", lambda: text_start.split()[0] in editor.text.replace("\u00a0", " "))
    driver.find_element(By.CSS_SELECTOR, "[data-testid='editor-Run']").click()


def _clicked(element) -> bool:
    """Click ``element``; False while something else still lies on top of it."""
    from selenium.common.exceptions import ElementClickInterceptedException

    try:
        element.click()
    except ElementClickInterceptedException:
        return False
    return True


def test_guide_shows_a_ring_in_the_browser(empty_graph, chromium, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from helpers import write_evidence

    conn = empty_graph
    store.load(write_evidence(tmp_path / "evidence"), connection=conn)
    store.write_findings(make_findings("run-browser"), connection=conn)
    driver = chromium
    driver.get(server.browser_url() if conn.local else f"http://127.0.0.1:{server.http_port()}/browser/")

    # Connect with the project's credentials.
    password = _wait("the connect form", lambda: driver.find_element(By.CSS_SELECTOR, "input[data-testid='password']"))
    password.send_keys(conn.password)
    # A script click: the Browser's first-run banners sometimes lie over the button for a moment.
    driver.execute_script("arguments[0].click();", driver.find_element(By.CSS_SELECTOR, "button[data-testid='connect']"))
    _wait("the connection", lambda: "You are connected" in driver.find_element(By.TAG_NAME, "body").text)

    # Open the guide from the local guide server (localhost is on the Browser's allow-list).
    editor = driver.find_element(By.CSS_SELECTOR, "#monaco-main-editor, .monaco-editor")
    _wait("the editor to take a click", lambda: _clicked(editor))
    driver.switch_to.active_element.send_keys(f":play {server.guide_url()}", Keys.ENTER)
    _wait("the guide's first slide", lambda: "Rings of fake accounts" in driver.find_element(By.TAG_NAME, "body").text)

    _run_block(driver, ":style")
    _run_block(driver, ":param ringId")
    _wait("the ringId parameter", lambda: '"R1"' in driver.find_element(By.TAG_NAME, "body").text)
    _run_block(driver, "MATCH (r:Ring {ringId: $ringId})")

    # The ring's graph is drawn: captions R1 (the ring), a1 and a2 (its suspects), c1 (the shared card).
    def captions():
        texts = {(t.get_attribute("textContent") or "").strip() for t in driver.find_elements(By.CSS_SELECTOR, "svg text")}
        seen_texts[:] = sorted(texts)
        return texts if {"R1", "a1", "a2", "c1"} <= texts else None

    seen_texts: list[str] = []

    try:
        seen = _wait("the ring drawn as a graph", captions)
    except AssertionError:
        raise AssertionError(f"ring not drawn; captions seen: {seen_texts[:40]}") from None
    time.sleep(1.5)  # let the force layout settle for the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "browser-ring.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert "dev-1" in seen and "t1" in seen
