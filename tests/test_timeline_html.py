"""`accesscodes timeline --format html|svg|mermaid`, looked at in a real browser (headless
Chromium, `tests/browser.py`): every code of the quickstart on its door, each bar where its
window says on the axis, hover texts in the door's zone, drift on the bar it concerns, no PIN
anywhere, names escaped, and the size and speed at 200 doors and 2,000 codes."""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bigfleet import plan_fleet, write_fleet
from browser import (
    assert_no_secret,
    at,
    check_geometry,
    drawn,
    drawn_in_ms,
    full_screenshot,
    open_page,
    sim_pins,
)
from conftest import CliRunner
from syrupy.assertion import SnapshotAssertion

from reconciler.core.plan import Drift, DriftKind
from reconciler.planning.timeline import DeviceTimeline, Entry, Kind, State, Timeline
from reconciler.views import labels
from reconciler.views.axis import MIN_LABEL_GAP
from reconciler.views.mermaid import task_name
from reconciler.views.page import timeline_page
from reconciler.views.picture import make_picture
from reconciler.views.svg import render_svg

pytest_plugins = ["browser"]
pytestmark = pytest.mark.timeout(300)

NOW = "2026-11-23T15:00:00Z"
PINS = ("482913", "639027")


def expected_spans(data: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """Per door, (name, start, end) of the span each code opens the door in the period, from
    the JSON timeline: from its window's start (never before it goes on the lock) to its end
    or pending removal, cut to the period."""
    start, end = at(data["from"]), at(data["to"])
    out: dict[str, list[tuple[str, str, str]]] = {}
    for device in data["devices"]:
        spans = []
        for code in device["codes"]:
            bounds = [t for t in (at(code["starts_at"]), at(code["programmed_from"])) if t]
            opens = max([start, *bounds])
            closes = min(at(code["ends_at"]) or end, end)
            if code["change"] == "delete" and code["due_at"]:
                closes = min(closes, at(code["due_at"]))
            spans.append((code["name"], _z(opens), _z(max(closes, opens))))
        out[device["device"]] = sorted(spans)
    return out


def spans_shown(picture: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """Per door, (name, start, end) of each bar the browser has."""
    return {
        row["device"]: sorted((b["name"], b["start"], b["end"]) for b in row["bars"])
        for row in picture["rows"]
    }


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def timeline_files(cli: CliRunner, folder: Path, tmp_path: Path, *args: str) -> dict[str, Any]:
    """The quickstart's timeline as HTML (a file) and JSON, at NOW and with `args`."""
    page = tmp_path / "t.html"
    command = ("timeline", "-c", str(folder), "--now", NOW)
    result = cli(*command, "--format", "html", "-o", str(page), *args)
    assert result.code == 0, result.output
    assert result.out == "" and "Wrote" in result.err
    data = cli(*command, "--format", "json", *args)
    assert data.code == 0, data.output
    return {"page": page, "json": json.loads(data.out)}


def test_quickstart_page_shows_every_code_on_its_door_at_its_hours(
    cli: CliRunner, quickstart: Path, tmp_path: Path, browser: Any
) -> None:
    files = timeline_files(cli, quickstart, tmp_path)
    source = files["page"].read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in source and "://" not in source and " src=" not in source
    assert open_page(browser, files["page"].as_uri()) == []
    # Self-contained: the browser fetched nothing beyond the file itself.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    picture = drawn(browser)
    data = files["json"]
    assert (picture["from"], picture["to"], picture["now"]) == (data["from"], data["to"], NOW)
    # A row per door, in the config's order, and on each the codes the timeline lists.
    assert [r["device"] for r in picture["rows"]] == [d["device"] for d in data["devices"]]
    assert spans_shown(picture) == expected_spans(data)
    assert check_geometry(picture) == sum(len(d["codes"]) for d in data["devices"]) == 7
    # Hover texts give each window at the door's hours, in the door's zone.
    for device, row in zip(data["devices"], picture["rows"], strict=True):
        zone = ZoneInfo(device["timezone"])
        assert row["timezone"] == device["timezone"] == "America/New_York"
        titles = [b["title"] for b in row["bars"]]
        for code in device["codes"]:
            hours = f"({device['timezone']})"
            if code["starts_at"]:
                hours = at(code["starts_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")
            assert any(t.startswith(code["name"]) and hours in t for t in titles), code
    bob = next(b for b in picture["rows"][0]["bars"] if b["name"] == "Guest Bob")
    assert "2026-12-01 15:00 → 2026-12-04 11:00 (America/New_York)" in bob["title"]
    assert bob["kind"] == "stay" and "goes on the lock 2026-11-28 15:00" in bob["title"]
    assert [m["kind"] for m in bob["marks"]] == ["programming"]
    assert bob["marks"][0]["at"] == "2026-11-28T20:00:00Z"  # 72 h ahead: August's native lead
    kinds = {b["name"]: b["kind"] for r in picture["rows"] for b in r["bars"]}
    assert kinds == {"Alice (resident)": "ongoing", "Cleaner": "recurring", "Guest Bob": "stay"}
    assert_no_secret(browser, set(PINS))
    assert full_screenshot(browser, "timeline-quickstart.png").stat().st_size > 10_000


def test_drift_is_drawn_on_the_bar_it_concerns(
    cli: CliRunner, quickstart: Path, tmp_path: Path, browser: Any
) -> None:
    assert cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve").code == 0
    tamper = ("sim", "tamper", "-c", str(quickstart))
    assert cli(*tamper, "change-pin", "august_front", "Alice (resident)").code == 0
    assert cli(*tamper, "add-unmanaged", "ultraloq_back", "Visitor").code == 0
    files = timeline_files(cli, quickstart, tmp_path)
    assert open_page(browser, files["page"].as_uri()) == []
    picture = drawn(browser)
    drifting = [(r["device"], b["name"]) for r in picture["rows"] for b in r["bars"] if b["drift"]]
    assert drifting == [("front-door", "Alice (resident)")]
    alice = next(b for b in picture["rows"][0]["bars"] if b["name"] == "Alice (resident)")
    assert "drift: modified_externally" in alice["title"]
    # Drift on a code with no bar (the unmanaged one) is noted on its door's row.
    notes = browser.execute_script(
        "return [...document.querySelectorAll('g.row')].map(r => {"
        " const n = r.querySelector('text.note');"
        " return [r.dataset.device, n ? n.textContent : null]; })"
    )
    assert notes[0][1] is None and notes[1][0] == "back-door" and "1 drift" in notes[1][1]
    assert "unmanaged_code: Visitor" in files["page"].read_text()
    check_geometry(picture)
    assert_no_secret(browser, sim_pins(quickstart) | set(PINS))
    full_screenshot(browser, "timeline-drift.png")


def test_from_and_to_zoom_in(
    cli: CliRunner, quickstart: Path, tmp_path: Path, browser: Any
) -> None:
    window = ("--from", "2026-11-24T05:00:00Z", "--to", "2026-11-25T05:00:00Z")
    files = timeline_files(cli, quickstart, tmp_path, *window)
    assert open_page(browser, files["page"].as_uri()) == []
    picture = drawn(browser)
    assert (picture["from"], picture["to"]) == ("2026-11-24T05:00:00Z", "2026-11-25T05:00:00Z")
    assert picture["now_x"] is None  # now is before the period: no line
    assert spans_shown(picture) == expected_spans(files["json"])
    assert check_geometry(picture) > 0
    cleaner = next(b for b in picture["rows"][1]["bars"] if b["name"] == "Cleaner")
    assert (cleaner["start"], cleaner["end"]) == ("2026-11-24T15:00:00Z", "2026-11-24T19:00:00Z")
    # A day is wide enough for hourly labels, in the doors' zone (New York: 00:00 is 05:00Z).
    ticks = browser.execute_script(
        "return [...document.querySelectorAll('g.tick')].map(t => [t.dataset.at, t.textContent])"
    )
    assert ["2026-11-24T05:00:00Z", "24 Nov"] in ticks and [
        "2026-11-24T17:00:00Z",
        "12:00",
    ] in ticks


def test_svg_is_the_picture_alone(
    cli: CliRunner, quickstart: Path, snapshot: SnapshotAssertion
) -> None:
    result = cli("timeline", "-c", str(quickstart), "--now", NOW, "--format", "svg")
    assert result.code == 0, result.output
    root = ET.fromstring(result.out)  # well-formed XML, so any viewer takes it
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in result.out and not any(pin in result.out for pin in PINS)
    bars = root.findall(".//{http://www.w3.org/2000/svg}g[@data-name]")
    assert len(bars) == 7
    assert result.out == snapshot


def test_mermaid_chart_for_github(
    cli: CliRunner, quickstart: Path, snapshot: SnapshotAssertion
) -> None:
    result = cli("timeline", "-c", str(quickstart), "--now", NOW, "--format", "mermaid")
    assert result.code == 0, result.output
    lines = result.out.splitlines()
    assert lines[:2] == ["```mermaid", "gantt"] and lines[-1] == "```"
    tasks = [line for line in lines if re.match(r"    [^ ].* :", line) and "section" not in line]
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    task = re.compile(
        rf"    [\w ()\-.,'&/+@*]+ :((done|active|crit|milestone), )?{stamp}, ({stamp}|0m)"
    )
    assert tasks and all(task.fullmatch(line) for line in tasks), tasks
    assert [line for line in lines if "section" in line] == [
        "    section front-door",
        "    section back-door",
    ]
    assert "    Guest Bob :active, 2026-12-01 15:00, 2026-12-04 11:00" in lines
    assert not any(pin in result.out for pin in PINS)
    assert result.out == snapshot
    # Nothing a name holds can end a task, the chart, or the code fence.
    assert task_name("Bob: ```x``` #1; %%y 482913", ["482913"]) == "Bob x 1 y ****"
    assert task_name("section 2") == "code section 2"


def _entry(name: str, kind: Kind, start: datetime, hours: float, **fields: Any) -> Entry:
    ends = start + timedelta(hours=hours) if hours else None
    fields.setdefault("state", State.ONGOING)
    return Entry(name=name, on_lock=True, starts_at=start, ends_at=ends, kind=kind, **fields)


def test_names_are_text_never_markup_and_pins_are_masked(tmp_path: Path, browser: Any) -> None:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    evil = "<script>window.pwned = 1</script>"
    img = '"><img src=x onerror="window.pwned = 2">'
    entries = (
        _entry(evil, Kind.STAY, now, 20),
        _entry(img, Kind.ONGOING, now, 0),
        _entry("Guest 482913", Kind.RECURRING, now + timedelta(days=1), 3),
        _entry(
            "Blocked one",
            Kind.OFFLINE,
            now + timedelta(days=2),
            24,
            state=State.BLOCKED,
            reasons=("refused: 482913 is weak",),
        ),
        _entry("Parcel", Kind.ONE_TIME, now + timedelta(days=3), 24),
    )
    device = DeviceTimeline("door <b>1</b>", "dev_1", "Europe/Lisbon", entries, None)
    timeline = Timeline(now, now, now + timedelta(days=7), (device,))
    drift = [Drift(device.device, evil, DriftKind.MODIFIED_EXTERNALLY, "<i>detail</i>")]
    picture = make_picture(timeline, drift=drift, pins=["482913"])
    page = tmp_path / "evil.html"
    svg = render_svg(picture)
    page.write_text(timeline_page(timeline, picture, svg, drift=drift, pins=["482913"]))
    assert open_page(browser, page.as_uri()) == []  # no CSP refusal either: nothing tried to run
    assert browser.execute_script("return window.pwned") is None
    markup = "return document.querySelectorAll('script, img, svg b, svg i, li i').length"
    assert browser.execute_script(markup) == 0
    assert "<i>detail</i>" in browser.execute_script("return document.body.innerText")
    shown = drawn(browser)
    names = [b["name"] for b in shown["rows"][0]["bars"]]
    assert names == [evil, img, "Guest ****", "Blocked one", "Parcel"]
    assert shown["rows"][0]["device"] == "door <b>1</b>"
    assert_no_secret(browser, {"482913"})
    # Each kind in its colour; a blocked code hatched.
    fills = browser.execute_script(
        "return [...document.querySelectorAll('g.bar rect.span')]"
        ".map(r => getComputedStyle(r).fill)"
    )
    rgb = {
        kind: "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))
        for kind, colour in labels.COLOURS.items()
    }
    assert fills[0] == rgb["stay"] and fills[1] == rgb["ongoing"] and fills[2] == rgb["recurring"]
    assert "url(" in fills[3] and fills[4] == rgb["one_time"]


def test_fifty_doors_over_sixty_days_stay_readable(tmp_path: Path, browser: Any) -> None:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    config, planned, _ = plan_fleet(
        write_fleet(tmp_path / "fleet", doors=50, codes_per_door=10, now=now), now
    )
    from reconciler.planning.timeline import build_timeline

    capabilities = {key: live.device.capabilities for key, live in planned.live.items()}
    wide = build_timeline(
        config.devices, planned.plan, capabilities, config.settings, end=now + timedelta(days=60)
    )
    places = {name: place.doors for name, place in config.places.items()}
    picture = make_picture(wide, places=places, pins=[])
    page = tmp_path / "wide.html"
    page.write_text(timeline_page(wide, picture, render_svg(picture)))
    assert open_page(browser, page.as_uri()) == []
    shown = drawn(browser)
    assert len(shown["rows"]) == 50 and shown["plot"]["width"] <= 2400
    assert check_geometry(shown) == sum(len(d.entries) for d in wide.devices)
    labels_at = browser.execute_script(
        "return [...document.querySelectorAll('g.tick text')].map(t => {"
        " const r = t.getBoundingClientRect(); return [r.x, r.right]; })"
    )
    assert len(labels_at) >= 8
    assert all(a[1] + 4 <= b[0] for a, b in itertools.pairwise(labels_at)), "labels overlap"
    rows = browser.execute_script(
        "return [...document.querySelectorAll('g.row')].map(r => {"
        " const bg = r.querySelector('rect.row-bg').getBoundingClientRect();"
        " const names = [...r.querySelectorAll('text.door, text.zone')].map(t =>"
        " t.getBoundingClientRect());"
        " return [bg.top, bg.bottom, names.map(n => [n.top, n.bottom])]; })"
    )
    for top, bottom, texts in rows:
        assert bottom - top >= 30 and all(top <= t <= b <= bottom for t, b in texts)
    groups = browser.execute_script("return document.querySelectorAll('text.place').length")
    assert groups == 50 // 4 + 1  # twelve places of four, and the two doors in none
    full_screenshot(browser, "timeline-50-doors-60-days.png")


def test_two_hundred_doors_two_thousand_codes_fit_and_draw_fast(
    tmp_path: Path, browser: Any
) -> None:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    config, planned, timeline = plan_fleet(
        write_fleet(tmp_path / "fleet", doors=200, codes_per_door=10, now=now), now
    )
    assert sum(len(d.codes) for d in config.devices) == 2000
    places = {name: place.doors for name, place in config.places.items()}
    picture = make_picture(timeline, places=places, drift=planned.plan.drift, pins=[])
    html = timeline_page(timeline, picture, render_svg(picture))
    assert len(html.encode()) < 2 * 1024 * 1024
    page = tmp_path / "fleet.html"
    page.write_text(html)
    assert open_page(browser, page.as_uri()) == []
    assert drawn_in_ms(browser) < 2000
    shown = drawn(browser)
    assert len(shown["rows"]) == 200
    assert check_geometry(shown) == sum(len(d.entries) for d in timeline.devices) >= 2000


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Lisbon", "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("days", [0.25, 1, 2.5, 7, 14, 21, 45, 60, 120, 365])
def test_the_axis_labels_fit_at_any_zoom_and_fall_on_local_hours(zone: str, days: float) -> None:
    # Across the spring-forward and fall-back nights of 2027 in New York and Lisbon.
    start = datetime(2027, 3, 13, 2, 30, tzinfo=UTC)
    for begin in (start, start + timedelta(days=230)):
        end = begin + timedelta(days=days)
        picture = make_picture(Timeline(begin, begin, end, ()), zone=zone)
        xs = [t.x for t in picture.ticks]
        assert xs and xs == sorted(xs)
        # A DST day is an hour short: its labels may close in by as much.
        gap = MIN_LABEL_GAP * 23 / 24
        assert all(b - a >= gap - 0.01 for a, b in itertools.pairwise(xs)), "labels overlap"
        local = ZoneInfo(zone)
        for tick in picture.ticks:
            wall = tick.at.astimezone(local)
            assert begin <= tick.at <= end and wall.minute == 0
            assert tick.day == (wall.hour == 0)
