"""The dashboard as people see it: Debian's Chromium, headless, driven by Playwright, during a real
run through the local host; its counts checked against the API, a cutover approved with its button,
the phase change seen on the page, and a screenshot kept (test-artifacts/dashboard.png)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from local.estate import tag_event
from shared.app.roles import KeyRole
from tests.e2e.driving import drive, estate_with
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]
ARTIFACTS = Path(os.environ.get("AZMIGRATE_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
# As the machine's notes advise for a closed network: no background connections, no sandbox as root.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Debian's chromium is missing: the test command's set-up installs it (apt-get install chromium)"
        )
    return found


def counts_match(page: Page, fleet: dict[str, object]) -> None:
    expect(page.locator("#total")).to_have_text(str(fleet["total"]))
    by_phase = fleet["by_phase"]
    assert isinstance(by_phase, dict)
    for phase, count in by_phase.items():
        expect(page.locator(f'[data-phase="{phase}"] .count')).to_have_text(str(count))
    expect(page.locator(".funnel-row")).to_have_count(len(by_phase))


def test_the_dashboard_shows_the_fleet_and_approves_a_cutover_in_chromium(estate_with):
    estate = estate_with(AZMIGRATE_CUTOVER_MODE="approval")
    first, second = (
        launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "dash"}) for _ in range(2)
    )
    for vm in (first, second):
        estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [first, second], {"ready_for_cutover"}, seconds=120)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: _keep_errors(message, problems))
        reader = estate.keys.roles[KeyRole.READER]
        page.goto(f"{estate.host.url}/api/dashboard?code={reader}&refresh=5")
        counts_match(page, estate.get("/api/fleet")[1])
        expect(page.locator("button.approve")).to_have_count(2)

        page.locator(f'button.approve[data-vm="{first}"]').click()  # no operator key yet
        expect(page.locator("#status")).to_have_text("type the operator key to approve")
        page.fill("#operator-key", estate.keys.roles[KeyRole.OPERATOR])
        page.locator(f'button.approve[data-vm="{first}"]').click()
        expect(page.locator(f'button.approve[data-vm="{first}"]')).to_have_text("approved")
        drive(estate, [first], {"done"}, seconds=120)
        expect(page.locator('[data-phase="done"] .count')).to_have_text("1", timeout=30_000)  # refreshed
        counts_match(page, estate.get("/api/fleet")[1])
        expect(page.locator("button.approve")).to_have_count(1)

        page.locator(f'a.vm[data-vm="{second}"]').click()
        expect(page.locator("#timeline-vm")).to_have_text(second)
        expect(page.locator("#timeline")).to_contain_text("ready_for_cutover")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        browser.close()
    assert problems == []
    approvals = [e for e in estate.get(f"/api/migrations/{first}")[1]["timeline"] if e["event"] == "approved"]
    assert [(e["actor"], e["reason"]) for e in approvals] == [("key:operator", "approved on the dashboard")]
    assert estate.record(second)["phase"] == "ready_for_cutover"


def _keep_errors(message: ConsoleMessage, problems: list[str]) -> None:
    if message.type == "error":
        problems.append(message.text)
