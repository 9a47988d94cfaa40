"""The controller's status page at `/`, served by a real controller process on the simulator
and looked at in headless Chromium: sync and drift after a tamper, failures and retries, the
next changes due, the feeds and the unlocks, the timeline picture; who may read it (loopback,
or the bearer token); and a fleet of 200 doors and 2,000 codes."""

from __future__ import annotations

import asyncio
import shutil
import socket
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bigfleet import write_fleet
from browser import (
    assert_no_secret,
    check_geometry,
    drawn,
    drawn_in_ms,
    full_screenshot,
    open_page,
    sim_pins,
)
from conftest import EXAMPLES, CliRunner
from controllerproc import Running, reconciled

from reconciler.apply.run import open_journal
from reconciler.config.load import load_config
from reconciler.controller.loop import Controller
from reconciler.controller.statuspage import REFRESH_SECONDS, TOKEN_ENV, gather, refusal
from reconciler.core.plan import iso
from reconciler.state.eventlog import Unlock
from reconciler.views.status import render_status

pytest_plugins = ["browser"]
pytestmark = pytest.mark.timeout(300)

PINS = {"482913", "639027"}

PAGE = """
const rows = (sel) => [...document.querySelectorAll(sel + ' tbody tr')].map(
  tr => [...tr.children].map(td => td.textContent.trim()));
const card = (key) => document.querySelector('#card-' + key + ' b').textContent.trim();
return {
  cards: {sync: card('sync'), out: card('out'), drift: card('drift'), run: card('run'),
          next: card('next')},
  locks: rows('table.locks'), locks_ok: rows('table.locks-ok'),
  drift: rows('table.drift'), recent: rows('table.recent-drift'),
  failed: rows('table.failed'), due: rows('table.due'), sources: rows('table.sources'),
  unlocks: rows('table.unlocks'),
  failures: [...document.querySelectorAll('#failures + ul li')].map(li => li.textContent),
  refresh: document.querySelector('meta[http-equiv=refresh]').content,
  text: document.body.innerText,
};
"""


def nth_run(n: int) -> Callable[[dict[str, Any]], bool]:
    """Accepts the end of the n-th run (`Running.wait_for` reads the events from the start)."""
    ends: list[dict[str, Any]] = []

    def predicate(event: dict[str, Any]) -> bool:
        if reconciled(event):
            ends.append(event)
        return len(ends) == n

    return predicate


def look(browser: Any, running: Running) -> dict[str, Any]:
    """Load the page (no console error) and read what it shows."""
    assert open_page(browser, f"http://127.0.0.1:{running.port}/") == []
    return browser.execute_script(PAGE)


def test_a_tamper_shows_as_drift_on_the_page_after_one_reconcile(
    cli: CliRunner, quickstart: Path, browser: Any
) -> None:
    running = Running(quickstart, interval="1h")
    try:
        running.wait_for(nth_run(1))
        before = look(browser, running)
        assert before["refresh"] == str(REFRESH_SECONDS)
        assert before["drift"] == [] and "No drift in the last run." in before["text"]
        assert before["cards"]["drift"] == "0" and before["cards"]["run"] == "ok"
        assert sorted(row[0] for row in before["locks"] + before["locks_ok"]) == [
            "back-door",
            "front-door",
        ]
        tamper = ("sim", "tamper", "-c", str(quickstart))
        assert cli(*tamper, "change-pin", "august_front", "Alice (resident)").code == 0
        running.poke()
        running.wait_for(nth_run(2))  # one reconcile after the tamper
        after = look(browser, running)
        assert [row[:2] for row in after["drift"]] == [["modified_externally", "1"]]
        assert after["drift"][0][2].startswith("front-door / Alice (resident): ")
        assert [row[1:4] for row in after["recent"]] == [
            ["front-door", "Alice (resident)", "modified_externally"]
        ]
        assert after["cards"]["drift"] == "1"
        picture = drawn(browser)
        drifting = [
            (row["device"], bar["name"])
            for row in picture["rows"]
            for bar in row["bars"]
            if bar["drift"]
        ]
        assert drifting == [("front-door", "Alice (resident)")]
        assert check_geometry(picture) > 0
        assert_no_secret(browser, sim_pins(quickstart) | PINS)
        full_screenshot(browser, "status-quickstart.png")
    finally:
        assert running.stop() == 0


def test_failures_retries_and_the_next_changes_due(
    cli: CliRunner, quickstart: Path, browser: Any
) -> None:
    running = Running(quickstart, interval="1h")
    try:
        running.wait_for(nth_run(1))
        tamper = ("sim", "tamper", "-c", str(quickstart))
        assert cli(*tamper, "remove", "ultraloq_back", "Alice (resident)").code == 0
        assert cli(*tamper, "offline", "ultraloq_back").code == 0
        running.poke()
        running.wait_for(nth_run(2))
        page = look(browser, running)
        assert [row[1:5] for row in page["failed"]] == [
            ["back-door", "Alice (resident)", "create", "failed"]
        ]
        assert "offline" in page["failed"][0][5]
        assert any(item.startswith("back-door: its writes failed") for item in page["failures"])
        assert ["back-door", "out_of_sync"] in [row[:2] for row in page["locks"]]
        # The deferred changes, soonest first, at their doors' hours.
        due = page["due"]
        assert due and all(row[3] == "create" for row in due)
        assert all("America/New_York" in row[0] for row in due)
        assert [row[0][:16] for row in due] == sorted(row[0][:16] for row in due)
        assert page["cards"]["next"].startswith("in ")
        assert_no_secret(browser, sim_pins(quickstart) | PINS)
    finally:
        assert running.stop() == 0


