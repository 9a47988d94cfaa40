"""Slot capacity over time: does one more code fit on a lock at every moment it is programmed?

A lock holds at most `max_active_codes` codes, and a code takes its slot from the moment it is
programmed (72 h early with native scheduling) until it ends; unmanaged codes take slots too.
Intervals are half-open [programmed, ends); `None` as an end means until removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
