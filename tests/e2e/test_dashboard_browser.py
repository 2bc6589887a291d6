"""The evaluation dashboard and the trace view in headless Chromium, on two real
`nanoscale eval --limit 3` runs of SmolLM2 (the second with shorter answers, so cases change)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_ui_browser import ARTIFACTS, CHROMIUM
from tests.integration.conftest import REPO, TEST_DATA, run_cli
from tests.integration.test_server_real import Server

pytestmark = pytest.mark.e2e
CASES = str(REPO / "data" / "eval" / "dev" / "cases.jsonl")


@pytest.fixture(scope="module")
def two_runs(project_kb, tmp_path_factory) -> Path:
    """A fresh data dir sharing the test data's models and knowledge base, with two eval runs."""
    data = tmp_path_factory.mktemp("dashboard")
    for shared in ("cache", "index"):
        (TEST_DATA / shared).mkdir(parents=True, exist_ok=True)
        (data / shared).symlink_to(TEST_DATA / shared)
    for tokens in ("48", "16"):
        done = run_cli(
            "eval", "--cases", CASES, "--limit", "3", "--json",
            timeout=600, NANOSCALE_DATA_DIR=str(data), NANOSCALE_MODEL_MAX_NEW_TOKENS=tokens,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((data / "runs").glob("eval-*/results.jsonl"))) == 2
    return data


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_dashboard_shows_runs_failures_trend_comparison_and_traces(two_runs):
    from playwright.sync_api import expect, sync_playwright

    server = Server(two_runs).start()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.base}/ui/", wait_until="domcontentloaded")
            page.get_by_role("tab", name="Evaluations").click()
            # The newest run is shown: rounded headline metrics with their intervals, three cases.
            expect(page.locator("#eval-headline")).to_contain_text("keyword coverage", timeout=60_000)
            expect(page.locator("#eval-headline")).to_contain_text("[")
            expect(page.locator("#eval-page")).to_contain_text("3 of 3 cases")
            expect(page.locator("#eval-cases")).to_contain_text("ecr-pull-01")
            page.screenshot(path=str(ARTIFACTS / "dashboard-cases.png"), full_page=True)

            # A failure, opened to its conversation, then to its trace in one click.
            page.locator("#eval-failures input").check()
            expect(page.locator("#eval-page")).to_have_text(re.compile(r"[1-3] of 3 cases"))
            expect(page.locator("#eval-cases")).to_contain_text(re.compile("keyword coverage 0|did not ask|unsupported"))
            page.locator("#eval-cases [data-testid=cell-0-0]").click()
            conversation = page.locator("#eval-conversation")
            expect(conversation).to_contain_text("Verdict", timeout=30_000)
            expect(conversation).to_contain_text("User:")
            expect(conversation).to_contain_text("Keywords missed")
            page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
            page.locator("#eval-open-trace").click()
            expect(page.locator("#trace-tree")).to_contain_text("generate", timeout=30_000)
            expect(page.locator("#trace-tree")).to_contain_text("slowest")
            page.screenshot(path=str(ARTIFACTS / "dashboard-case-trace.png"), full_page=True)

            page.get_by_role("tab", name="Evaluations").click()
            page.get_by_role("tab", name="By category").click()
            expect(page.locator("#eval-categories")).to_contain_text("aws", timeout=30_000)
            expect(page.locator("#eval-bar canvas, #eval-bar svg").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "dashboard-categories.png"), full_page=True)

            page.get_by_role("tab", name="Trend").click()
            expect(page.locator("#eval-trend-note")).to_contain_text("2 run(s)", timeout=30_000)
            expect(page.locator("#eval-trend canvas, #eval-trend svg").first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "dashboard-trend.png"), full_page=True)

            page.get_by_role("tab", name="Compare runs").click()
            expect(page.locator("#eval-compare-note")).to_contain_text("3 shared cases", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "dashboard-compare.png"), full_page=True)

            # The Traces tab: the eval's traces, newest first; clicking a row opens its tree.
            page.get_by_role("tab", name="Traces").click()
            expect(page.locator("#traces")).to_contain_text("needs_input", timeout=30_000)
            page.locator("#traces [data-testid=cell-0-1]").click()
            expect(page.locator("#trace-tree")).to_contain_text("nanoscale", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "traces.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
