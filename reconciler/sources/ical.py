"""Reservation calendars (iCalendar feeds) read into stays: the pure parser, no network.

A channel's calendar export is the one thing every host can hand over: Airbnb, VRBO,
Booking.com and the host tools all publish one. `parse_feed` reads one body into `FeedStay`s
(aware UTC times, and the reservation code, guest name and phone digits the feed gives) and
lists every event it did not take with its reason (`SkippedEvent`), so a host can see why a
guest got no code. It knows nothing of config, fetching or caching: the caller passes the
place's zone and times, and decides what to trust (a sudden empty calendar, say).

    ValueError
    └── NotACalendar    the whole body is not a calendar (an HTML login page, JSON, a
                        truncated download, nothing): the feed is not applied

One odd event (no DTSTART, DTEND before DTSTART, an unknown TZID, a repeat rule that cannot
be expanded) never raises: it is skipped with its reason.

Times, the rules a lock's window follows:

- An all-day event (`DTSTART;VALUE=DATE`) starts on its first day at the place's check-in
  and ends on its DTEND day (iCalendar's exclusive end: the check-out day, as Airbnb and VRBO
  export) at check-out, in the place's zone; no DTEND means one day. A wall time lost to a
  DST jump moves past the gap (fold=0, then a round trip through UTC).
- A timed event keeps its instants: a `Z` time is that UTC instant whatever X-WR-TIMEZONE
  says, a TZID is honoured, a floating time (no `Z`, no TZID) is read in the place's zone.
- A repeating event (RRULE, RDATE) is expanded by recurring_ical_events from 60 days before
  `now` to `now + horizon`; each occurrence is its own stay, with uid `UID@<start ISO>`.
  Other events are all returned whatever their dates: the caller filters by time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events  # type: ignore[import-untyped]  # no py.typed (3.8)
from icalendar import Calendar, Component

from reconciler.sources.formats import classify, detect_vendor

PAST = timedelta(days=60)
"""How far back a repeating event is expanded: a stay that began before `now` still counts."""

SHORTEST_STAY = timedelta(hours=1)
"""A timed event shorter than this is a helper (a check-in slot, a key hand-over), not a stay."""

_DAY = timedelta(days=1)
_TOO_OFTEN = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})


class NotACalendar(ValueError):
    """The body is not an iCalendar (HTML, JSON, truncated, empty): the feed is not applied."""


@dataclass(frozen=True)
class FeedStay:
    """One stay a feed gives: who (as far as the feed says), and when, in UTC.

    `uid` is the event's UID (for a repeating event, `UID@<start ISO>`), the stay's identity
    from one fetch to the next; `reservation`, `guest` and `phone_last4` are None where the
    feed does not give them (Airbnb hides the name, Booking.com everything).
    """

    uid: str
    reservation: str | None
    guest: str | None
    phone_last4: str | None = field(repr=False)  # may become the guest's PIN
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    summary: str


@dataclass(frozen=True)
class SkippedEvent:
    """An event the feed has that is not a stay, with why: a host reads these."""

    uid: str
    summary: str
    reason: str


@dataclass(frozen=True)
class ParsedFeed:
    """What one feed says: its stays (by start), what it skipped, and who wrote it.

    `events` counts the VEVENTs seen, repeats expanded, so that stays + skipped add up.
    """

    stays: tuple[FeedStay, ...]
    skipped: tuple[SkippedEvent, ...]
    events: int
    vendor: str


@dataclass(frozen=True)
class _Reader:
    """What reading one event needs besides the event: the place and the source's options."""

    zone: ZoneInfo
    check_in: time
    check_out: time
    vendor: str
    closed_are_stays: bool


class _OddEvent(Exception):
    """One event cannot be read (its times): it is skipped, with str(this) as the reason."""