def test_sources_freshness_and_recent_unlocks(tmp_path: Path, browser: Any) -> None:
    rentals = tmp_path / "rentals"
    shutil.copytree(EXAMPLES / "rentals", rentals, ignore=shutil.ignore_patterns(".accesscodes"))
    journal = open_journal(load_config(rentals), create=True)
    assert journal is not None
    opened = iso(datetime.now(UTC) - timedelta(hours=2)) or ""
    journal.events.record_unlock(
        "ev-1", Unlock(opened, "entrance", "august_entrance", "code_1", "Owner")
    )
    journal.close()
    running = Running(rentals, interval="1h")
    try:
        running.wait_for(nth_run(1))
        page = look(browser, running)
        sources = {row[0]: row for row in page["sources"]}
        assert set(sources) == {s.name for s in load_config(rentals).sources}
        assert all(row[2] == "fresh" and row[3].endswith("ago") for row in sources.values())
        assert page["unlocks"] == [[opened, "entrance", "Owner"]]
        groups = browser.execute_script(
            "return [...document.querySelectorAll('svg g.group')].map(g => g.dataset.place)"
        )
        assert groups == list(load_config(rentals).places)  # the timeline, grouped by place
    finally:
        assert running.stop() == 0


def _outward_address() -> str | None:
    """This machine's address on its way out (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # nothing is sent: it only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_beyond_loopback_the_page_needs_the_bearer_token(quickstart: Path) -> None:
    token = "s3cret-status-token"
    running = Running(quickstart, interval="1h", env={TOKEN_ENV: token}, listen_host="0.0.0.0")
    try:
        running.wait_for(nth_run(1))
        status, body = running.get("/")
        assert status == 401 and "token" in body and "Alice" not in body
        assert running.get("/", headers={"Authorization": "Bearer wrong"})[0] == 401
        status, body = running.get("/", headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and "accesscodes controller" in body
        assert running.get("/?" + urllib.parse.urlencode({"token": token}))[0] == 200
        assert running.get("/healthz") == (200, "ok\n")  # probes need no token
        outward = _outward_address()
        if outward is not None:
            assert running.get("/", host=outward)[0] == 401
            assert (
                running.get("/", host=outward, headers={"Authorization": f"Bearer {token}"})[0]
                == 200
            )
    finally:
        assert running.stop() == 0
    open_door = Running(quickstart, interval="1h", listen_host="0.0.0.0")
    try:
        open_door.wait_for(nth_run(1))
        assert open_door.get("/")[0] == 200  # from loopback: no token needed
        outward = _outward_address()
        if outward is not None:
            status, body = open_door.get("/", host=outward)
            assert status == 403 and TOKEN_ENV in body
    finally:
        assert open_door.stop() == 0


def test_who_may_read_the_page() -> None:
    token = "t0ken"
    assert refusal("127.0.0.1", None, None, "") is None
    assert refusal("::1", None, None, "") is None
    assert refusal("::ffff:127.0.0.1", None, None, "") is None
    assert refusal("192.0.2.7", None, None, "")[0] == 403
    assert refusal("::ffff:192.0.2.7", None, None, "")[0] == 403
    assert refusal(None, None, None, "")[0] == 403
    assert refusal("127.0.0.1", None, None, token)[0] == 401  # a token binds loopback too
    assert refusal("192.0.2.7", f"Bearer {token}", None, token) is None
    assert refusal("192.0.2.7", f"bearer {token}", None, token) is None
    assert refusal("192.0.2.7", "Bearer t0ke", None, token)[0] == 401
    assert refusal("192.0.2.7", None, token, token) is None
    assert refusal("192.0.2.7", "Basic dDBrZW4=", None, token)[0] == 401


def test_before_the_first_run_the_page_says_so(quickstart: Path) -> None:
    controller = Controller(quickstart, interval=60, emit=lambda record: None)
    page = render_status(asyncio.run(gather(controller)), refresh=REFRESH_SECONDS)
    assert "No run has finished yet." in page and "<svg" not in page


def test_two_hundred_doors_and_two_thousand_codes(tmp_path: Path, browser: Any) -> None:
    now = datetime.now(UTC)
    fleet = write_fleet(
        tmp_path / "fleet", doors=200, codes_per_door=10, now=now, self_heal="report"
    )
    running = Running(fleet, interval="1h")
    try:
        running.wait_for(nth_run(1), timeout=120)
        status, body = running.get("/")
        assert status == 200 and len(body.encode()) < 2 * 1024 * 1024
        page = look(browser, running)
        assert drawn_in_ms(browser) < 2000
        assert page["cards"]["sync"].endswith("of 200")
        picture = drawn(browser)
        assert len(picture["rows"]) == 200
        assert check_geometry(picture) >= 2000
    finally:
        assert running.stop() == 0
