"""A real browser for the tests: headless Chromium (Debian's `chromium` and `chromium-driver`,
which `.ci/run` installs when missing) driven by selenium, one for the whole session.

Test modules load it with `pytest_plugins = ["browser"]` and take the `browser` fixture. The
helpers read what a person would see: console errors, each bar's drawn box next to its window,
the page's text and markup, how long the page took to load and draw, and a full-page
screenshot under `build/screenshots/` (or `$ACCESSCODES_SCREENSHOTS`) for a person to look at.

PYTEST_DONT_REWRITE: imported before pytest loads it as a plugin (see actionharness).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # A closed network makes the browser's own background calls slow or failing: none.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1400,1000",
)


def screenshot_dir() -> Path:
    """Where screenshots go (made if missing)."""
    folder = Path(os.environ.get("ACCESSCODES_SCREENSHOTS") or ROOT / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; its console log is kept (`goog:loggingPrefs`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, (
        f"the browser tests need {', '.join(missing)}: apt-get install chromium chromium-driver "
        "(.ci/run does)"
    )
    profile = tempfile.mkdtemp(prefix="accesscodes-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, url: str) -> list[dict[str, Any]]:
    """Load `url` and return the console's messages of level SEVERE (errors) it logged; the
    log is emptied first, so only this page's count."""
    driver.get_log("browser")
    driver.get(url)
    return [m for m in driver.get_log("browser") if m["level"] == "SEVERE"]


DRAWN = """
const svg = document.querySelector('svg.timeline');
const plot = svg.querySelector('rect.plot-bg').getBoundingClientRect();
const box = (el) => { const r = el.getBoundingClientRect(); return {x: r.x, width: r.width}; };
const now = svg.querySelector('g.now line');
return {
  from: svg.dataset.from, to: svg.dataset.to, now: svg.dataset.now,
  plot: {x: plot.x, width: plot.width},
  now_x: now ? now.getBoundingClientRect().x + now.getBoundingClientRect().width / 2 : null,
  rows: [...svg.querySelectorAll('g.row')].map(row => ({
    device: row.dataset.device,
    timezone: row.dataset.timezone,
    bars: [...row.querySelectorAll('g.bar')].map(bar => ({
      name: bar.dataset.name,
      kind: [...bar.classList].find(c => c.startsWith('k-')).slice(2),
      state: [...bar.classList].find(c => c.startsWith('s-')).slice(2),
      start: bar.dataset.start, end: bar.dataset.end,
      drift: bar.classList.contains('drift'),
      title: bar.querySelector(':scope > title').textContent,
      box: box(bar.querySelector('rect.span')),
      marks: [...bar.querySelectorAll('path.mark')].map(m => ({
        kind: [...m.classList].find(c => c.startsWith('m-')).slice(2),
        at: m.dataset.at, title: m.querySelector('title').textContent})),
    })),
  })),
};
"""


def drawn(driver: Any) -> dict[str, Any]:
    """The timeline as the browser drew it: the plot's box, each row's bars with their data
    and drawn boxes (screen pixels), and where the `now` line is."""
    return driver.execute_script(DRAWN)


def drawn_in_ms(driver: Any) -> float:
    """Milliseconds from the start of navigation until the page is loaded and its first
    frames drawn (two animation frames after the load event)."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const go = () => requestAnimationFrame(() => requestAnimationFrame("
        "() => done(performance.now())));"
        "if (document.readyState === 'complete') go(); else addEventListener('load', go);"
    )


def full_screenshot(driver: Any, name: str) -> Path:
    """A screenshot of the whole page (the window made as large as the document)."""
    width, height = driver.execute_script(
        "return [Math.max(document.documentElement.scrollWidth, 1000),"
        " document.documentElement.scrollHeight];"
    )
    driver.set_window_size(min(width + 20, 4000), min(height + 120, 8000))
    path = screenshot_dir() / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    return path


def at(text: str | None) -> datetime | None:
    """A JSON or data-attribute time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def check_geometry(picture: dict[str, Any], *, tolerance: float = 0.6) -> int:
    """Every bar's drawn box against its span on the axis (and the `now` line against now);
    returns how many bars were checked."""
    start, end = at(picture["from"]), at(picture["to"])
    plot = picture["plot"]
    seconds = (end - start).total_seconds()

    def x_of(moment: datetime) -> float:
        return plot["x"] + (moment - start).total_seconds() / seconds * plot["width"]

    count = 0
    for row in picture["rows"]:
        for bar in row["bars"]:
            s, e = at(bar["start"]), at(bar["end"])
            assert start <= s <= e <= end, bar
            width = max((e - s).total_seconds() / seconds * plot["width"], 3.0)
            where = f"{row['device']} / {bar['name']}"
            assert abs(bar["box"]["x"] - x_of(s)) < tolerance, where
            assert abs(bar["box"]["width"] - width) < tolerance, where
            count += 1
    now = at(picture["now"])
    if start <= now <= end:
        assert abs(picture["now_x"] - x_of(now)) < 1.0
    return count


def assert_no_secret(browser: Any, secrets: set[str]) -> None:
    """None of `secrets` in the page's source, its DOM as serialised, or its visible text."""
    texts = (
        browser.page_source,
        browser.execute_script("return document.documentElement.outerHTML"),
        browser.execute_script("return document.body.innerText"),
    )
    for secret in secrets:
        assert not any(secret in text for text in texts), "a PIN is in the page"


def sim_pins(folder: Path) -> set[str]:
    """Every PIN on the simulator's locks (those the planner generated included)."""
    state = json.loads((folder / ".accesscodes" / "sim.json").read_text())
    return {c["code"] for d in state["devices"].values() for c in d["codes"] if c.get("code")}
