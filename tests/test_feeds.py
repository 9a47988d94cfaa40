"""Reservation feeds (issue #17): stays from calendars, where a failing feed locks nobody out.

Each scenario serves a calendar in a vendor's format from a real HTTP server on loopback and
runs the real CLI on the simulator, as a host's controller would meet it: the feed answers,
changes, breaks in one of the ways Rental Control's users report, or comes back.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner
from feedserver import FeedServer

NOW = "2026-12-01T12:00:00Z"
TOKEN = "s3cr3tT0kenAbc987"
PATH = f"/calendar/ical/4242.ics?s={TOKEN}"

CONFIG = """\
version: 1
provider: {kind: sim}
devices:
  entrance: {device_id: august_entrance}
  flat: {device_id: august_flat}
places:
  flat: {doors: [entrance, flat], timezone: Europe/Lisbon, check_in: "15:00", check_out: "11:00"}
sources:
  - name: flat-airbnb
    ical: ${AIRBNB_URL}
    place: flat
    confirm_drop_after: 30m
"""


def airbnb(*stays: tuple[str, date, date]) -> bytes:
    """An Airbnb export: a `Reserved` event per stay, with the reservation in DESCRIPTION,
    and one `Airbnb (Not available)` block."""
    events = []
    for code, check_in, check_out in stays:
        events.append(
            "BEGIN:VEVENT\r\n"
            f"DTSTAMP:20261201T080000Z\r\nDTSTART;VALUE=DATE:{check_in:%Y%m%d}\r\n"
            f"DTEND;VALUE=DATE:{check_out:%Y%m%d}\r\nSUMMARY:Reserved\r\n"
            f"UID:1418fb94e984-{code.lower()}@airbnb.com\r\n"
            "DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/"
            f"{code}\\nPhone Number (Last 4 Digits): 7391\r\nEND:VEVENT\r\n"
        )
    events.append(
        "BEGIN:VEVENT\r\nDTSTAMP:20261201T080000Z\r\nDTSTART;VALUE=DATE:20270301\r\n"
        "DTEND;VALUE=DATE:20270305\r\nSUMMARY:Airbnb (Not available)\r\n"
        "UID:1418fb94e984-block@airbnb.com\r\nEND:VEVENT\r\n"
    )
    return (
        "BEGIN:VCALENDAR\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\nCALSCALE:GREGORIAN"
        "\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n"
    ).encode()


TWO_STAYS = (
    ("HMBOB0000A", date(2026, 12, 3), date(2026, 12, 6)),
    ("HMCAROL00B", date(2026, 12, 10), date(2026, 12, 14)),
)


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.serve(PATH, airbnb(*TWO_STAYS))
        (tmp_path / "accesscodes.yaml").write_text(CONFIG)
        yield server


def env(feed: FeedServer) -> dict[str, str]:
    return {"AIRBNB_URL": feed.url(PATH)}


def plan(cli: CliRunner, feed: FeedServer, *extra: str, now: str = NOW) -> dict[str, Any]:
    shown = cli("plan", "--format", "json", "--now", now, *extra, env=env(feed))
    assert shown.code == 0, shown.output
    assert TOKEN not in shown.output
    return json.loads(shown.out)


def apply(cli: CliRunner, feed: FeedServer, now: str = NOW) -> str:
    done = cli("apply", "--auto-approve", "--now", now, env=env(feed))
    assert done.code == 0, done.output
    assert TOKEN not in done.output
    return done.out


def codes(tmp_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return {
        (device, c["name"]): c for device, lock in state["devices"].items() for c in lock["codes"]
    }


def writes(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["device"], c["name"], c["action"])
        for c in data["changes"]
        if c["action"] not in ("noop",) and not c["due_at"]
    ]


def test_a_feeds_bookings_become_stays_on_every_door_and_a_replan_is_empty(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    first = plan(cli, feed)
    assert sorted((c["device"], c["name"]) for c in first["changes"]) == [
        ("entrance", "HMBOB0000A"),
        ("entrance", "HMCAROL00B"),
        ("flat", "HMBOB0000A"),
        ("flat", "HMCAROL00B"),
    ]
    bob = next(c for c in first["changes"] if c["name"] == "HMBOB0000A")
    assert (bob["after"]["starts_at"], bob["after"]["ends_at"]) == (
        "2026-12-03T15:00:00Z",  # Lisbon is UTC in winter: 15:00 check-in
        "2026-12-06T11:00:00Z",
    )
    apply(cli, feed)
    on_lock = codes(tmp_path)
    assert (
        on_lock[("august_entrance", "HMBOB0000A")]["code"]
        == (on_lock[("august_flat", "HMBOB0000A")]["code"])
    )
    again = plan(cli, feed, "--detailed-exitcode")
    assert again["summary"]["create"] == again["summary"]["update"] == 0
    assert feed.requests[-1][1] is not None  # asked with its ETag: the answer was a 304


def test_a_booking_whose_check_out_moves_a_day_later_updates_the_same_codes_and_keeps_the_pin(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    apply(cli, feed)
    before = codes(tmp_path)
    feed.serve(PATH, airbnb((*TWO_STAYS[0][:2], date(2026, 12, 7)), TWO_STAYS[1]))
    assert writes(plan(cli, feed)) == [
        ("entrance", "HMBOB0000A", "update"),
        ("flat", "HMBOB0000A", "update"),
    ]
    apply(cli, feed)
    after = codes(tmp_path)
    for door in ("august_entrance", "august_flat"):
        old, new = before[(door, "HMBOB0000A")], after[(door, "HMBOB0000A")]
        assert (new["access_code_id"], new["code"]) == (old["access_code_id"], old["code"])
        assert new["ends_at"] == "2026-12-07T11:00:00Z"


def test_a_stay_cancelled_in_the_feed_loses_its_codes_at_the_next_reconcile(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    apply(cli, feed)
    feed.serve(PATH, airbnb(TWO_STAYS[1]))
    assert sorted(writes(plan(cli, feed))) == [
        ("entrance", "HMBOB0000A", "delete"),
        ("flat", "HMBOB0000A", "delete"),
    ]
    apply(cli, feed)
    assert {name for _, name in codes(tmp_path)} == set()  # Carol's are due on Dec 7
    later = plan(cli, feed)
    assert writes(later) == []
    assert {(c["name"], c["action"]) for c in later["changes"]} == {("HMCAROL00B", "create")}


@pytest.mark.parametrize(
    "breakage",
    ["error 500", "timeout", "empty 200", "html", "no stays left"],
)
def test_a_feed_that_breaks_removes_no_code_and_the_plan_warns(
    cli: CliRunner, tmp_path: Path, feed: FeedServer, breakage: str
) -> None:
    apply(cli, feed)
    before = codes(tmp_path)
    if breakage == "error 500":
        feed.fail(PATH, 500)
    elif breakage == "timeout":
        (tmp_path / "accesscodes.yaml").write_text(CONFIG + "    timeout: 1s\n")
        feed.hang(PATH, 3)
    elif breakage == "empty 200":
        feed.serve(PATH, b"")
    elif breakage == "html":
        feed.serve(PATH, b"<!doctype html><html><body>Sign in</body></html>", "text/html")
    else:
        feed.serve(PATH, airbnb())
    shown = plan(cli, feed)
    assert writes(shown) == []
    (warning,) = shown["warnings"]
    word = "held" if breakage == "no stays left" else "stale since 2026-12-01T12:00:00Z"
    assert warning.startswith(f"source flat-airbnb {word}"), warning
    text = cli("plan", "--now", NOW, env=env(feed))
    assert "Warning: source flat-airbnb" in text.output and TOKEN not in text.output
    apply(cli, feed)
    assert codes(tmp_path).keys() == before.keys()
    listed = cli("sources", env=env(feed))
    assert listed.code == 0 and TOKEN not in listed.output
    assert "flat-airbnb (flat, http://127.0.0.1:" in listed.out


def test_a_restart_while_the_feed_is_down_plans_from_the_kept_copy(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    apply(cli, feed)
    feed.fail(PATH, 503)
    (tmp_path / ".accesscodes" / "sim.json").unlink()  # the locks lost every code, too
    shown = plan(cli, feed)
    assert sorted(writes(shown)) == [
        ("entrance", "HMBOB0000A", "create"),
        ("flat", "HMBOB0000A", "create"),
    ]  # restored from the kept copy (Carol's are due later)
    assert shown["warnings"][0].startswith("source flat-airbnb stale since")


def test_a_feed_that_lost_its_stays_is_believed_after_the_same_answer_for_30_minutes(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    apply(cli, feed)
    feed.serve(PATH, airbnb())
    assert plan(cli, feed)["warnings"][0].startswith("source flat-airbnb held since")
    assert plan(cli, feed, now="2026-12-01T12:20:00Z")["warnings"]  # not yet
    confirmed = plan(cli, feed, now="2026-12-01T12:31:00Z")
    assert "warnings" not in confirmed
    assert {a for _, _, a in writes(confirmed)} == {"delete"}


def test_sources_accept_believes_a_held_answer_at_once(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    apply(cli, feed)
    feed.serve(PATH, airbnb())
    assert plan(cli, feed)["warnings"]
    accepted = cli("sources", "accept", "flat-airbnb", env=env(feed))
    assert accepted.code == 0, accepted.output
    assert {a for _, _, a in writes(plan(cli, feed))} == {"delete"}
    refused = cli("sources", "accept", "nope", env=env(feed))
    assert refused.code == 1 and "no source is called 'nope'" in refused.err


def test_a_feed_down_from_the_very_first_read_removes_nothing_on_its_doors(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        CONFIG.replace("places:", "settings: {prune: true}\nplaces:")
    )
    apply(cli, feed)  # Bob's and Carol's codes
    feed.fail(PATH, 500)
    (tmp_path / ".accesscodes" / "state.db").unlink()  # and the kept copy is lost
    shown = plan(cli, feed)
    assert shown["warnings"][0].startswith("source flat-airbnb has never been read")
    held = [c for c in shown["changes"] if c["name"] == "HMBOB0000A"]
    assert {c["action"] for c in held} == {"blocked"}  # prune would have deleted them
    assert all("has never been read" in c["reasons"][-1] for c in held)


def test_no_feed_token_is_kept_in_any_file(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    apply(cli, feed)
    cli("plan", "--now", NOW, "--out", "plan.json", env=env(feed))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def vrbo(*stays: tuple[str, date, date]) -> bytes:
    """A VRBO export: `Reserved - Name` or `Blocked`, no description."""
    events = "".join(
        "BEGIN:VEVENT\r\n"
        f"UID:{zlib.crc32(summary.encode())}-{check_in:%Y%m%d}@vrbo.com\r\n"
        "DTSTAMP:20261201T080000Z\r\n"
        f"DTSTART;VALUE=DATE:{check_in:%Y%m%d}\r\nDTEND;VALUE=DATE:{check_out:%Y%m%d}\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\n"
        for summary, check_in, check_out in stays
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//HomeAway.com, Inc.//EN\r\n"
        + events
        + "END:VCALENDAR\r\n"
    ).encode()


def booking(*stays: tuple[date, date]) -> bytes:
    """A Booking.com export: `CLOSED - Not available` for bookings and blocks alike."""
    events = "".join(
        "BEGIN:VEVENT\r\n"
        f"UID:{check_in:%Y%m%d}-{check_out:%Y%m%d}@admin.booking.com\r\n"
        f"DTSTAMP:20261201T080000Z\r\nDTSTART;VALUE=DATE:{check_in:%Y%m%d}\r\n"
        f"DTEND;VALUE=DATE:{check_out:%Y%m%d}\r\nSUMMARY:CLOSED - Not available\r\nEND:VEVENT\r\n"
        for check_in, check_out in stays
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//admin.booking.com//EN\r\n"
        + events
        + "END:VCALENDAR\r\n"
    ).encode()


CROSS_SYNCED = (
    CONFIG
    + """\
  - name: flat-vrbo
    ical: ${VRBO_URL}
    place: flat
  - name: flat-booking
    ical: ${BOOKING_URL}
    place: flat
    closed_are_stays: true