def parse_feed(
    body: bytes,
    *,
    zone: ZoneInfo,
    check_in: time,
    check_out: time,
    closed_are_stays: bool = False,
    now: datetime,
    horizon: timedelta = timedelta(days=365),
) -> ParsedFeed:
    """Read one calendar export into stays and skipped events; see the module's rules.

    `zone`, `check_in` and `check_out` are the place's: they turn an all-day event into a
    stay's instants and give a floating time its zone. `closed_are_stays` takes Booking.com's
    `CLOSED - Not available` events as stays. `now` (aware) and `horizon` bound the expansion
    of repeating events only. Raises NotACalendar when the body is not a calendar at all.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    calendars = _read_calendars(body)
    events = [event for calendar in calendars for event in calendar.walk("VEVENT")]
    vendor = detect_vendor(
        _text(calendars[0], "PRODID"),
        (_text(e, "SUMMARY") for e in events),
        (_text(e, "UID") for e in events),
    )
    reader = _Reader(zone, check_in, check_out, vendor, closed_are_stays)
    window = (now - PAST, now + horizon)
    found: list[FeedStay | SkippedEvent] = []
    seen = 0
    for uid, components in _by_uid(events):
        if _repeats(components):
            occurrences, count = _expand(uid, components, reader, window)
            found.extend(occurrences)
            seen += count
        else:
            many = len(components) > 1
            for event in components:
                found.append(_read(event, _occurrence_uid(uid, event) if many else uid, reader))
                seen += 1
    stays = sorted(
        (f for f in found if isinstance(f, FeedStay)), key=lambda s: (s.starts_at, s.uid)
    )
    skipped = tuple(f for f in found if isinstance(f, SkippedEvent))
    return ParsedFeed(stays=tuple(stays), skipped=skipped, events=seen, vendor=vendor)


def _read_calendars(body: bytes) -> list[Calendar]:
    """The body's VCALENDARs, or NotACalendar saying (never quoting) what the body is."""
    text = _decode(body).lstrip("\ufeff \t\r\n")
    if not text.strip():
        raise NotACalendar("the body is empty")
    if not text[:15].upper().startswith("BEGIN:VCALENDAR"):
        raise NotACalendar(f"the body is not an iCalendar: {_what_it_is(text)}")
    try:
        components = Calendar.from_ical(text, multiple=True)
    except Exception:
        # icalendar raises several types on garbage, and their messages quote the body (guest
        # names, phone digits): none is chained, the reason alone is kept.
        raise NotACalendar("icalendar cannot parse the body") from None
    calendars = [c for c in components if c.name == "VCALENDAR"]
    if not calendars:
        raise NotACalendar("no complete VCALENDAR (BEGIN without END: truncated?)")
    return calendars


def _decode(body: bytes) -> str:
    """UTF-8 as RFC 5545 asks (a BOM allowed); Windows-1252 from the odd older exporter."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _what_it_is(text: str) -> str:
    """What a body that is not a calendar looks like, said without quoting it."""
    if text.startswith("<"):
        return "it looks like HTML (a login or error page?)"
    if text.startswith(("{", "[")):
        return "it looks like JSON"
    return "it does not start with BEGIN:VCALENDAR"


def _by_uid(events: Iterable[Component]) -> list[tuple[str, list[Component]]]:
    """The events grouped by UID, in the feed's order (a repeat's overrides share its UID)."""
    groups: dict[str, list[Component]] = {}
    for event in events:
        groups.setdefault(_uid(event), []).append(event)
    return list(groups.items())


def _repeats(components: list[Component]) -> bool:
    """Whether a UID's events are a series: a rule, extra dates or a moved occurrence."""
    return any(("RRULE" in c or "RDATE" in c or "RECURRENCE-ID" in c) for c in components)


def _expand(
    uid: str, components: list[Component], reader: _Reader, window: tuple[datetime, datetime]
) -> tuple[list[FeedStay | SkippedEvent], int]:
    """A series' occurrences in the window, each read as its own event, and their count.

    A series that cannot be expanded is skipped whole: each of its VEVENTs with the reason.
    """
    try:
        for component in components:
            _check_rule(component)
            _span(component, reader)
        series = Calendar()
        for component in components:
            series.add_component(component)
        # A calendar of the series alone: no X-WR-TIMEZONE, so recurring_ical_events moves no
        # UTC time into it and reads no floating time in it (the module's rules hold).
        occurrences = list(recurring_ical_events.of(series).between(*window))
    except _OddEvent as odd:
        return _skip_series(uid, components, str(odd)), len(components)
    except Exception:
        reason = "its repeat rule cannot be expanded"
        return _skip_series(uid, components, reason), len(components)
    found = [_read(o, _occurrence_uid(uid, o), reader) for o in occurrences]
    return found, len(occurrences)


def _skip_series(
    uid: str, components: list[Component], reason: str
) -> list[FeedStay | SkippedEvent]:
    """Each VEVENT of a series skipped with `reason` (a moved occurrence by its own uid)."""
    return [
        SkippedEvent(
            _occurrence_uid(uid, c) if "RECURRENCE-ID" in c else uid,
            " ".join(_text(c, "SUMMARY").split()),
            reason,
        )
        for c in components
    ]


def _check_rule(component: Component) -> None:
    """_OddEvent for a rule that repeats more often than daily: no stay does, and expanding
    one (every minute for a year is half a million events) would stall the whole feed."""
    rules = component.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, dict):
            continue  # absent, or broken: recurring_ical_events says so
        often = {str(f).upper() for f in rule.get("FREQ", [])} & _TOO_OFTEN
        many = any(len(rule.get(part, [])) > 1 for part in ("BYHOUR", "BYMINUTE", "BYSECOND"))
        if often or many:
            raise _OddEvent("it repeats more often than daily: not a stay")


