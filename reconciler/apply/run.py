"""One plan or apply run, from a loaded config to a plan and an apply report.

The CLI, the controller and the GitHub Action all go through these functions, so what is
shown is what is done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.apply.inventory import FORGET, Forget, read_live
from reconciler.config.load import Config
from reconciler.config.policy import is_weak
from reconciler.core.collector import fewer_collections
from reconciler.core.models import DesiredDevice, DeviceId, LiveDevice
from reconciler.core.plan import Action, Change, Drift, Plan
from reconciler.core.written import has_holder_codes, whole
from reconciler.planning.drift import LastWritten
from reconciler.planning.names import fit_stay_names
from reconciler.planning.pins import assign_pins
from reconciler.planning.planner import plan_device
from reconciler.providers.base import Provider
from reconciler.state.journal import Journal
from reconciler.state.pins import StoredPins
from reconciler.state.store import open_state, state_lock

if TYPE_CHECKING:
    from reconciler.apply.applier import ApplyReport, ConfirmWait, Outcome
    from reconciler.sources.read import FeedsRead


@dataclass(frozen=True)
class PlannedRun:
    """A plan and the live state it was made from (the applier needs both), and the PINs of
    people and stays to keep in the state store when it is applied (`keep_pins`; `new_pins`:
    the holders among them whose PIN was drawn in this run, which apply tells the user)."""

    plan: Plan
    live: dict[DeviceId, LiveDevice]
    keep_pins: Mapping[str, str] = field(default_factory=dict, repr=False)
    new_pins: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=dict)


def journal_path(config: Config) -> Path:
    """Where this config's journal lives."""
    return config.base_dir / config.settings.state_db


def open_journal(config: Config, *, create: bool) -> Journal | None:
    """The config's journal (in the database `--state` names, else the SQLite file); None
    when the file does not exist yet and `create` is false (a plan never creates one)."""
    return open_state(config.state, journal_path(config), create=create)


def lock_state(config: Config, *, wait: float, shared: bool = False) -> ContextManager[None]:
    """The config's apply lock, where its state lives (see `state.store.state_lock`)."""
    return state_lock(config.state, journal_path(config).parent, wait=wait, shared=shared)


async def plan_run(
    config: Config,
    provider: Provider,
    *,
    now: datetime,
    journal: Journal | None = None,
    on_device_read: Callable[[], None] | None = None,
    keep_live: bool = True,
    sink: Callable[[Sequence[Change]], None] | None = None,
) -> PlannedRun:
    """Read the listed devices and plan them against the config; `on_device_read` is called
    once per device read (the CLI's progress bar). Without `keep_live` (a plan that is only
    shown) a lock's codes are let go once it is planned: `PlannedRun.live` then holds the
    devices, and codes only for the locks of people and stays. With `sink` (a plan that is
    only written, `plan --format json`) the changes are handed to it in the plan's order as
    soon as the locks before them are planned, and not kept: the plan returned then has its
    drift and warnings, but no changes, and `PlannedRun.live` only the locks of people and
    stays.

    Each lock is planned as soon as it is read (`_PlanAsRead`), while the rest of the fleet is
    still on the way; the locks of people and stays wait for the whole read, since one PIN
    for a holder is chosen from all of their doors (`assign_pins`). The parts are put
    together in config order: the plan is the one `planner.plan` makes of the whole fleet."""
    feeds = await read_feeds(config, journal, now)
    if feeds is not None:
        config = config.with_feed_stays(feeds.stays)
    device_ids = [d.device_id for d in config.devices]
    last_written, stored = _remembered(journal, device_ids)
    planning = _PlanAsRead(
        config,
        now=now,
        last_written=last_written,
        keep_live=keep_live,
        sink=sink,
        unread_doors=feeds.unread_doors if feeds is not None else {},
    )
    policy = config.policy
    with fewer_collections():  # the locks of people and stays are planned in it too
        live = await read_live(
            provider,
            device_ids,
            concurrency=config.settings.concurrency,
            on_read=on_device_read,
            on_device=planning.read,
        )
        pins = assign_pins(
            fit_stay_names(planning.waiting(), live),
            config.holders,
            live,
            stored=stored.pins,
            rotations=stored.rotations,
            weak=(lambda pin: is_weak(pin, policy)) if policy is not None else (lambda _: False),
            now=now,
            timezone=config.settings.timezone,
        )
        result = planning.finish(pins.devices, live)
    if feeds is not None:
        result = replace(result, warnings=(*result.warnings, *feeds.warnings))
    labels = {h.key: h.label for h in config.holders}
    return PlannedRun(result, live, pins.keep, pins.generated, labels)


