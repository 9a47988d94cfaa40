"""Which live code each code the config wants is: by name first, then, for a rename, by PIN.

A code's identity is its name (plus the start, for an occurrence of a recurring code). When a
name is changed but the PIN kept (`Alice` -> `Alice Smith`), the code on the lock is still the
same person's: it is renamed in place rather than deleted and created again (a lock refuses a
second code with the same PIN, so "create, then delete" would leave the person locked out).
Matching runs in two passes so that a rename never takes a code another entry claims by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.core.models import LiveCode
from reconciler.planning.schedule import Target


@dataclass(frozen=True, slots=True)
class Claim:
    """The live code a target takes; `renamed` when it was found by its PIN under another
    name (the plan then renames it)."""

    live: LiveCode
    renamed: bool = False


def claim_live_codes(
    wanted: Sequence[Target], managed: Sequence[LiveCode], *, now: datetime
) -> tuple[list[Claim | None], list[LiveCode]]:
    """Each target's claim (None: nothing on the lock is it), and the live codes left over.

    First every target takes the live code of its name; then each target still without one
    may take a leftover code with its PIN (see `_renamable`). Leftovers are in lock order.
    """
    free = [True] * len(managed)
    claims: list[Claim | None] = [None] * len(wanted)
    by_name: dict[str, list[int]] = defaultdict(list)
    for index, live in enumerate(managed):
        by_name[live.name].append(index)
    for position, target in enumerate(wanted):
        found = _take(target, by_name.get(target.code.name, ()), managed, free)
        if found is not None:
            claims[position] = Claim(managed[found])
    by_pin: dict[str, list[int]] = defaultdict(list)
    for index, live in enumerate(managed):
        if free[index] and live.code is not None and not live.is_offline and not live.is_backup:
            by_pin[live.code].append(index)
    for position, target in enumerate(wanted):
        if claims[position] is not None or not _renamable(target, now):
            continue
        assert target.spec.code is not None
        found = _take(target, by_pin.get(target.spec.code, ()), managed, free)
        if found is not None:
            claims[position] = Claim(managed[found], renamed=True)
    return claims, [live for index, live in enumerate(managed) if free[index]]


def _take(
    target: Target, candidates: Sequence[int], managed: Sequence[LiveCode], free: list[bool]
) -> int | None:
    """The first free candidate that is this target (same start, for an occurrence)."""
    for index in candidates:
        if not free[index]:
            continue
        if target.occurrence is not None and managed[index].starts_at != target.occurrence:
            continue
        free[index] = False
        return index
    return None


def _renamable(target: Target, now: datetime) -> bool:
    """A target that may take a live code by its PIN: it wants an online code with a PIN
    written in the config, on the lock now or later (not revoked, its window not over)."""
    spec = target.spec
    return (
        spec.code is not None
        and not spec.offline
        and not target.code.revoke
        and (spec.ends_at is None or spec.ends_at > now)
    )
