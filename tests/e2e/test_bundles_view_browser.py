"""The Bundles view in a real Airflow and a real browser: ``make up``'s ``airflow
standalone`` (the same set-up code, on free ports, with the project's ``plugins/`` and no
DAGs) and headless Chromium from the Debian package (``make browser`` installs it).

Anonymous HTTP requests are refused; a person who logs in on Airflow's login page finds
"Bundles" in the UI's navigation, the view inside the UI and the view itself; the
screenshot of the view must not be blank.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from airflow_llm.embedded.airflow_local import airflow_process, prepare_metadata
from airflow_llm.embedded.config import EmbeddedConfig, free_port_block
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.embedded.services import EmbeddedServices
from tests.bundles_history import PIPELINE, History, write_history

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEV, STAGING = "browse_dev", "browse_staging"


@pytest.fixture(scope="module")
def chromium() -> Path:
    """The system's Chromium; missing, the test skips, or fails under CI=true."""
    if CHROMIUM.exists():
        return CHROMIUM
    why = f"no {CHROMIUM}: `make browser` installs Debian's chromium (as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def airflow(
    chromium: Path,
    fresh_config: Callable[[Path], EmbeddedConfig],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, History]]:
    """``airflow standalone`` as ``make up`` starts it, on its own S3 server holding a
    pipeline's history; yields its URL and that history."""
    ports = free_port_block(3)  # the API server's, and the scheduler's and triggerer's log servers
    config = replace(fresh_config(tmp_path / "state"), airflow_port=ports)
    monkeypatch.setenv("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", str(ports + 1))
    monkeypatch.setenv("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", str(ports + 2))
    project = tmp_path / "project"  # the project's plugins/, and no DAG to run
    (project / "dags").mkdir(parents=True)
    (project / "plugins").symlink_to(REPO_ROOT / "plugins")
    monkeypatch.delenv("AIRFLOW__CORE__UNIT_TEST_MODE")  # the tests' own Airflow set-up
    s3 = EmbeddedServices(config).s3()
    s3.start()
    server = airflow_process(REPO_ROOT / "airflow_settings.yaml", config, project / "dags")
    try:
        history = write_history(s3_client(config), config.bucket, DEV, STAGING, tmp_path / "w")
        prepare_metadata(REPO_ROOT / "airflow_settings.yaml", config, project / "dags")
        server.start()
        yield f"http://{config.host}:{config.airflow_port}", history
    finally:
        server.stop()
        s3.stop()


def test_a_person_logged_in_to_airflow_sees_the_bundles_view(
    airflow: tuple[str, History], chromium: Path, tmp_path: Path
) -> None:
    url, history = airflow
    for page in ("/bundles/", "/bundles/metrics", f"/bundles/{DEV}/{PIPELINE}"):
        assert httpx.get(url + page).status_code == 401, page

    home = tmp_path / "state" / "airflow"
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            log_in(page, url, password["admin"])
            page.get_by_role("link", name="Bundles").first.click()  # the UI's navigation
            page.wait_for_url(f"{url}/plugin/bundles")
            framed = page.frame_locator("iframe").first
            framed.get_by_role("heading", name="Bundles", exact=True).wait_for()
            assert framed.get_by_text(f"promoted from {DEV}").first.is_visible()
            page.screenshot(path=str(tmp_path / "airflow-ui.png"))  # for people, not checked

            page.goto(f"{url}/bundles/{DEV}/{PIPELINE}")
            assert page.get_by_text(history.v1).first.is_visible()
            screenshot = tmp_path / "bundles-view.png"
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    colors = pixel_colors(screenshot.read_bytes())
    most, count = Counter(colors).most_common(1)[0]
    assert len(set(colors)) > 16, "a page of text and tables has more than a few colors"
    assert count / len(colors) < 0.97, f"{count / len(colors):.1%} of the pixels are {most!r}"


def log_in(page: Page, url: str, password: str) -> None:
    """Log in as admin on the simple auth manager's login page."""
    page.goto(f"{url}/auth/login")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda landed: "/auth/login" not in landed)


def pixel_colors(png: bytes) -> list[bytes]:
    """Every pixel of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, position = {}, 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        body = png[position + 8 : position + 8 + length]
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color in (2, 6), interlace) == (8, True, 0), "an unexpected PNG layout"
    channels = 3 if color == 2 else 4
    stride = width * channels
    raw = zlib.decompress(chunks[b"IDAT"])
    pixels: list[bytes] = []
    previous = bytearray(stride)
    for row in range(height):
        kind = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up_left = previous[i - channels] if i >= channels else 0
            line[i] = (line[i] + _predictor(kind, left, previous[i], up_left)) & 0xFF
        pixels += [bytes(line[i : i + channels]) for i in range(0, stride, channels)]
        previous = line
    return pixels


def _predictor(kind: int, left: int, up: int, up_left: int) -> int:
    """PNG's filter predictors: none, sub, up, average, Paeth."""
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]