"""
)


def test_one_booking_cross_synced_between_three_feeds_gives_one_set_of_codes(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    """Bob booked on Airbnb (a block on VRBO and Booking.com); Dana on VRBO (a block on
    Airbnb's and a CLOSED on Booking.com's); Eve on Booking.com only."""
    (tmp_path / "accesscodes.yaml").write_text(CROSS_SYNCED)
    feed.serve(PATH, airbnb(TWO_STAYS[0]))
    feed.serve(
        "/vrbo.ics",
        vrbo(
            ("Blocked", date(2026, 12, 3), date(2026, 12, 6)),
            ("Reserved - Dana Park", date(2026, 12, 8), date(2026, 12, 11)),
        ),
    )
    feed.serve(
        "/booking.ics",
        booking(
            (date(2026, 12, 3), date(2026, 12, 6)),
            (date(2026, 12, 8), date(2026, 12, 11)),
            (date(2026, 12, 20), date(2026, 12, 22)),
        ),
    )
    urls = {**env(feed), "VRBO_URL": feed.url("/vrbo.ics"), "BOOKING_URL": feed.url("/booking.ics")}
    shown = cli("plan", "--format", "json", "--now", NOW, env=urls)
    assert shown.code == 0, shown.output
    names = sorted({c["name"] for c in json.loads(shown.out)["changes"]})
    assert len(names) == 3, names
    assert "HMBOB0000A" in names and "Dana Park" in names
    assert sum(1 for c in json.loads(shown.out)["changes"] if c["device"] == "entrance") == 3


PHONE = CONFIG.replace("    confirm_drop_after: 30m\n", "    code: phone_last4\n")


def test_phone_last4_gives_the_guest_their_phone_digits_where_every_door_takes_them(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(PHONE)
    apply(cli, feed)
    on_lock = codes(tmp_path)
    assert on_lock[("august_entrance", "HMBOB0000A")]["code"] == "7391"
    six = PHONE.replace("device_id: august_flat}", "device_id: nuki_flat}")
    (tmp_path / "accesscodes.yaml").write_text(six)
    (tmp_path / ".accesscodes").rename(tmp_path / "old-state")
    apply(cli, feed)
    fallback = codes(tmp_path)[("nuki_flat", "HMBOB0000A")]["code"]
    assert (
        len(fallback) == 6
        and fallback == codes(tmp_path)[("august_entrance", "HMBOB0000A")]["code"]
    )


TURNOVER = CONFIG.replace(
    'check_in: "15:00", check_out: "11:00"}',
    'check_in: "15:00", check_out: "11:00",\n'
    "         early_check_in: 1h, late_check_out: 30m,\n"
    "         turnover: {name: Cleaner, max: 6h}}",
)


def test_a_place_gives_early_check_in_late_check_out_and_its_cleaner_the_gaps(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(TURNOVER)
    shown = plan(cli, feed)
    windows = sorted(
        (c["name"], c["after"]["starts_at"], c["after"]["ends_at"])
        for c in shown["changes"]
        if c["device"] == "flat"
    )
    assert windows == [
        ("Cleaner", "2026-12-06T11:30:00Z", "2026-12-06T17:30:00Z"),  # 6 h after Bob
        ("Cleaner", "2026-12-14T11:30:00Z", "2026-12-14T17:30:00Z"),  # after Carol: 6 h max
        ("HMBOB0000A", "2026-12-03T14:00:00Z", "2026-12-06T11:30:00Z"),
        ("HMCAROL00B", "2026-12-10T14:00:00Z", "2026-12-14T11:30:00Z"),
    ]
    apply(cli, feed)
    cleaner = {c["code"] for (_, name), c in codes(tmp_path).items() if name == "Cleaner"}
    assert len(cleaner) <= 1  # one PIN for the cleaner (on the lock once programmed)


FIXTURES = Path(__file__).resolve().parent / "feeds"


@pytest.mark.parametrize(
    "fixture",
    [
        "airbnb.ics",
        "vrbo.ics",
        "vrbo_fr.ics",
        "hostaway.ics",
        "hospitable.ics",
        "generic_timed.ics",
    ],
)
def test_each_vendors_export_served_over_http_gives_stays(
    cli: CliRunner, tmp_path: Path, feed: FeedServer, fixture: str
) -> None:
    feed.serve(PATH, (FIXTURES / fixture).read_bytes())
    listed = cli("sources", "--now", NOW, env=env(feed))
    assert listed.code == 0, listed.output
    assert "flat-airbnb (flat, http://127.0.0.1:" in listed.out and ": fresh" in listed.out
    count = int(listed.out.split("stays: ")[1].split()[0])
    assert count >= 1, listed.out
    assert TOKEN not in listed.output


def test_html_instead_of_a_calendar_is_refused_and_said_so(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    feed.serve(PATH, (FIXTURES / "not_a_calendar.html").read_bytes(), "text/html")
    listed = cli("sources", "--now", NOW, env=env(feed))
    assert listed.code == 0, listed.output
    assert ": unread" in listed.out and "refused: the answer is not a calendar" in listed.out


def test_a_long_guest_name_is_cut_to_the_locks_name_limit_the_same_way_every_run(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    config = CONFIG.replace("device_id: august_flat}", "device_id: schlage_flat}")
    (tmp_path / "accesscodes.yaml").write_text(config)
    feed.serve(
        PATH, vrbo(("Reserved - Maximilian Oberhausen", date(2026, 12, 2), date(2026, 12, 5)))
    )
    apply(cli, feed)
    names = {(device, name) for device, name in codes(tmp_path)}
    assert ("schlage_flat", "Maximilia") in names  # a Schlage keeps 9 characters
    assert ("august_entrance", "Maximilian Oberhausen") in names
    assert writes(plan(cli, feed)) == []


def test_the_controller_keeps_codes_when_the_feed_fails_and_logs_it_without_the_token(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        CONFIG.replace("places:", "settings: {self_heal: full, prune: true}\nplaces:")
    )
    today = datetime.now(UTC).date()  # the controller runs on the real clock
    feed.serve(PATH, airbnb(("HMNOW0000Z", today, today + timedelta(days=3))))
    first = cli("controller", "--once", env=env(feed))
    assert first.code == 0, first.output
    before = codes(tmp_path)
    assert ("august_entrance", "HMNOW0000Z") in before, first.output
    feed.fail(PATH, 500)
    second = cli("controller", "--once", env=env(feed))
    assert second.code == 0, second.output
    assert '"event": "source_warning"' in second.output
    assert "source flat-airbnb stale since" in second.output
    assert TOKEN not in first.output + second.output
    assert codes(tmp_path).keys() == before.keys()


def test_a_feed_stay_the_host_also_wrote_by_hand_gives_one_set_of_codes(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    """The host typed Bob's stay before connecting the feed: the feed's copy of the same
    booking (overlapping, at the same place) is not a second stay."""
    written = CONFIG.replace(
        "sources:",
        "stays:\n  - {guest: Bob Smith, place: flat, check_in: 2026-12-03, check_out: 2026-12-06}\n"
        "sources:",
    )
    (tmp_path / "accesscodes.yaml").write_text(written)
    names = {c["name"] for c in plan(cli, feed)["changes"]}
    assert names == {"Bob Smith", "HMCAROL00B"}


def test_a_place_without_a_zone_reads_feed_dates_in_its_doors_zone_like_written_stays(
    cli: CliRunner, tmp_path: Path, feed: FeedServer
) -> None:
    config = CONFIG.replace(
        "  entrance: {device_id: august_entrance}",
        "  entrance: {device_id: august_entrance, timezone: Europe/Berlin}",
    ).replace(" timezone: Europe/Lisbon,", "")
    (tmp_path / "accesscodes.yaml").write_text(config)
    bob = next(c for c in plan(cli, feed)["changes"] if c["name"] == "HMBOB0000A")
    assert (bob["after"]["starts_at"], bob["after"]["ends_at"]) == (
        "2026-12-03T14:00:00Z",  # 15:00 in Berlin (UTC+1 in December)
        "2026-12-06T10:00:00Z",
    )
