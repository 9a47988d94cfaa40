"""Reservation feeds (issue #17): each channel's calendar export read into stays.

The fixtures in tests/feeds/ follow what each vendor really exports (PRODID, CRLF, folded
lines, DTSTAMP, UID): Airbnb's `Reserved` with its reservation URL and phone digits, VRBO's
`Reserved - Name` (in French on Abritel), Booking.com's `CLOSED - Not available`, two host
tools, a Google calendar with three kinds of times, an Apple calendar that repeats. Small
calendars written inline cover one rule each.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reconciler.sources.ical import FeedStay, NotACalendar, ParsedFeed, parse_feed

FEEDS = Path(__file__).parent / "feeds"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LISBON = ZoneInfo("Europe/Lisbon")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def parse(body: bytes, *, zone: ZoneInfo = LISBON, **options: Any) -> ParsedFeed:
    """A place in Lisbon with check-in at 15:00 and check-out at 11:00, unless told."""
    options.setdefault("check_in", time(15, 0))
    options.setdefault("check_out", time(11, 0))
    return parse_feed(body, zone=zone, now=NOW, **options)


def feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def calendar(
    *events: list[str], head: tuple[str, ...] = ("PRODID:-//Example//Tests 1.0//EN",)
) -> bytes:
    """A calendar of the given events' lines, CRLF as RFC 5545 writes it."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", *head]
    for props in events:
        lines += ["BEGIN:VEVENT", *props, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def event(
    *lines: str, uid: str = "e1@example.test", summary: str = "Reserved", dates: bool = True
) -> list[str]:
    """One event: a UID, a summary, 18 to 21 December (unless `dates` is False) and `lines`."""
    when = ["DTSTART;VALUE=DATE:20261218", "DTEND;VALUE=DATE:20261221"] if dates else []
    return [f"UID:{uid}", "DTSTAMP:20261201T080000Z", *when, f"SUMMARY:{summary}", *lines]


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall time in `zone`, as the UTC instant it is."""
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


# Airbnb


def test_an_airbnb_reservation_takes_the_places_times_its_code_and_phone_digits() -> None:
    parsed = parse(feed("airbnb.ics"))
    assert parsed.vendor == "airbnb"
    assert parsed.stays[0] == FeedStay(
        uid="1418fb94e984-3c9a1f0e7b2d4a6c8e1f3a5b7c9d0e2f@airbnb.com",
        reservation="HMQ4X2KZ8T",
        guest=None,
        phone_last4="4821",
        starts_at=datetime(2026, 12, 18, 15, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 27, 11, 0, tzinfo=UTC),
        all_day=True,
        summary="Reserved",
    )


def test_back_to_back_airbnb_stays_meet_on_the_check_out_day() -> None:
    first, second = parse(feed("airbnb.ics"), zone=NEW_YORK).stays
    assert first.ends_at == at(NEW_YORK, 2026, 12, 27, 11, 0)
    assert second.starts_at == at(NEW_YORK, 2026, 12, 27, 15, 0)
    assert (second.reservation, second.phone_last4) == ("HMB7N3PW2C", "0093")


def test_airbnbs_not_available_dates_are_blocks_not_stays() -> None:
    skipped = parse(feed("airbnb.ics")).skipped
    assert [s.reason for s in skipped] == ["a block (Airbnb (Not available)), not a stay"] * 2
    assert skipped[0].uid == "7f662ec65913-5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b@airbnb.com"


def test_an_airbnb_code_is_found_without_the_reservation_url() -> None:
    body = calendar(event("DESCRIPTION:Booked on Airbnb\\, code HMX7Y2Z9QA"))
    assert parse(body).stays[0].reservation == "HMX7Y2Z9QA"


# VRBO


def test_a_vrbo_booking_gives_the_guests_name() -> None:
    parsed = parse(feed("vrbo.ics"))
    assert parsed.vendor == "vrbo"
    assert [(s.guest, s.reservation, s.phone_last4) for s in parsed.stays] == [
        ("Jane Doe", None, None),
        ("Tomás García", None, None),
    ]
    assert parsed.stays[0].starts_at == datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
    assert [(s.summary, s.reason) for s in parsed.skipped] == [
        ("Blocked", "a block (Blocked), not a stay")
    ]


def test_a_vrbo_booking_in_french_gives_the_guests_name() -> None:
    parsed = parse(feed("vrbo_fr.ics"))
    assert parsed.vendor == "vrbo"
    assert [s.guest for s in parsed.stays] == ["Marie Dupont"]
    assert [s.reason for s in parsed.skipped] == ["a block (Bloqué), not a stay"]


@pytest.mark.parametrize(
    ("summary", "guest"),
    [
        ("Reservado - Lucía Fernández", "Lucía Fernández"),  # Spanish, Portuguese
        ("Reserviert - Jonas Müller", "Jonas Müller"),
        ("Gebucht: Jonas Müller", "Jonas Müller"),
        ("Prenotato – Giulia Bianchi", "Giulia Bianchi"),
        ("Gereserveerd - Sanne de Vries", "Sanne de Vries"),
        ("RÉSERVÉ : Élodie Martin", "Élodie Martin"),
        ("reserved - jane doe", "jane doe"),
    ],
)
def test_a_booking_in_the_guests_language_gives_the_guests_name(summary: str, guest: str) -> None:
    body = calendar(event(summary=summary), head=("PRODID:-//HomeAway.com, Inc.//EN",))
    assert [s.guest for s in parse(body).stays] == [guest]


@pytest.mark.parametrize(
    "summary", ["Bloqueado", "Bloqué", "Blockiert", "Bloccato", "Geblokkeerd", "BLOCKED"]
)
def test_a_block_in_the_guests_language_is_not_a_stay(summary: str) -> None:
    body = calendar(event(summary=summary), head=("PRODID:-//HomeAway.com, Inc.//EN",))
    parsed = parse(body)
    assert parsed.stays == ()
    assert parsed.skipped[0].reason == f"a block ({summary}), not a stay"


# Booking.com


def test_booking_coms_closed_events_are_not_stays_unless_the_source_says_so() -> None:
    parsed = parse(feed("booking.ics"))
    assert parsed.vendor == "booking"
    assert parsed.stays == ()
    assert len(parsed.skipped) == 2
    assert all("closed_are_stays" in s.reason for s in parsed.skipped)


def test_booking_coms_closed_events_are_stays_when_the_source_says_so() -> None:
    stays = parse(feed("booking.ics"), closed_are_stays=True).stays
    assert [(s.guest, s.reservation, s.phone_last4) for s in stays] == [(None, None, None)] * 2
    assert stays[0].uid == "0c7d2e5b9f1a4c3e8d6b2a0f9e7c5d31@booking.com"
    assert (stays[0].starts_at, stays[0].ends_at) == (
        datetime(2026, 12, 19, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 22, 11, 0, tzinfo=UTC),
    )


# Host tools


def test_a_host_tools_long_summary_gives_the_guest_and_the_code() -> None:
    parsed = parse(feed("hostaway.ics"))
    assert parsed.vendor == "hosttool"
    stay = parsed.stays[0]
    assert (stay.guest, stay.reservation) == ("Jane Doe", "HMABC12345")
    assert (stay.starts_at, stay.ends_at) == (
        datetime(2026, 12, 18, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 23, 11, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "summary", ["Reservation 12345", "Reservation #12345", "Booking 12345", "Booking: 12345"]
)
def test_a_host_tools_numbered_reservation_gives_its_number(summary: str) -> None:
    body = calendar(event(summary=summary), head=("PRODID:-//Smoobu GmbH//Calendar//EN",))
    stay = parse(body).stays[0]
    assert (stay.reservation, stay.guest) == ("12345", None)


def test_a_direct_booking_in_hostaways_feed_is_known_by_its_number() -> None:
    stay = parse(feed("hostaway.ics")).stays[1]
    assert (stay.summary, stay.reservation, stay.guest) == (
        "Reservation 48220015",
        "48220015",
        None,
    )


def test_a_host_tools_blocks_and_owner_stays_are_not_stays() -> None:
    skipped = parse(feed("hostaway.ics")).skipped
    assert [s.reason for s in skipped] == [
        "a block (Blocked), not a stay",
        "a block (Owner stay), not a stay",
    ]


def test_a_host_tools_timed_reservation_keeps_its_times_and_code() -> None:
    parsed = parse(feed("hospitable.ics"))
    assert parsed.vendor == "hosttool"
    jane, luca = parsed.stays
    assert (jane.guest, jane.reservation, jane.all_day) == ("Jane Doe", "HMZP4W7K2D", False)
    assert (jane.starts_at, jane.ends_at) == (
        at(NEW_YORK, 2026, 12, 19, 16, 0),
        at(NEW_YORK, 2026, 12, 22, 11, 0),
    )
    assert (luca.guest, luca.reservation) == ("Luca Rossi", "4123987756")


def test_helper_events_and_events_shorter_than_an_hour_are_not_stays() -> None:
    skipped = parse(feed("hospitable.ics")).skipped
    assert [(s.summary, s.reason) for s in skipped] == [
        ("Key handover", "30 min long: a helper event, not a stay"),
        ("Cleaning - Top Flat", "a helper event (Cleaning - Top Flat), not a stay"),
    ]


@pytest.mark.parametrize(
    ("summary", "kind"),
    [
        ("Check-in", "a helper event"),
        ("Check-out Jane Doe", "a helper event"),
        ("Cleaning", "a helper event"),
        ("Turnover", "a helper event"),
        ("Maintenance - boiler", "a helper event"),
        ("Owner stay", "a block"),
        ("Owner block", "a block"),
        ("Hold", "a block"),
        ("Blocked", "a block"),
        ("Not available", "a block"),
        ("Unavailable", "a block"),
        ("Closed", "a block"),
        ("Airbnb - Blocked", "a block"),
    ],
)
def test_a_host_tools_helper_events_are_not_stays(summary: str, kind: str) -> None:
    body = calendar(event(summary=summary), head=("PRODID:-//Guesty//Calendar Export//EN",))
    parsed = parse(body)
    assert parsed.stays == ()
    assert parsed.skipped[0].reason == f"{kind} ({summary}), not a stay"


def test_a_zero_length_event_is_not_a_stay() -> None:
    body = calendar(event("DTSTART:20261218T150000Z", "DTEND:20261218T150000Z", dates=False))
    assert parse(body).skipped[0].reason == "zero length"


def test_a_guests_name_is_found_after_a_code() -> None:
    body = calendar(event(summary="HMABC12345 - Jane Doe - 2 guests"))
    stay = parse(body).stays[0]
    assert (stay.guest, stay.reservation) == ("Jane Doe", "HMABC12345")


def test_a_guests_name_is_trimmed_and_cut_at_60_characters() -> None:
    name = "Maria " + "Anna " * 20 + "Silva"
    body = calendar(
        event(summary=f"Reserved -   {name}  "), head=("PRODID:-//HomeAway.com, Inc.//EN",)
    )
    guest = parse(body).stays[0].guest
    assert guest == " ".join(name.split())[:60].strip()
    assert guest is not None and len(guest) <= 60 and guest == guest.strip()


# Times


def test_a_time_in_utc_stays_that_instant_whatever_the_calendars_default_zone_says() -> None:
    anna = parse(feed("generic_timed.ics"), zone=BERLIN).stays[0]
    assert anna.guest == "Anna Berg"
    assert (anna.starts_at, anna.ends_at) == (
        datetime(2026, 12, 18, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 21, 10, 0, tzinfo=UTC),
    )


def test_a_time_with_a_tzid_is_read_in_that_zone() -> None:
    oliver = parse(feed("generic_timed.ics"), zone=BERLIN).stays[1]
    assert oliver.guest == "Oliver Smith"
    assert oliver.starts_at == at(NEW_YORK, 2026, 12, 22, 16, 0)


def test_a_floating_time_is_read_in_the_places_zone_not_the_calendars() -> None:
    chen = parse(feed("generic_timed.ics"), zone=BERLIN).stays[2]
    assert chen.guest == "Chen Wei"
    assert chen.starts_at == at(BERLIN, 2026, 12, 27, 15, 0)  # not Los Angeles' 15:00
    assert chen.starts_at == datetime(2026, 12, 27, 14, 0, tzinfo=UTC)


def test_a_generic_calendar_names_the_guest_only_when_the_summary_reads_as_a_name() -> None:
    parsed = parse(feed("generic_timed.ics"), zone=BERLIN)
    assert parsed.vendor == "generic"
    assert [s.guest for s in parsed.stays] == ["Anna Berg", "Oliver Smith", "Chen Wei", None]


def test_an_all_day_stay_over_the_march_dst_change_in_berlin_ends_at_11_local() -> None:
    body = calendar(event("DTSTART;VALUE=DATE:20270326", "DTEND;VALUE=DATE:20270329", dates=False))
    stay = parse(body, zone=BERLIN, check_in=time(16, 0), check_out=time(11, 0)).stays[0]
    assert stay.starts_at == datetime(2027, 3, 26, 15, 0, tzinfo=UTC)  # 16:00 winter time
    assert stay.ends_at == datetime(2027, 3, 29, 9, 0, tzinfo=UTC)  # 11:00 summer time
    assert stay.ends_at.astimezone(BERLIN).hour == 11


def test_a_check_in_time_lost_to_the_dst_jump_moves_past_the_gap() -> None:
    body = calendar(event("DTSTART;VALUE=DATE:20270328", "DTEND;VALUE=DATE:20270330", dates=False))
    stay = parse(body, zone=BERLIN, check_in=time(2, 30), check_out=time(11, 0)).stays[0]
    assert stay.starts_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert stay.starts_at.astimezone(BERLIN).time() == time(3, 30)


def test_an_all_day_event_without_dtend_lasts_one_day() -> None:
    body = calendar(event("DTSTART;VALUE=DATE:20261218", dates=False))
    stay = parse(body).stays[0]
    assert (stay.starts_at, stay.ends_at) == (
        datetime(2026, 12, 18, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 19, 11, 0, tzinfo=UTC),
    )


def test_every_time_returned_is_aware_utc() -> None:
    for path in sorted(FEEDS.glob("*.ics")):
        for stay in parse(path.read_bytes(), closed_are_stays=True).stays:
            assert stay.starts_at.tzinfo is UTC and stay.ends_at.tzinfo is UTC, path.name


# Repeats and dates


def test_a_repeating_stay_gives_each_occurrence_its_own_uid() -> None:
    parsed = parse(feed("repeating.ics"), zone=BERLIN)
    series = "6B1F0E2A-3C4D-4E5F-9A8B-7C6D5E4F3A2B"
    weekly = [s for s in parsed.stays if s.uid.startswith(series)]
    assert [s.uid for s in weekly] == [
        f"{series}@2026-11-06T16:00:00+00:00",
        f"{series}@2026-11-13T16:00:00+00:00",  # 20 November is an EXDATE
        f"{series}@2026-11-27T16:00:00+00:00",
        f"{series}@2026-12-04T16:00:00+00:00",  # moved to the 5th, named by its RECURRENCE-ID
    ]
    assert weekly[3].starts_at == at(BERLIN, 2026, 12, 5, 10, 0)
    assert [(s.uid, s.reason) for s in parsed.skipped] == [
        (f"{series}@2026-12-11T16:00:00+00:00", "cancelled")
    ]


def test_repeats_are_expanded_from_60_days_ago_to_the_horizon() -> None:
    yearly = "0F9E8D7C-6B5A-4948-8736-2514A3B2C1D0"

    def christmases(horizon: timedelta) -> list[str]:
        stays = parse(feed("repeating.ics"), zone=BERLIN, horizon=horizon).stays
        return [s.uid for s in stays if s.uid.startswith(yearly)]

    # Since 2020: 2025 is more than 60 days ago, 2027 after a year's horizon.
    assert christmases(timedelta(days=365)) == [f"{yearly}@2026-12-23"]
    assert christmases(timedelta(days=400)) == [f"{yearly}@2026-12-23", f"{yearly}@2027-12-23"]


def test_events_that_do_not_repeat_are_returned_whatever_their_dates() -> None:
    body = calendar(
        event("DTSTART;VALUE=DATE:20200105", "DTEND;VALUE=DATE:20200108", uid="old", dates=False),
        event("DTSTART;VALUE=DATE:20310105", "DTEND;VALUE=DATE:20310108", uid="far", dates=False),
    )
    assert [s.uid for s in parse(body).stays] == ["old", "far"]


def test_a_cancelled_event_is_skipped() -> None:
    parsed = parse(calendar(event("STATUS:CANCELLED")))
    assert parsed.stays == ()
    assert [(s.uid, s.reason) for s in parsed.skipped] == [("e1@example.test", "cancelled")]


def test_two_events_with_one_uid_are_told_apart_by_their_start() -> None:
    body = calendar(
        event("DTSTART;VALUE=DATE:20261218", "DTEND;VALUE=DATE:20261221", dates=False),
        event("DTSTART;VALUE=DATE:20261226", "DTEND;VALUE=DATE:20261228", dates=False),
    )
    uids = [s.uid for s in parse(body).stays]
    assert uids == ["e1@example.test@2026-12-18", "e1@example.test@2026-12-26"]


def test_an_event_without_a_uid_gets_one_from_its_dates() -> None:
    body = calendar(
        ["DTSTART;VALUE=DATE:20261218", "DTEND;VALUE=DATE:20261221", "SUMMARY:Reserved"]
    )
    first, again = parse(body).stays[0].uid, parse(body).stays[0].uid
    assert first == again == "no-uid:20261218/20261221"


# Whole bodies


def test_html_instead_of_a_calendar_is_refused() -> None:
    with pytest.raises(NotACalendar, match="looks like HTML") as refused:
        parse(feed("not_a_calendar.html"))
    assert "expired" not in str(refused.value)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b" \r\n\t\r\n", "empty"),
        (b'{"error": "invalid token SECRET-7781"}', "JSON"),
        (b"Error 503 SECRET-7781: try again later", "does not start with BEGIN:VCALENDAR"),
        (calendar(event())[:-40], "truncated"),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
            b"SECRET-7781 not a content line\r\nEND:VCALENDAR\r\n",
            "cannot parse",
        ),
    ],
    ids=["empty", "whitespace", "json", "text", "truncated", "garbage-inside"],
)
def test_a_body_that_is_not_a_calendar_is_refused_without_quoting_it(
    body: bytes, says: str
) -> None:
    with pytest.raises(NotACalendar, match=says) as refused:
        parse(body)
    assert "SECRET" not in str(refused.value)
    assert refused.value.__cause__ is None


def test_an_empty_calendar_is_not_an_error() -> None:
    parsed = parse(feed("empty_calendar.ics"))
    assert parsed == ParsedFeed(stays=(), skipped=(), events=0, vendor="airbnb")


def test_a_byte_order_mark_and_bare_line_feeds_are_read() -> None:
    body = b"\xef\xbb\xbf" + calendar(event()).replace(b"\r\n", b"\n")
    assert [s.uid for s in parse(body).stays] == ["e1@example.test"]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["DTEND;VALUE=DATE:20261221"], "no DTSTART"),
        (["DTSTART;VALUE=DATE:20261221", "DTEND;VALUE=DATE:20261218"], "DTEND before DTSTART"),
        (["DTSTART:20261221T150000Z", "DTEND:20261218T110000Z"], "DTEND before DTSTART"),
        (["DTSTART;TZID=Mars/Olympus:20261218T150000"], "unknown TZID (Mars/Olympus)"),
        (["DTSTART:2026XX18"], "DTSTART cannot be read"),
        (["DTSTART;VALUE=DATE:20261218", "DTEND:20261221T110000Z"], "a date but DTEND a date-time"),
        (["DTSTART;VALUE=DATE:20261218", "DTEND;VALUE=DATE:20261218"], "zero length"),
    ],
)
def test_one_odd_event_is_skipped_and_the_rest_are_read(lines: list[str], reason: str) -> None:
    body = calendar(event(*lines, uid="odd", dates=False), event(uid="fine"))
    parsed = parse(body)
    assert [s.uid for s in parsed.stays] == ["fine"]
    assert parsed.skipped[0].uid == "odd"
    assert reason in parsed.skipped[0].reason


def test_a_repeat_rule_that_cannot_be_expanded_is_skipped_with_its_moved_occurrences() -> None:
    body = calendar(
        event("RRULE:FREQ=SOMETIMES;COUNT=3", uid="odd"),
        event("RECURRENCE-ID;VALUE=DATE:20261225", uid="odd"),
        event(uid="fine"),
    )
    parsed = parse(body)
    assert [s.uid for s in parsed.stays] == ["fine"]
    assert [(s.uid, s.reason) for s in parsed.skipped] == [
        ("odd", "its repeat rule cannot be expanded"),
        ("odd@2026-12-25", "its repeat rule cannot be expanded"),
    ]
    assert parsed.events == 3


@pytest.mark.parametrize(
    "rule", ["FREQ=MINUTELY", "FREQ=HOURLY;COUNT=48", "FREQ=DAILY;BYHOUR=9,21"]
)
def test_an_event_repeating_more_often_than_daily_is_not_a_stay(rule: str) -> None:
    body = calendar(
        event("DTSTART:20261201T100000Z", "DTEND:20261201T110000Z", f"RRULE:{rule}", dates=False)
    )
    parsed = parse(body)
    assert parsed.stays == ()
    assert [s.reason for s in parsed.skipped] == ["it repeats more often than daily: not a stay"]


@pytest.mark.parametrize("name", sorted(p.name for p in FEEDS.glob("*.ics")))
def test_every_event_seen_is_a_stay_or_skipped(name: str) -> None:
    parsed = parse(feed(name), zone=BERLIN)
    assert len(parsed.stays) + len(parsed.skipped) == parsed.events


@pytest.mark.parametrize(
    ("head", "events", "vendor"),
    [
        (("PRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN",), [event()], "airbnb"),
        ((), [event(uid="1418fb94e984-abc@airbnb.com")], "airbnb"),
        ((), [event(summary="CLOSED - Not available", uid="x@booking.com")], "booking"),
        ((), [event(summary="Reserved - Jane Doe")], "vrbo"),
        (("PRODID:-//OwnerRez//Calendar Export//EN",), [event()], "hosttool"),
        ((), [event(summary="Reservation #4521")], "hosttool"),
        (
            ("PRODID:-//Google Inc//Google Calendar 70.9054//EN",),
            [event(summary="Anna")],
            "generic",
        ),
    ],
    ids=[
        "airbnb-prodid",
        "airbnb-uid",
        "booking-words",
        "vrbo-words",
        "tool-prodid",
        "tool-words",
        "generic",
    ],
)
def test_the_vendor_is_told_by_prodid_else_by_the_events(
    head: tuple[str, ...], events: list[list[str]], vendor: str
) -> None:
    assert parse(calendar(*events, head=head)).vendor == vendor


def test_a_naive_now_is_a_mistake_of_the_caller_not_of_the_feed() -> None:
    with pytest.raises(ValueError, match="aware") as refused:
        parse_feed(
            feed("airbnb.ics"),
            zone=LISBON,
            check_in=time(15),
            check_out=time(11),
            now=datetime(2026, 12, 1, 12, 0),
        )
    assert not isinstance(refused.value, NotACalendar)
