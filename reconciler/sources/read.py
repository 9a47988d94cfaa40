"""Reading every reservation source of a config into stays, before planning.

Each source is fetched (`fetch`), judged (`judge`: a failing or suspicious answer is not
believed), parsed (`ical`) and turned into stays at its place, identified by source and
reservation (`stay:beach-airbnb/HMABC12345`), so a booking whose dates move keeps its codes
and PIN. Then:

- one booking shown by several feeds of a unit (Airbnb's stay cross-synced as VRBO's block or
  Booking.com's CLOSED) gives one stay: a stay overlapping one already kept at the same place
  (written in the config, or from a source listed earlier) is the same booking;
- a stay that left a believed answer is cancelled: it comes back as a revoked stay (its codes
  are taken off) until its end has passed;
- the doors of a source that has never been read are reported, so the plan removes no code
  there: its stays are unknown, not gone.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from reconciler.config.load import Config
from reconciler.config.schema import PlaceConfig, SourceConfig
from reconciler.config.stays import StayInput, place_zone
from reconciler.core.errors import mask_url
from reconciler.core.plan import iso
from reconciler.core.settings import parse_duration
from reconciler.sources.fetch import FeedUnavailable, Fetched, fetch_feed, is_url
from reconciler.sources.ical import FeedStay, NotACalendar, ParsedFeed, SkippedEvent, parse_feed
from reconciler.sources.judge import Verdict, accept_held, judge
from reconciler.state.sourcecache import CachedFeed

if TYPE_CHECKING:
    import httpx

_DUPLICATE = SkippedEvent("", "", "the same booking as a stay already kept at the place")


@dataclass(frozen=True)
class SourceReport:
    """One source as `accesscodes sources` and the plan's warnings show it (URL masked)."""

    name: str
    place: str
    location: str
    status: str
    good_at: datetime | None
    checked_at: datetime | None
    stays: int
    skipped: tuple[SkippedEvent, ...] = ()
    warning: str | None = None
    error: str | None = None
    held_reason: str | None = None


@dataclass(frozen=True)
class FeedsRead:
    """The stays the sources give, a report per source, the cache to keep, and the doors of
    sources never read (device key -> source name), where no code may be removed."""

    stays: tuple[StayInput, ...]
    reports: tuple[SourceReport, ...]
    cache: tuple[CachedFeed, ...]
    unread_doors: Mapping[str, str]

    @property
    def warnings(self) -> list[str]:
        """What the plan says about sources it did not believe this time."""
        return [r.warning for r in self.reports if r.warning]


async def read_sources(
    config: Config,
    cached: Mapping[str, CachedFeed],
    *,
    now: datetime,
    client: httpx.AsyncClient | None = None,
) -> FeedsRead:
    """Every source of `config`, read at once (see the module docstring)."""
    if not config.sources:
        return FeedsRead((), (), (), {})
    import httpx

    own = client or httpx.AsyncClient(follow_redirects=True)
    try:
        answers = await asyncio.gather(
            *(_answer(config, spec, cached.get(spec.name), own) for spec in config.sources)
        )
    finally:
        if client is None:
            await own.aclose()
    return _combine(config, cached, answers, now)


async def _answer(
    config: Config, spec: SourceConfig, cached: CachedFeed | None, client: httpx.AsyncClient
) -> Fetched | FeedUnavailable:
    conditional = cached is not None and cached.held_body is None and cached.body is not None
    try:
        return await fetch_feed(
            spec.ical,
            base_dir=config.base_dir,
            client=client,
            etag=cached.etag if conditional and cached else None,
            last_modified=cached.last_modified if conditional and cached else None,
            timeout=parse_duration(spec.timeout).total_seconds(),
            max_bytes=spec.max_bytes,
        )
    except FeedUnavailable as exc:
        return exc


def _combine(
    config: Config,
    cached: Mapping[str, CachedFeed],
    answers: Sequence[Fetched | FeedUnavailable],
    now: datetime,
) -> FeedsRead:
    zones = _place_zones(config)
    kept: dict[str, list[tuple[datetime, datetime]]] = {}
    for stay in config.stays:
        kept.setdefault(stay.place, []).append(_span(stay, zones[stay.place]))
    stays: list[StayInput] = []
    reports, cache, unread = [], [], {}
    for spec, answer in zip(config.sources, answers, strict=True):
        place = config.places[spec.place]
        parse = partial(_parse, place=place, spec=spec, zone=zones[spec.place], now=now)
        verdict = judge(
            spec.name,
            answer,
            cached.get(spec.name),
            parse,
            now=now,
            confirm_after=parse_duration(spec.confirm_drop_after),
        )
        found = [_stay(spec, s) for s in verdict.parsed.stays] if verdict.parsed else []
        fresh, duplicates = _unique(found, kept.setdefault(spec.place, []))
        previous = [_stay(spec, s) for s in verdict.replaced.stays] if verdict.replaced else []
        feed = _with_cancellations(verdict.cache, found, previous, now)
        stays += fresh + _revoked(feed, spec, {s.key for s in fresh})
        cache.append(feed)
        reports.append(_report(spec, verdict, feed, fresh, duplicates, now))
        if verdict.status == "unread":
            unread.update({door: spec.name for door in place.doors})
    return FeedsRead(tuple(stays), tuple(reports), tuple(cache), unread)