def _remembered(
    journal: Journal | None, device_ids: Sequence[DeviceId]
) -> tuple[LastWritten | None, StoredPins]:
    """What the journal knows of these locks: the codes last written, the PINs kept."""
    if journal is None:
        return None, StoredPins()
    written = journal.written(list(dict.fromkeys(device_ids)))
    return LastWritten(written, journal.fingerprint), journal.pins.load()


_HANDED: tuple[list[Change], list[Drift]] = ([], [])  # a part given to the sink


class _PlanAsRead:
    """The plan of each lock, made as its codes arrive (`read_live`'s `on_device`), in the
    config's order; a device with a person's or a stay's code waits for `finish`. With a
    `sink`, each part goes to it once the parts before it have gone."""

    def __init__(
        self,
        config: Config,
        *,
        now: datetime,
        last_written: LastWritten | None,
        keep_live: bool = True,
        sink: Callable[[Sequence[Change]], None] | None = None,
        unread_doors: Mapping[str, str] | None = None,
    ):
        self.devices = config.devices
        self.keep_live = keep_live
        self.settings = config.settings
        self.now = now
        self.last_written = last_written
        self.sink = sink
        self.unread_doors = unread_doors or {}
        self.handed = 0  # the parts before this index went to the sink
        self.drift: list[Drift] = []  # theirs
        self.parts: list[tuple[list[Change], list[Drift]] | None] = [None] * len(self.devices)
        self.alone: dict[DeviceId, int] = {}  # devices without a holder's code: the first
        self.also: dict[DeviceId, list[int]] = {}  # and any other that is the same lock
        for index, device in enumerate(self.devices):
            if has_holder_codes(device.codes):
                continue
            if self.alone.setdefault(device.device_id, index) != index:
                self.also.setdefault(device.device_id, []).append(index)

    def read(self, live: LiveDevice) -> LiveDevice | Forget | None:
        """Plan the devices that are this lock (names cut to its limit), unless they wait;
        what `read_live` keeps of the lock (without its codes, once planned, unless kept;
        nothing once its changes went to the sink)."""
        lock = live.device.device_id
        first = self.alone.get(lock)
        planned = () if first is None else (first, *self.also.get(lock, ()))
        for index in planned:
            (device,) = fit_stay_names((whole(self.devices[index]),), {lock: live})
            self.parts[index] = self._plan(device, live)
        if planned and self.sink is not None:
            self._hand_over(self.sink)
            return FORGET
        if planned and not self.keep_live:
            return LiveDevice(device=live.device, read_error=live.read_error)
        return None

    def waiting(self) -> list[DesiredDevice]:
        """The devices not planned yet: those with holders' codes, and those not read."""
        return [d for d, part in zip(self.devices, self.parts, strict=True) if part is None]

    def finish(self, filled: Sequence[DesiredDevice], live: Mapping[DeviceId, LiveDevice]) -> Plan:
        """The whole plan: the waiting devices (`filled`: with their holders' PINs, in the
        order `waiting` gave) planned now, every device's part in config order."""
        rest = iter(filled)
        for index, part in enumerate(self.parts):
            if part is None:
                device = next(rest)
                self.parts[index] = self._plan(device, live.get(device.device_id))
        changes: list[Change] = []
        self._hand_over(self.sink or changes.extend)
        return Plan(now=self.now, changes=tuple(changes), drift=tuple(self.drift))

    def _hand_over(self, sink: Callable[[Sequence[Change]], None]) -> None:
        """Give `sink` the planned parts next in order, and let them go."""
        parts = self.parts
        while self.handed < len(parts) and (part := parts[self.handed]) is not None:
            sink(part[0])
            self.drift.extend(part[1])
            parts[self.handed] = _HANDED
            self.handed += 1

    def _plan(
        self, device: DesiredDevice, live: LiveDevice | None
    ) -> tuple[list[Change], list[Drift]]:
        changes, drift = plan_device(
            device, live, now=self.now, settings=self.settings, last_written=self.last_written
        )
        source = self.unread_doors.get(device.key)
        return (changes if source is None else _held(changes, source)), drift


