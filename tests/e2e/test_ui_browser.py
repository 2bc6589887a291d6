"""The web UI in a real headless browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import TEST_DATA
from tests.integration.test_server_real import Server

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_chat_asks_for_the_region_then_answers_with_sources(project_kb):
    from playwright.sync_api import expect, sync_playwright

    server = Server(TEST_DATA).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{server.base}/ui/", wait_until="domcontentloaded")
            box = page.locator("#message textarea")
            box.wait_for(timeout=60_000)
            box.fill("EC2 cannot pull image from ECR")
            box.press("Enter")
            chat = page.locator("#chat")
            expect(chat).to_contain_text("which AWS region", timeout=120_000)
            box.fill("eu-west-1")
            box.press("Enter")
            expect(chat).to_contain_text("Sources", timeout=180_000)
            expect(chat).to_contain_text("aws_ecr.md")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "ui-chat.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
