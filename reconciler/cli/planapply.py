"""`plan` and `apply`: read the locks, plan, show; for apply, check and carry out the plan.

Exit codes CI can trust: `apply` exits 1 when any change failed, ended unknown (the provider's
answer was lost) or was skipped, when a written code is not set on its lock, and when a change
of the plan stayed `blocked`, even if nothing else was due; PENDING outcomes (still being
programmed) count as success. `apply --now` is refused against real locks, a saved plan must
carry a valid seal (review.py), and `--device` limits a run to some devices.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.cli import planstream, terminal
from reconciler.cli.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.core.errors import PlanRefused, UsageError

if TYPE_CHECKING:
    from reconciler.apply.applier import Outcome
    from reconciler.apply.backup import BackupPull
    from reconciler.apply.run import PlannedRun
    from reconciler.apply.verify import CodeCheck
    from reconciler.config.load import Config
    from reconciler.core.plan import Plan
    from reconciler.providers.base import Provider
    from reconciler.state.journal import Journal

ALLOW_NOW_ON_APPLY = "ACCESSCODES_ALLOW_NOW_ON_APPLY"
STATE_LABELS = {
    "ok": "ok",
    "pending": "PENDING",
    "failed": "FAILED",
    "unknown": "UNKNOWN",
    "skipped": "SKIPPED",
}


def refuse_now_on_real_locks(args: argparse.Namespace, config: Config) -> None:
    """`apply --now` only on the simulator: against real locks it would apply a plan made for
    another time, and delete the codes of guests who are current now. `plan --now` and
    `timeline --now` only read, so they stay allowed. (`ACCESSCODES_ALLOW_NOW_ON_APPLY=1` lets
    tests drive a fake Seam server through time; never set it against real locks.)"""
    if args.now is None or config.provider.kind == "sim":
        return
    if os.environ.get(ALLOW_NOW_ON_APPLY) == "1":
        return
    raise UsageError(
        f"--now on apply works on the simulator only, not on provider kind "
        f"{config.provider.kind!r}: it would apply a plan made for another time to the real "
        "locks (and delete the codes of guests who are current now); nothing was read or "
        "written. Look ahead with `plan --now` or `timeline --now`"
    )


def limit_to_devices(config: Config, keys: Sequence[str]) -> Config:
    """With `--device KEY` (repeatable), only those devices are read, planned and applied,
    like Terraform's `-target`: to revoke one door in a hurry, or get past one blocked lock.
    An unknown key is an error listing the known ones."""
    if not keys:
        return config
    from reconciler.planning.timeline import select_devices

    devices = select_devices(config.devices, keys)
    print(
        f"Note: the plan is limited to {', '.join(d.key for d in devices)} (--device); "
        "the other devices are neither read nor changed.",
        file=sys.stderr,
    )
    return replace(config, devices=devices)


def read_sealed_plan(args: argparse.Namespace, config: Config) -> dict[str, Any] | None:
    """`apply FILE`: the saved plan, its seal checked before anything is read or written."""
    from reconciler.apply.review import check_seal, pin_key, read_saved
    from reconciler.apply.run import journal_path

    if args.planfile is None:
        return None
    saved = read_saved(args.planfile)
    check_seal(saved, args.planfile, pin_key(journal_path(config).parent))
    return saved


async def plan_or_apply(
    args: argparse.Namespace, config: Config, *, saved: dict[str, Any] | None = None
) -> int:
    """`plan` or `apply`: read the locks, plan, and show or carry out the plan. `saved` is a
    plan file whose seal `read_sealed_plan` checked."""
    from reconciler.apply.run import open_journal
    from reconciler.providers import make_provider

    fixed_now: datetime | None = args.now
    provider = make_provider(config, clock=lambda: fixed_now or datetime.now(UTC))
    # An apply keeps its feeds' copies from its first run on (the last good copy is what a
    # feed that fails later is planned from); a plan never creates the state store.
    writes_state = args.command == "apply" and bool(config.sources)
    journal = open_journal(config, create=writes_state)
    try:
        if planstream.streams(args):
            return await planstream.stream_json_plan(args, config, provider, journal)
        planned, key = await _plan_with_key(args, config, provider, journal)
        if args.command == "plan":
            return _show_plan(args, planned.plan, key)
        return await _apply(args, config, provider, planned, journal, saved)
    finally:
        await provider.aclose()
        if journal is not None:
            journal.close()


async def _plan_with_key(
    args: argparse.Namespace, config: Config, provider: Provider, journal: Journal | None
) -> tuple[PlannedRun, bytes | None]:
    """The plan, with the plan key folding PINs into its checksum; `plan --out` creates the
    key when there is none, so that the file can be sealed."""
    from reconciler.apply.review import pin_key, sealing_key
    from reconciler.apply.run import journal_path, plan_run

    with terminal.progress(len(config.devices), "Reading locks") as tick:
        planned = await plan_run(
            config,
            provider,
            now=args.now or datetime.now(UTC),
            journal=journal,
            on_device_read=tick,
            keep_live=args.command == "apply",  # (a plan that is only shown lets codes go)
        )
    state_dir = journal_path(config).parent
    key = sealing_key(state_dir) if args.command == "plan" and args.out else pin_key(state_dir)
    return replace(planned, plan=replace(planned.plan, pin_key=key)), key


def _show_plan(args: argparse.Namespace, plan: Plan, key: bytes | None) -> int:
    """`plan`: print it, and with `--out` save it masked and sealed."""
    from reconciler.apply.review import sealed
    from reconciler.cli.render import RENDERERS, dumps_indented, plan_lines, write_json

    if args.out:
        assert key is not None  # sealing_key always gives one
        masked = sealed(plan.to_data(show_codes=False), key)
        args.out.write_text(dumps_indented(masked) + "\n", encoding="utf-8")
    if args.format == "json":  # (with --out: written from the whole plan, `planstream` else)
        write_json(plan, sys.stdout, show_codes=args.show_codes)
    elif args.format == "text":
        terminal.write_lines(sys.stdout, plan_lines(plan.to_data(show_codes=args.show_codes)))
    else:
        data = plan.to_data(show_codes=args.show_codes)
        sys.stdout.write(RENDERERS[args.format](data))
    if args.detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


async def _apply(
    args: argparse.Namespace,
    config: Config,
    provider: Provider,
    planned: PlannedRun,
    journal: Journal | None,
    saved: dict[str, Any] | None,
) -> int:
    """`apply`: show the plan, check it against the saved one and the delete guards, confirm,
    carry out what is due; exit 1 on any failure or when a change stays blocked."""
    from reconciler.apply.review import check_saved
    from reconciler.cli.render import plan_lines

    plan = planned.plan
    terminal.write_lines(sys.stdout, plan_lines(plan.to_data(show_codes=args.show_codes)))
    if saved is not None:
        check_saved(saved, plan, ttl=config.settings.plan_ttl)
        print(f"The plan matches the saved one ({plan.checksum[:19]}...).")
    due = plan.due()
    code = EXIT_OK
    if not due and planned.keep_pins:
        _keep_pins_only(config, planned, journal, args.now, show=args.show_codes)
    if due:
        refuse_on_guards(args, config, plan)
        if saved is None and not args.auto_approve:
            confirm(len(due))
        code = await _carry_out(args, config, provider, planned, journal)
    return max(code, report_blocked(plan))


def _keep_pins_only(
    config: Config,
    planned: PlannedRun,
    journal: Journal | None,
    now: datetime | None,
    *,
    show: bool,
) -> None:
    """An apply with nothing due yet still fixes the PINs drawn for people and stays, so the
    PIN a guest is told days ahead is the one their door will get."""
    from reconciler.apply.run import keep_pins, open_journal

    writing = journal or open_journal(config, create=True)
    assert writing is not None
    try:
        keep_pins(writing, planned, now or datetime.now(UTC))
    finally:
        if journal is None:
            writing.close()
    print_new_pins(planned, show=show)


def print_new_pins(planned: PlannedRun, *, show: bool) -> None:
    """Say which people and stays were given a new PIN by this apply (masked unless
    `--show-codes`): the one place where a PIN drawn by accesscodes is first told."""
    labels = planned.labels
    for key in sorted(planned.new_pins, key=lambda k: labels.get(k, k)):
        pin = planned.keep_pins[key] if show else "****"
        print(f"New PIN for {labels.get(key, key)}: {pin} (kept in the state store)")


def refuse_on_guards(args: argparse.Namespace, config: Config, plan: Plan) -> None:
    """Raise `PlanRefused` when the plan trips a delete guard and `--force` was not given."""
    refusals = plan.refusals(
        max_deletes=config.settings.max_deletes,
        max_deletes_per_device=config.settings.max_deletes_per_device,
    )
    if refusals and not args.force:
        for reason in refusals:
            print(f"Refused: {reason}", file=sys.stderr)
        raise PlanRefused("the plan trips a delete guard; nothing was applied (--force to go on)")


async def _carry_out(
    args: argparse.Namespace,
    config: Config,
    provider: Provider,
    planned: PlannedRun,
    journal: Journal | None,
) -> int:
    """Apply the due changes, print each outcome and the counts, verify the written codes."""
    from reconciler.apply.run import apply_run, open_journal

    fixed_now: datetime | None = args.now
    writing = journal or open_journal(config, create=True)
    try:
        with terminal.progress(len(planned.plan.due()), "Writing codes") as tick:
            report = await apply_run(
                config,
                provider,
                planned,
                journal=writing,
                on_outcome=_printing(tick),
                clock=lambda: fixed_now or datetime.now(UTC),
            )
    finally:
        if journal is None and writing is not None:
            writing.close()
    print(f"\nApply complete: {closing_counts(report.counts())}.")
    print_new_pins(planned, show=args.show_codes)
    unsettled = [o for o in report.outcomes if _state(o) in ("unknown", "skipped")]
    if unsettled:
        print(
            f"{len(unsettled)} change{'s' if len(unsettled) != 1 else ''} ended unknown or "
            "skipped: plan again to see where it stands.",
            file=sys.stderr,
        )
    checks = await verify(args, provider, report.outcomes, fixed_now)
    print_backups(report.backups, show_codes=args.show_codes)
    unset = [c for c in checks if c.state == "failed"]
    return EXIT_ERROR if report.failed or unset else EXIT_OK


def closing_counts(counts: Mapping[str, int]) -> str:
    """The counts of the closing line, in the words tests and users read ("1 created, ...")."""
    words = [
        ("create", "created"),
        ("update", "updated"),
        ("delete", "deleted"),
        ("failed", "failed"),
        ("skipped", "skipped"),
        ("unknown", "unknown"),
    ]
    parts = [f"{counts.get(key, 0)} {word}" for key, word in words]
    if counts.get("pending"):
        parts.append(f"{counts['pending']} pending")
    return ", ".join(parts)


def report_blocked(plan: Plan) -> int:
    """One line per blocked change of the plan, and exit 1 if there is any: a plan that left
    a change blocked did not reach the config, and CI must not read it as success."""
    from reconciler.core.plan import Action

    blocked = [c for c in plan.changes if c.action is Action.BLOCKED]
    for change in blocked:
        reason = "; ".join(change.reasons) or "blocked"
        print(f"Blocked: {change.device} / {change.name}: {reason}", file=sys.stderr)
    if not blocked:
        return EXIT_OK
    count = len(blocked)
    print(
        f"Error: {count} change{'s' if count != 1 else ''} of the plan stayed blocked and "
        f"{'were' if count != 1 else 'was'} not applied (reasons above).",
        file=sys.stderr,
    )
    return EXIT_ERROR


async def verify(
    args: argparse.Namespace,
    provider: Provider,
    outcomes: Sequence[Outcome],
    fixed_now: datetime | None,
) -> list[CodeCheck]:
    """Report where each written code stands; with --wait, poll until it is set."""
    from reconciler.apply.verify import accepted, wait_until_set

    if args.wait is None:
        checks = accepted(outcomes)
    else:
        print(f"Waiting up to {args.wait:.0f} s for the locks to hold the codes...")
        checks = await wait_until_set(
            provider,
            outcomes,
            timeout=args.wait,
            clock=lambda: fixed_now or datetime.now(UTC),
            sleep=asyncio.sleep,
        )
    for check in checks:
        change = check.outcome.change
        code = f" [{check.error_code}]" if check.error_code else ""
        print(f"{change.device} / {change.name}: {check.state} ({check.detail}){code}")
    return checks


def confirm(count: int) -> None:
    """Ask on a terminal; anything but `yes`, or no terminal at all, applies nothing."""
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a confirmation and standard input is not a terminal: "
            "review the plan and run again with --auto-approve"
        )
    answer = input(f"\nApply {count} change{'s' if count != 1 else ''}? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was changed")


def print_outcome(outcome: Outcome) -> None:
    """One line per change as it lands: ok, PENDING (progressing), FAILED, UNKNOWN (the
    provider's answer was lost) or SKIPPED (held back by another change's failure)."""
    change = outcome.change
    status = STATE_LABELS.get(_state(outcome), _state(outcome).upper())
    code = f" [{outcome.error_code}]" if outcome.error_code else ""
    print(f"{change.device} / {change.name}: {change.action} {status}: {outcome.message}{code}")


def print_backups(pulls: Sequence[BackupPull], *, show_codes: bool) -> None:
    """One line per backup code pulled (its PIN masked unless --show-codes) on stdout, and per
    pull that found the pool empty or failed on stderr: each is told once, at the run that
    made it (the journal keeps the backup code's id, never its PIN)."""
    for pull in pulls:
        pulled = str(pull.state) == "pulled"
        print(
            f"Backup: {pull.describe(show_codes=show_codes)}",
            file=sys.stdout if pulled else sys.stderr,
        )


def _printing(tick: Callable[[], None]) -> Callable[[Outcome], None]:
    """One step of the progress bar (`tick`), then `print_outcome` (so the bar redrawn below
    the line already counts it)."""

    def on_outcome(outcome: Outcome) -> None:
        tick()
        print_outcome(outcome)

    return on_outcome


def _state(outcome: Outcome) -> str:
    """The outcome's state as text: ok, pending, failed, unknown or skipped."""
    return str(outcome.state)
