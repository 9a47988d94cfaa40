"""When a feed's answer is believed (`sources.judge`): the rules that keep a glitching feed
from deleting guests' codes, one scenario each, with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.sources.fetch import FeedUnavailable, Fetched
from reconciler.sources.ical import FeedStay, NotACalendar, ParsedFeed
from reconciler.sources.judge import accept_held, judge
from reconciler.state.sourcecache import CachedFeed

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def stays(count: int) -> bytes:
    return f"stays:{count}".encode()


def parse(body: bytes) -> ParsedFeed:
    """A stand-in calendar format for the judge: `stays:N` is N upcoming stays."""
    if not body.startswith(b"stays:"):
        raise NotACalendar("not a calendar")
    count = int(body.split(b":")[1])
    found = tuple(
        FeedStay(
            f"uid{i}",
            None,
            None,
            None,
            NOW + timedelta(days=i),
            NOW + timedelta(days=i + 2),
            True,
            "Reserved",
        )
        for i in range(count)
    )
    return ParsedFeed(found, (), count, "generic")


def kept(count: int) -> CachedFeed:
    return CachedFeed("beach", body=stays(count), good_at=NOW - timedelta(hours=1), stays=count)


def verdict(answer: Fetched | FeedUnavailable, cached: CachedFeed | None, now: datetime = NOW):
    return judge("beach", answer, cached, parse, now=now, confirm_after=HALF_HOUR)


def test_one_cancelled_stay_among_three_is_believed_at_once() -> None:
    result = verdict(Fetched(stays(2)), kept(3))
    assert (result.status, result.believed, result.body) == ("fresh", True, stays(2))


def test_losing_two_of_three_stays_is_held_and_the_last_good_copy_is_used() -> None:
    result = verdict(Fetched(stays(1)), kept(3))
    assert (result.status, result.body) == ("held", stays(3))
    assert result.cache.held_body == stays(1)
    assert "it had 3 upcoming stays and now has 1" in (result.warning or "")


def test_the_last_stay_cancelled_is_held_then_believed_after_the_same_answer_for_30_minutes() -> (
    None
):
    first = verdict(Fetched(stays(0)), kept(1))
    assert first.status == "held"
    early = verdict(Fetched(stays(0)), first.cache, NOW + timedelta(minutes=20))
    assert early.status == "held" and early.cache.held_since == NOW
    later = verdict(Fetched(stays(0)), early.cache, NOW + timedelta(minutes=31))
    assert (later.status, later.body) == ("fresh", stays(0))


def test_a_different_answer_while_held_starts_the_wait_again() -> None:
    first = verdict(Fetched(stays(0)), kept(4))
    other = verdict(Fetched(stays(1)), first.cache, NOW + timedelta(minutes=31))
    assert other.status == "held" and other.cache.held_since == NOW + timedelta(minutes=31)


def test_errors_empty_answers_and_html_use_the_last_good_copy() -> None:
    for answer in (FeedUnavailable("HTTP 500"), Fetched(b""), Fetched(b"<html>")):
        result = verdict(answer, kept(2))
        assert (result.status, result.body) == ("stale", stays(2)), answer
        assert (result.warning or "").startswith("source beach stale since 2026-12-01T11:00:00Z")


def test_a_feed_never_read_is_unread_and_plans_from_nothing() -> None:
    result = verdict(FeedUnavailable("no answer within 20s"), None)
    assert (result.status, result.body, result.parsed) == ("unread", None, None)


def test_a_304_keeps_the_copy_and_counts_as_a_good_read() -> None:
    result = verdict(Fetched(None, '"v1"'), kept(2))
    assert (result.status, result.body, result.cache.good_at) == ("fresh", stays(2), NOW)


def test_accepting_a_held_answer_believes_it() -> None:
    held = verdict(Fetched(stays(0)), kept(2)).cache
    accepted = accept_held(held, NOW)
    assert accepted is not None and accepted.body == stays(0) and accepted.held_body is None
    assert accept_held(kept(2), NOW) is None