def _parse(
    body: bytes, *, place: PlaceConfig, spec: SourceConfig, zone: str, now: datetime
) -> ParsedFeed:
    return parse_feed(
        body,
        zone=ZoneInfo(zone),
        check_in=time.fromisoformat(place.check_in),
        check_out=time.fromisoformat(place.check_out),
        closed_are_stays=spec.closed_are_stays,
        now=now,
    )


def _place_zones(config: Config) -> dict[str, str]:
    """The zone each place's feed dates are read in, as its written stays are
    (`config.stays.place_zone`)."""
    doors = {d.key: d.timezone for d in config.devices}
    return {
        key: place_zone(place, doors, config.settings.timezone)
        for key, place in config.places.items()
    }


def _stay(spec: SourceConfig, found: FeedStay) -> StayInput:
    """A feed's booking as a stay: named after its guest, else its reservation code, else a
    short id of its event; identified by source and reservation (or event)."""
    short = hashlib.sha256(found.uid.encode()).hexdigest()[:6]
    return StayInput(
        key=f"stay:{spec.name}/{found.reservation or found.uid}",
        guest=found.guest or found.reservation or f"Guest {short}",
        place=spec.place,
        starts_at=found.starts_at,
        ends_at=found.ends_at,
        suggested_pin=found.phone_last4 if spec.code == "phone_last4" else None,
        config_path=f"sources.{spec.name}",
        origin=spec.name,
    )


def _span(stay: StayInput, zone_name: str) -> tuple[datetime, datetime]:
    """A stay's window as instants (a written stay's naive times are its place's wall clock)."""
    zone = ZoneInfo(zone_name)
    start, end = stay.starts_at, stay.ends_at
    return (
        start if start.tzinfo else start.replace(tzinfo=zone),
        end if end.tzinfo else end.replace(tzinfo=zone),
    )


def _unique(
    found: Sequence[StayInput], kept: list[tuple[datetime, datetime]]
) -> tuple[list[StayInput], int]:
    """The stays not already kept at their place (one unit hosts one booking at a time)."""
    fresh, duplicates = [], 0
    taken = list(kept)
    for stay in found:
        start, end = _span(stay, "UTC")  # a feed's stays are instants already
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            duplicates += 1
            continue
        fresh.append(stay)
        kept.append((start, end))
    return fresh, duplicates


def _with_cancellations(
    feed: CachedFeed, found: Sequence[StayInput], previous: Sequence[StayInput], now: datetime
) -> CachedFeed:
    """The cache to keep, with the stays a believed answer dropped (`previous` has them,
    `found` not) added to `cancelled`, and those that came back or ended taken out."""
    present = {s.key for s in found}
    entries = [e for e in feed.cancelled if e["key"] not in present and _ends(e) > now]
    known = {e["key"] for e in entries}
    for stay in previous:
        if stay.key not in present and stay.key not in known and _aware(stay.ends_at) > now:
            entries.append(stay_entry(stay))
    return replace(feed, cancelled=tuple(entries))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ends(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["ends_at"]))


def _revoked(feed: CachedFeed, spec: SourceConfig, present: set[str]) -> list[StayInput]:
    """The cancelled stays, revoked: their codes come off their doors."""
    return [
        StayInput(
            key=str(e["key"]),
            guest=str(e["guest"]),
            place=spec.place,
            starts_at=datetime.fromisoformat(str(e["starts_at"])),
            ends_at=_ends(e),
            revoke=True,
            config_path=f"sources.{spec.name}",
            origin=spec.name,
        )
        for e in feed.cancelled
        if e["key"] not in present
    ]


def _report(
    spec: SourceConfig,
    verdict: Verdict,
    feed: CachedFeed,
    fresh: Sequence[StayInput],
    duplicates: int,
    now: datetime,
) -> SourceReport:
    skipped = verdict.parsed.skipped if verdict.parsed else ()
    return SourceReport(
        name=spec.name,
        place=spec.place,
        location=mask_url(spec.ical) if is_url(spec.ical) else spec.ical,
        status=verdict.status,
        good_at=feed.good_at,
        checked_at=feed.checked_at,
        stays=len(fresh),
        skipped=(*skipped, *[_DUPLICATE] * duplicates),
        warning=verdict.warning,
        error=feed.error,
        held_reason=feed.held_reason,
    )


def accept_held_answer(
    config: Config, spec: SourceConfig, cached: CachedFeed, now: datetime
) -> CachedFeed | None:
    """`sources accept NAME`: the held answer believed now, the stays it lacks cancelled
    (None: nothing is held)."""
    accepted = accept_held(cached, now)
    if accepted is None or cached.body is None:
        return accepted
    place = config.places[spec.place]
    zone = _place_zones(config)[spec.place]
    parse = partial(_parse, place=place, spec=spec, zone=zone, now=now)
    try:
        found = [_stay(spec, s) for s in parse(accepted.body or b"").stays]
        previous = [_stay(spec, s) for s in parse(cached.body).stays]
    except NotACalendar:
        return accepted
    return _with_cancellations(accepted, found, previous, now)


def stay_entry(stay: StayInput) -> dict[str, Any]:
    """A stay as the cache's `cancelled` list keeps it."""
    return {
        "key": stay.key,
        "guest": stay.guest,
        "starts_at": iso(stay.starts_at),
        "ends_at": iso(stay.ends_at),
    }
