"""The controller's inbox of Seam events: bounded, each event taken once, old ids forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.controller.events import REMEMBER, BadEvent, Event, Inbox, parse_event

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def event(n: int, kind: str = "access_code.deleted") -> Event:
    return Event(f"evt_{n}", kind, device_id="lock_1", access_code_id=f"ac_{n}")


def test_a_burst_beyond_capacity_is_refused_not_held_in_memory() -> None:
    inbox = Inbox(capacity=3, clock=lambda: NOW)
    assert [inbox.offer(event(n)) for n in range(5)] == ["queued"] * 3 + ["full"] * 2
    assert len(inbox) == 3
    assert [e.event_id for e in inbox.take()] == ["evt_0", "evt_1", "evt_2"]
    assert inbox.offer(event(3)) == "queued"  # room again once the loop took them


def test_an_event_delivered_again_is_a_duplicate_until_long_after_seams_retries() -> None:
    now = [NOW]
    inbox = Inbox(clock=lambda: now[0])
    assert inbox.offer(event(1)) == "queued"
    inbox.take()
    now[0] += timedelta(hours=30)  # Seam retries for about a day
    assert inbox.offer(event(1)) == "duplicate"
    now[0] = NOW + REMEMBER + timedelta(minutes=1)
    assert inbox.offer(event(1)) == "queued"


def test_each_offer_wakes_the_loop() -> None:
    woken = []
    inbox = Inbox(clock=lambda: NOW, on_event=lambda: woken.append(1))
    inbox.offer(event(1))
    inbox.offer(event(1))
    assert woken == [1]


def test_seams_event_json_is_read_and_anything_else_refused() -> None:
    parsed = parse_event(
        {
            "event_id": "e1",
            "event_type": "lock.unlocked",
            "device_id": "lock_1",
            "access_code_id": "ac_9",
            "occurred_at": "2026-12-01T10:00:00.000Z",
            "method": "keycode",
        }
    )
    assert parsed.is_unlock_by_code and parsed.concerns_a_device
    assert parsed.occurred_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert not parse_event(
        {"event_id": "e2", "event_type": "connected_account.connected"}
    ).concerns_a_device
    for bad in ([1, 2], {"event_type": "lock.locked"}, {"event_id": "", "event_type": "x"}, "x"):
        with pytest.raises(BadEvent):
            parse_event(bad)
