"""The web app built once for the session; per module, one product stack serving it and Debian's
chromium driven by Playwright (never a downloaded browser); per test, a desktop or a phone page."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mentorpay.web_app import mount_web_app
from tests.support.live_stack import LiveStack, live_stack

WEB = Path(__file__).resolve().parents[2] / "web"
CHROMIUM = os.environ.get("MENTORPAY_CHROMIUM", "/usr/bin/chromium")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the browser tests")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def web_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vite = WEB / "node_modules" / ".bin" / "vite"
    _require(shutil.which("node") is not None and vite.exists(), "node and web/node_modules")
    dist = tmp_path_factory.mktemp("web") / "dist"
    subprocess.run(
        [str(vite), "build", "--outDir", str(dist), "--emptyOutDir", "--logLevel", "warn"],
        cwd=WEB,
        check=True,
        timeout=300,
    )
    return dist


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory, web_dist: Path) -> Iterator[LiveStack]:
    database = tmp_path_factory.mktemp("browser") / "mentorpay.db"

    def mount(app, container, sandbox_url):  # type: ignore[no-untyped-def]
        mount_web_app(app, container, sandbox_url, dist=web_dist)

    # A short confirm wait, so that a slow calendar shows the page's "still being booked".
    with live_stack(f"sqlite:///{database}", mount=mount, confirm_wait_seconds=2.0) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require(Path(CHROMIUM).exists(), f"{CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


class Steps:
    """Screenshots of each step, numbered, under the test's temporary folder."""

    def __init__(self, page: object, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


# The visitor's time zone on a desktop, unlike either mentor's; the phone is elsewhere again.
TIME_ZONE = "America/New_York"
PHONE_TIME_ZONE = "Asia/Tokyo"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def page(browser: Any, web_stack: LiveStack) -> Iterator[Any]:
    context = browser.new_context(timezone_id=TIME_ZONE, locale="en-US", base_url=web_stack.api_url)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser: Any, web_stack: LiveStack) -> Iterator[Any]:
    context = browser.new_context(
        **PHONE, timezone_id=PHONE_TIME_ZONE, locale="en-GB", base_url=web_stack.api_url
    )
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()