async def read_feeds(config: Config, journal: Journal | None, now: datetime) -> FeedsRead | None:
    """The config's reservation feeds, read and judged; what was learnt is kept in the state
    store when there is one (a plan never creates it, but keeps its feeds' copies current)."""
    if not config.sources:
        return None
    from reconciler.sources.read import read_sources  # iCal parsing: loaded only for feeds

    cached = journal.sources.load() if journal is not None else {}
    feeds = await read_sources(config, cached, now=now)
    if journal is not None:
        for feed in feeds.cache:
            journal.sources.save(feed)
    return feeds


def _held(changes: Sequence[Change], source: str) -> list[Change]:
    """No code is removed on the doors of a source never read: its stays are unknown."""
    return [
        replace(
            change,
            action=Action.BLOCKED,
            due_at=None,
            spec=None,
            reasons=(
                *change.reasons,
                f"held: source {source} has never been read, so no code is removed on its doors",
            ),
        )
        if change.action is Action.DELETE
        else change
        for change in changes
    ]


def keep_pins(journal: Journal, planned: PlannedRun, now: datetime) -> None:
    """Keep the PINs people and stays were given in this run (drawn new, or read from their
    doors), before any of them is sent: from now on they are reused, never drawn again."""
    if planned.keep_pins:
        journal.pins.keep(planned.keep_pins, now, drawn=planned.new_pins)


async def apply_run(
    config: Config,
    provider: Provider,
    planned: PlannedRun,
    *,
    journal: Journal | None = None,
    clock: Callable[[], datetime] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    confirm: ConfirmWait | None = None,
) -> ApplyReport:
    """Carry out the due changes of a plan made by `plan_run`, recording them in `journal`.

    The run is always closed in the journal, `failed` if any change did not go through or an
    error escaped, else `ok`: only a killed process leaves a run `running`. Last, a stay whose
    code failed to set near check-in gets a backup code (`apply.backup`, in `report.backups`).
    """
    from reconciler.apply.applier import apply_plan  # (a plan alone never loads the applier)
    from reconciler.apply.backup import pull_backups

    now = clock or (lambda: planned.plan.now)
    run_id = 0
    if journal is not None:
        keep_pins(journal, planned, now())
        run_id = journal.start_run(command="apply", plan_checksum=planned.plan.checksum, now=now())
    result = "failed"
    try:
        report = await apply_plan(
            planned.plan,
            provider,
            planned.live,
            concurrency=config.settings.concurrency,
            on_outcome=on_outcome,
            journal=journal,
            run_id=run_id,
            clock=now,
            confirm=confirm,
        )
        report = await pull_backups(
            config,
            provider,
            planned.plan.changes,
            planned.live,
            report,
            journal=journal,
            run_id=run_id,
            clock=now,
        )
        result = "failed" if report.failed else "ok"
        return report
    finally:
        if journal is not None:
            journal.finish_run(run_id, result, now())
