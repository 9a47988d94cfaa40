"""A stay whose code nobody has used by mid-stay: told once (`stay_unused`), never acted on.

A guest half-way through a stay who has never opened a door has likely not got in: the code
never reached them, or the lock does not take it. The full run looks at each stay (a person's
or stay's code is a stay's when its holder is one: written under `stays:` or read from a feed)
whose middle has passed and whose end has not, and at the usage the controller recorded from
Seam's unlock events (`journal.events.usage`). Only doors that have ever reported an unlock by
code count as evidence: Seam says which code opened a door for some makers only (August, Salto
KS, Schlage, Tedee, TTLock, Yale), and a door that never tells would make every stay look
unused. A stay is reported once: its mark is kept in the state store with the events acted on
(`first_time`), which forgets after `FORGET_AFTER`, so a stay is considered only in those
days after its middle. Usage informs; nothing here changes a code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.apply.run import PlannedRun
from reconciler.config.load import Config
from reconciler.controller.events import event_time
from reconciler.controller.reporting import Emit
from reconciler.core.plan import Action, Change, iso
from reconciler.state.eventlog import FORGET_AFTER, Unlock
from reconciler.state.journal import Journal

USAGE_ROWS = 10_000  # the usage read for one check (newest first)


@dataclass
class Stay:
    """One stay as the plan has it: its guest, window and codes (device id, code id, name)."""

    name: str
    starts_at: datetime
    ends_at: datetime
    doors: dict[str, str] = field(default_factory=dict)  # device_id -> device key
    codes: set[tuple[str, str | None, str]] = field(default_factory=set)

    @property
    def middle(self) -> datetime:
        """Half-way through the stay."""
        return self.starts_at + (self.ends_at - self.starts_at) / 2


def report_unused_stays(
    config: Config,
    planned: PlannedRun,
    journal: Journal | None,
    now: datetime,
    emit: Emit,
) -> None:
    """Emit `stay_unused` (name, doors, window) for each stay past its middle whose code
    opened no door that reports usage; once per stay. Without a state store there is no
    usage to read, and nothing is said."""
    if journal is None:
        return
    stays = [s for s in stays_of(config, planned) if s.middle <= now < s.ends_at]
    stays = [s for s in stays if now - s.middle < FORGET_AFTER]
    if not stays:
        return
    usage = journal.events.usage(USAGE_ROWS)
    for stay in unused(stays, usage, complete=len(usage) < USAGE_ROWS):
        mark = f"stay_unused:{stay.name}:{iso(stay.starts_at)}"
        if not journal.events.first_time([mark], now):
            continue
        emit(
            "stay_unused",
            name=stay.name,
            doors=sorted(set(stay.doors.values())),
            starts_at=iso(stay.starts_at),
            ends_at=iso(stay.ends_at),
        )


def stays_of(config: Config, planned: PlannedRun) -> list[Stay]:
    """The stays of the plan, from its changes (their times resolved in the doors' zones):
    a change is a stay's when its holder's label is a stay's and no person's, or, when a
    person shares the label, when the config writes that code for a stay."""
    kinds: defaultdict[str, set[str]] = defaultdict(set)
    for key, label in planned.labels.items():
        kinds[label].add(key.partition(":")[0])
    written = {
        (str(d.key), c.name)
        for d in config.devices
        for c in d.codes
        if c.holder is not None and c.holder.kind == "stay"
    }
    stays: dict[tuple[str, datetime, datetime], Stay] = {}
    for change in planned.plan.changes:
        window = _window(change)
        if change.holder is None or window is None or "stay" not in kinds[change.holder]:
            continue
        shared = kinds[change.holder] - {"stay"}
        if shared and (str(change.device), change.name) not in written:
            continue
        stay = stays.setdefault((change.holder, *window), Stay(change.holder, *window))
        stay.doors[str(change.device_id)] = str(change.device)
        stay.codes.add((str(change.device_id), change.access_code_id, change.name))
    return list(stays.values())


def _window(change: Change) -> tuple[datetime, datetime] | None:
    """The window a change gives its code (what it will be, else what it is)."""
    if change.action is Action.DELETE:
        return None
    for state in (change.after, change.before):
        if state is not None and state.starts_at is not None and state.ends_at is not None:
            return state.starts_at, state.ends_at
    return None


def unused(stays: Sequence[Stay], usage: Iterable[Unlock], *, complete: bool) -> list[Stay]:
    """The stays no unlock since their start shows used, on doors that report usage.
    When the usage read is cut (`complete` false) a stay older than its oldest row is left
    alone: nobody can tell."""
    rows = [(u, event_time(u.at)) for u in usage]
    reporting = {u.device_id for u, _ in rows}
    oldest = min((at for _, at in rows if at is not None), default=None)
    found = []
    for stay in stays:
        if not reporting & stay.doors.keys():
            continue
        if not complete and (oldest is None or oldest > stay.starts_at):
            continue
        if not any(_opened(stay, u, at) for u, at in rows):
            found.append(stay)
    return found


def _opened(stay: Stay, unlock: Unlock, at: datetime | None) -> bool:
    if at is None or at < stay.starts_at or unlock.device_id not in stay.doors:
        return False
    return any(
        device_id == unlock.device_id and (code_id == unlock.access_code_id or name == unlock.name)
        for device_id, code_id, name in stay.codes
    )
