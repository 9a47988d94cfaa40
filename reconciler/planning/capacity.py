"""Slot capacity over time: does one more code fit on a lock at every moment it is programmed?

A lock holds at most `max_active_codes` codes, and a code takes its slot from the moment it is
programmed (72 h early with native scheduling) until it ends; unmanaged codes take slots too.
Intervals are half-open [programmed, ends); `None` as an end means until removed. The planner's
writes of one lock are fitted here (creates that would overflow are blocked) and ordered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from reconciler.core.models import Capabilities, LiveDevice
from reconciler.core.plan import Action, Change, iso

Interval = tuple[datetime, datetime | None]


def first_clash(occupied: Sequence[Interval], candidate: Interval, limit: int) -> datetime | None:
    """The first moment in `candidate` at which `limit` codes are already programmed, or None
    if the candidate fits throughout."""
    start, end = candidate
    # The count of overlapping intervals only rises at a start, so check the candidate's
    # start and every other start inside the candidate.
    moments = sorted({start, *(s for s, _ in occupied if start <= s and (end is None or s < end))})
    for moment in moments:
        in_use = sum(1 for s, e in occupied if s <= moment and (e is None or moment < e))
        if in_use >= limit:
            return moment
    return None


def fit_slots(
    writes: list[Change], live_device: LiveDevice, caps: Capabilities, now: datetime
) -> tuple[list[Change], list[Change]]:
    """Block the creates that would overflow the lock's slots at some moment, saying when:
    the soonest creates are fitted first, the rest are left unplaced (a code on the lock is
    never displaced, so a guest whose stay has begun keeps theirs).

    A delete due now frees its slot first, except one that replaces a create (`replaced_by`):
    that code stays until its replacement is set, so the replacement needs a slot of its own.
    A replacement that does not fit takes its paired delete with it (the old code stays).
    """
    limit = caps.max_active_codes
    if limit is None:
        return writes, []
    deleted = {
        c.access_code_id
        for c in writes
        if c.action is Action.DELETE and c.due_at is None and c.replaced_by is None
    }
    occupied: list[Interval] = [
        (now, code.ends_at)
        for code in (*live_device.codes, *live_device.unmanaged)
        if code.access_code_id not in deleted
    ]
    kept: list[Change] = []
    refused: list[Change] = []
    for write in sorted(writes, key=lambda c: _soonest(c, now)):
        if write.action is not Action.CREATE or write.after is None:
            kept.append(write)
            continue
        interval = (max(now, write.due_at or now), write.after.ends_at)
        clash = first_clash(occupied, interval, limit)
        if clash is None:
            occupied.append(interval)
            kept.append(write)
            continue
        refused.append(_no_free_slot(write, limit, clash))
    dropped = {c.name for c in refused}
    order = {id(c): i for i, c in enumerate(writes)}
    kept.sort(key=lambda c: order[id(c)])
    return [c for c in kept if c.replaced_by is None or c.replaced_by not in dropped], refused


def _soonest(change: Change, now: datetime) -> tuple[int, datetime]:
    """Fitting order: every write that is not a create first (they free or keep slots), then
    creates by start, so the stays that come first get the slots (one already begun first of
    all) and the later ones are the ones left unplaced."""
    if change.action is not Action.CREATE or change.after is None:
        return 0, now
    return 1, max(now, change.after.starts_at or now)


def _no_free_slot(write: Change, limit: int, clash: datetime) -> Change:
    return replace(
        write,
        action=Action.BLOCKED,
        due_at=None,
        due_since=None,
        spec=None,
        reasons=(
            f"unplaced: no free slot: the lock holds at most {limit} codes and all are "
            f"programmed at {iso(clash) or 'its end'}; sooner stays come first",
        ),
    )


def order_writes(writes: list[Change], live_device: LiveDevice, caps: Capabilities) -> list[Change]:
    """Creates before deletes (a replacement exists before the old code goes), unless the
    lock is short of slots, when deletes go first to make room. A delete that waits for its
    replacement (`replaced_by`) always goes last."""
    creates = sum(1 for c in writes if c.action is Action.CREATE)
    in_use = len(live_device.codes) + len(live_device.unmanaged)
    tight = caps.max_active_codes is not None and in_use + creates > caps.max_active_codes
    rank = (
        {Action.DELETE: 0, Action.UPDATE: 1, Action.CREATE: 2}
        if tight
        else {Action.CREATE: 0, Action.UPDATE: 1, Action.DELETE: 2}
    )
    return sorted(writes, key=lambda c: 3 if c.replaced_by is not None else rank[c.action])
