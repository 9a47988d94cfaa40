"""Whether to believe a feed's answer: the rules that keep a failing feed from locking guests out.

Rental Control's tracker shows what trusting a feed blindly does: an empty answer wipes every
code, a feed down at start-up deletes stays. So:

- an answer that is an error, a timeout, empty, or not a calendar is not used: the last good
  copy is (`stale`), or, if there never was one, nothing is known (`unread`: the caller then
  removes no code on the source's doors);
- a calendar that suddenly has no upcoming stays, or loses most of them (at least two, and more
  than half), is `held`: the last good copy is used until the same answer has come back for
  `confirm_drop_after`, or `accesscodes sources accept NAME`; so a host whose last booking was
  really cancelled is not stuck with it;
- anything else is believed (`fresh`): one cancelled stay among others goes at once.

Pure: the answer, the cached state, the parser and the time are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from reconciler.core.plan import iso
from reconciler.sources.fetch import FeedUnavailable, Fetched
from reconciler.sources.ical import NotACalendar, ParsedFeed
from reconciler.state.sourcecache import CachedFeed


@dataclass(frozen=True)
class Verdict:
    """What to plan from (`body`: None when no copy was ever believed), why, and what to keep.
    `believed`: this answer replaced the last good copy (so stays it lacks were cancelled);
    `replaced`: that copy, parsed."""

    status: str
    body: bytes | None = field(repr=False)
    cache: CachedFeed
    warning: str | None = None
    believed: bool = False
    parsed: ParsedFeed | None = None
    replaced: ParsedFeed | None = None


def judge(
    name: str,
    answer: Fetched | FeedUnavailable,
    cached: CachedFeed | None,
    parse: Callable[[bytes], ParsedFeed],
    *,
    now: datetime,
    confirm_after: timedelta,
) -> Verdict:
    """The verdict on one answer of source `name` (see the module docstring)."""
    cached = cached or CachedFeed(name)
    cached = replace(cached, checked_at=now)
    if isinstance(answer, FeedUnavailable):
        return _unusable(name, cached, answer.reason, parse)
    if answer.body is None:  # 304: the last good copy is still the answer
        if cached.body is None:
            return _unusable(name, cached, "answered 304 but no copy is kept", parse)
        kept = replace(cached, good_at=now, error=None)
        return Verdict("fresh", cached.body, kept, parsed=_parse_kept(parse, cached.body))
    if not answer.body.strip():
        return _unusable(name, cached, "the answer was empty", parse)
    try:
        parsed = parse(answer.body)
    except NotACalendar as exc:
        return _unusable(name, cached, f"the answer is not a calendar ({exc})", parse)
    before = _parse_kept(parse, cached.body)
    upcoming, had = _upcoming(parsed, now), _upcoming(before, now) if before else 0
    if _suspicious(had, upcoming):
        same = cached.held_body == answer.body
        since = cached.held_since if same and cached.held_since else now
        if now - since < confirm_after:
            return _held(name, cached, answer.body, since, had, upcoming, confirm_after, before)
    return replace(_believe(cached, answer, parsed, upcoming, now), replaced=before)


def accept_held(cached: CachedFeed, now: datetime) -> CachedFeed | None:
    """`sources accept NAME`: believe the held answer now (None: nothing is held)."""
    if cached.held_body is None:
        return None
    return replace(
        cached,
        body=cached.held_body,
        etag=None,
        last_modified=None,
        good_at=now,
        error=None,
        held_body=None,
        held_since=None,
        held_reason=None,
    )


def _suspicious(had: int, upcoming: int) -> bool:
    lost = had - upcoming
    return had > 0 and (upcoming == 0 or (lost >= 2 and upcoming * 2 < had))


def _upcoming(parsed: ParsedFeed, now: datetime) -> int:
    return sum(1 for stay in parsed.stays if stay.ends_at > now)


def _parse_kept(parse: Callable[[bytes], ParsedFeed], body: bytes | None) -> ParsedFeed | None:
    if body is None:
        return None
    try:
        return parse(body)
    except NotACalendar:
        return None


def _unusable(
    name: str, cached: CachedFeed, reason: str, parse: Callable[[bytes], ParsedFeed]
) -> Verdict:
    kept = replace(cached, error=reason)
    if cached.body is None:
        warning = (
            f"source {name} has never been read ({reason}): its stays are unknown, and no "
            "code is removed on its doors"
        )
        return Verdict("unread", None, kept, warning)
    warning = (
        f"source {name} stale since {iso(cached.good_at)}: {reason}; planning from the last "
        "good copy, and no code is removed because of it"
    )
    return Verdict("stale", cached.body, kept, warning, parsed=_parse_kept(parse, cached.body))


def _held(
    name: str,
    cached: CachedFeed,
    body: bytes,
    since: datetime,
    had: int,
    upcoming: int,
    confirm_after: timedelta,
    before: ParsedFeed | None,
) -> Verdict:
    reason = f"it had {had} upcoming stays and now has {upcoming}"
    kept = replace(cached, held_body=body, held_since=since, held_reason=reason, error=None)
    warning = (
        f"source {name} held since {iso(since)}: {reason}; the last good copy is used until the "
        f"same answer has come back for {int(confirm_after.total_seconds() // 60)} minutes, "
        f"or `accesscodes sources accept {name}`"
    )
    return Verdict("held", cached.body, kept, warning, parsed=before)


def _believe(
    cached: CachedFeed, answer: Fetched, parsed: ParsedFeed, upcoming: int, now: datetime
) -> Verdict:
    kept = replace(
        cached,
        body=answer.body,
        etag=answer.etag,
        last_modified=answer.last_modified,
        good_at=now,
        error=None,
        stays=upcoming,
        held_body=None,
        held_since=None,
        held_reason=None,
    )
    return Verdict("fresh", answer.body, kept, believed=True, parsed=parsed)