def _occurrence_uid(uid: str, event: Component) -> str:
    """`UID@<start ISO>`: an occurrence's own identity (its RECURRENCE-ID when moved)."""
    prop = event.get("RECURRENCE-ID") or event.get("DTSTART")
    try:
        start = prop.dt
    except Exception:
        return f"{uid}@?"
    if isinstance(start, datetime) and start.tzinfo is not None:
        start = start.astimezone(UTC)
    return f"{uid}@{start.isoformat()}" if isinstance(start, date) else f"{uid}@?"


def _read(event: Component, uid: str, reader: _Reader) -> FeedStay | SkippedEvent:
    """One event (or occurrence) as a stay, or skipped with the first reason that applies."""
    summary = " ".join(_text(event, "SUMMARY").split())
    if _text(event, "STATUS").upper() == "CANCELLED":
        return SkippedEvent(uid, summary, "cancelled")
    verdict = classify(
        summary,
        _text(event, "DESCRIPTION"),
        vendor=reader.vendor,
        closed_are_stays=reader.closed_are_stays,
    )
    if verdict.reason is not None:
        return SkippedEvent(uid, summary, verdict.reason)
    try:
        starts_at, ends_at, all_day = _span(event, reader)
    except _OddEvent as odd:
        return SkippedEvent(uid, summary, str(odd))
    if not all_day and ends_at - starts_at < SHORTEST_STAY:
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        return SkippedEvent(uid, summary, f"{minutes} min long: a helper event, not a stay")
    return FeedStay(
        uid=uid,
        reservation=verdict.reservation,
        guest=verdict.guest,
        phone_last4=verdict.phone_last4,
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=all_day,
        summary=summary,
    )


def _span(event: Component, reader: _Reader) -> tuple[datetime, datetime, bool]:
    """The event's start and end in UTC and whether it is all-day, or _OddEvent saying why."""
    start, end = _value(event, "DTSTART"), _value(event, "DTEND")
    length = _value(event, "DURATION") if end is None else None
    if start is None:
        raise _OddEvent("no DTSTART")
    if not isinstance(start, date) or not isinstance(end, date | None):
        raise _OddEvent("DTSTART or DTEND is neither a date nor a date-time")
    if not isinstance(length, timedelta | None):
        raise _OddEvent("DURATION is not a duration")
    if isinstance(start, datetime):
        if end is not None and not isinstance(end, datetime):
            raise _OddEvent("DTSTART is a date-time but DTEND a date")
        starts_at = _instant(start, reader.zone)
        ends_at = starts_at + (length or timedelta(0))
        if end is not None:
            ends_at = _instant(end, reader.zone)
    else:
        if isinstance(end, datetime):
            raise _OddEvent("DTSTART is a date but DTEND a date-time")
        if end is None:
            end = start + (timedelta(days=length.days) if length is not None else _DAY)
        if end == start:
            raise _OddEvent("zero length (it ends on the day it starts)")
        starts_at = _wall(start, reader.check_in, reader.zone)
        ends_at = _wall(end, reader.check_out, reader.zone)
    if ends_at < starts_at:
        raise _OddEvent("DTEND before DTSTART")
    if ends_at == starts_at:
        raise _OddEvent("zero length")
    return starts_at, ends_at, not isinstance(start, datetime)


def _value(event: Component, name: str) -> object:
    """DTSTART, DTEND or DURATION's value (the first if repeated), or None if absent;
    _OddEvent if it is there but unreadable, or a time whose TZID no database knows."""
    prop = event.get(name)
    if isinstance(prop, list):
        prop = prop[0] if prop else None
    if prop is None:
        return None
    try:
        value = prop.dt
    except Exception:
        raise _OddEvent(f"{name} cannot be read") from None
    tzid = prop.params.get("TZID")
    if isinstance(value, datetime) and value.tzinfo is None and tzid:
        raise _OddEvent(f"{name} has an unknown TZID ({tzid})")
    return value


def _instant(moment: datetime, zone: ZoneInfo) -> datetime:
    """A timed event's instant in UTC: aware times kept, floating ones read in `zone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone, fold=0)
    return moment.astimezone(UTC)


def _wall(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at the wall time `at` in `zone`, in UTC; a time in a DST gap moves past it.

    fold=0 reads a skipped time with the offset before the jump (02:30 in Berlin on the March
    change is 01:30 UTC, 03:30 summer time); the UTC round trip makes it a real instant.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0)).replace(tzinfo=zone)
    return wall.astimezone(UTC)


def _uid(event: Component) -> str:
    """The event's UID; one made of its raw dates if it has none (stable between fetches)."""
    uid = _text(event, "UID").strip()
    if uid:
        return uid
    start, end = event.get("DTSTART"), event.get("DTEND")
    raw = [p.to_ical().decode() if hasattr(p, "to_ical") else "" for p in (start, end)]
    return f"no-uid:{raw[0]}/{raw[1]}"


def _text(component: Component, name: str) -> str:
    """A text property as a plain str ('' if absent; the first if repeated)."""
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value)
