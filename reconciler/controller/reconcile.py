"""The steps of one reconcile run, each on its own: the config as the self-heal policy reads
it, the process' one provider, the apply lock, the journal, the changes the policy and the
backoff let through, and applying them.

`Controller.reconcile` (loop.py) calls them in order; none of them logs the run's end or counts
it (results.py does), and none of them tells anyone what was found (reporting.py does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

from reconciler.apply.applier import ApplyReport
from reconciler.apply.run import PlannedRun, apply_run, lock_state, open_journal, plan_run
from reconciler.config.load import Config
from reconciler.controller.backoff import LockBackoff
from reconciler.controller.reporting import Emit
from reconciler.core.errors import PlanRefused
from reconciler.core.plan import Action, Change, Plan
from reconciler.providers import make_provider
from reconciler.providers.base import Provider
from reconciler.state.journal import Journal

Clock = Callable[[], datetime]
ProviderFactory = Callable[[Config, Clock], Provider]


class ApplyLockHeld(PlanRefused):
    """Another apply holds the state directory's lock: this run is skipped, not failed."""


def default_provider_factory(config: Config, clock: Clock) -> Provider:
    """The provider the config names (tests inject another factory)."""
    return make_provider(config, clock=clock)


def as_healing(config: Config) -> Config:
    """The config a run plans with: `self_heal: full` prunes (deletes what the config does not
    list, within the delete guards), whatever `prune` says."""
    if config.settings.self_heal != "full":
        return config
    return replace(config, settings=replace(config.settings, prune=True))


@contextlib.contextmanager
def writing_lock(config: Config) -> Iterator[None]:
    """Hold the apply lock for a run that may write, so it plans and applies from a state no
    other apply is changing; a report-only run takes none. On a shared state (PostgreSQL) the
    lock is taken shared: replicas run side by side, never during an apply. Raises
    `ApplyLockHeld`."""
    with contextlib.ExitStack() as held:
        if config.settings.self_heal != "report":
            try:
                shared = config.state is not None
                held.enter_context(lock_state(config, wait=0, shared=shared))
            except PlanRefused as exc:
                raise ApplyLockHeld(str(exc)) from exc
        yield


@contextlib.contextmanager
def run_journal(config: Config) -> Iterator[Journal | None]:
    """The journal for one run, closed after it; a report-only run never creates one."""
    journal = open_journal(config, create=config.settings.self_heal != "report")
    try:
        yield journal
    finally:
        if journal is not None:
            journal.close()


async def with_settled_pins(
    config: Config, provider: Provider, planned: PlannedRun, journal: Journal, now: datetime
) -> PlannedRun:
    """The plan again, if a PIN it drew for a person or stay lost to one another replica
    kept first (`PinStore.keep`): a person whose doors two replicas hold gets one PIN."""
    if not planned.new_pins:
        return planned
    stored = journal.pins.load().pins
    if all(stored.get(h) == planned.keep_pins.get(h) for h in planned.new_pins):
        return planned
    return await plan_run(config, provider, now=now, journal=journal)


def allowed_changes(
    config: Config, plan: Plan, lock_backoff: LockBackoff, now: datetime, emit: Emit
) -> list[Change]:
    """The due changes the self-heal policy and the backoff let through: none for `report`,
    creates and updates for `restore`, deletes too for `full` unless a delete guard refuses
    them (said in a `guard` event)."""
    policy = config.settings.self_heal
    if policy == "report":
        return []
    changes = [c for c in plan.due() if not lock_backoff.waiting(c.device_id, now)]
    if policy == "restore":
        return [c for c in changes if c.action is not Action.DELETE]
    refusals = plan.refusals(
        max_deletes=config.settings.max_deletes,
        max_deletes_per_device=config.settings.max_deletes_per_device,
    )
    if refusals:
        emit("guard", reasons=refusals, detail="deletes skipped; apply with --force")
        return [c for c in changes if c.action is not Action.DELETE]
    return changes


async def apply_changes(
    config: Config,
    provider: Provider,
    planned: PlannedRun,
    changes: list[Change],
    *,
    journal: Journal,
    clock: Clock,
    emit: Emit | None = None,
) -> ApplyReport:
    """Apply only `changes` of the plan (recorded in the journal); the backup codes the run
    pulled are told through `emit` (`report_backups`)."""
    subset = PlannedRun(replace(planned.plan, changes=tuple(changes)), planned.live)
    report = await apply_run(config, provider, subset, journal=journal, clock=clock)
    if emit is not None:
        report_backups(report, emit)
    handed_over = [o for o in report.outcomes if o.error_code == "lease_lost"]
    if handed_over and emit is not None:  # a lock another replica owns now: not a failure,
        emit(  # no backoff, no notice; its owner's run sees where it stands
            "not_sent",
            reason="lease_lost",
            devices=sorted({o.change.device for o in handed_over}),
            changes=len(handed_over),
        )
    kept = tuple(o for o in report.outcomes if o.error_code != "lease_lost")
    return replace(report, outcomes=kept)


def report_backups(report: ApplyReport, emit: Emit) -> None:
    """A `backup_code` event per backup-code pull of the run (pulled, empty, refused, failed),
    with the backup code's id and never its PIN: the controller has no --show-codes, and the
    journal and this event are where a person finds which backup code to hand the guest."""
    for pull in report.backups:
        emit(
            "backup_code",
            device=pull.device,
            name=pull.name,
            access_code_id=pull.access_code_id,
            result=str(pull.state),
            backup_access_code_id=pull.backup_access_code_id,
            message=pull.describe(show_codes=False),
        )


def back_off_failed_locks(report: ApplyReport, lock_backoff: LockBackoff, now: datetime) -> None:
    """Leave the locks whose writes failed alone for a while; a pending change (accepted,
    still being set) is not a failure of its lock."""
    failed = {o.change.device_id for o in report.outcomes if not o.ok}
    tried = (o.change.device_id for o in report.outcomes)
    lock_backoff.record(tried, failed, now)


class ProviderSlot:
    """The process' one provider (HTTP pool, request pacer), rebuilt only when its config
    does, so the pacer keeps what it learnt about rate limits."""

    def __init__(self, factory: ProviderFactory, clock: Clock, emit: Emit) -> None:
        self.factory = factory
        self.clock = clock
        self.emit = emit
        self._provider: Provider | None = None
        self._key: tuple[object, ...] | None = None

    async def get(self, config: Config) -> Provider:
        """The provider for this config; a new one (the old one closed) only when the config's
        provider section or the settings that shape it changed."""
        key = (config.base_dir, config.provider, config.settings.concurrency)
        if self._provider is None or key != self._key:
            await self.close()
            self._provider = self.factory(config, self.clock)
            self._key = key
        return self._provider

    async def close(self) -> None:
        """Close the provider, if there is one; a failure to close is logged, not raised."""
        provider, self._provider, self._key = self._provider, None, None
        if provider is None:
            return
        try:
            await provider.aclose()
        except Exception as exc:
            self.emit("provider_close_failed", kind=type(exc).__name__)
