"""The work behind each CLI command: load, plan, apply, print.

`cli.py` only parses arguments and turns errors into exit codes; each function here runs one
command from parsed arguments and returns its exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reconciler.errors import ConfigError, PlanRefused, UsageError

if TYPE_CHECKING:
    from reconciler.applier import Outcome
    from reconciler.config import Config
    from reconciler.providers.base import Provider
    from reconciler.verify import CodeCheck

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


async def check_devices(config: Config) -> str:
    """Check each code against its lock's capabilities; raise `ConfigError` on problems.
    Returns a note when the provider cannot be asked (no key, unreachable)."""
    from reconciler.devicecheck import device_problems
    from reconciler.errors import ProviderError
    from reconciler.providers import make_provider

    now = datetime.now(UTC)
    try:
        provider = make_provider(config, clock=lambda: now)
    except UsageError as exc:
        return f"Note: device checks skipped: {exc}"
    try:
        devices = await provider.list_devices([d.device_id for d in config.devices])
    except ProviderError as exc:
        return f"Note: device checks skipped: {exc}"
    finally:
        await provider.aclose()
    problems = device_problems(config, {d.device_id: d for d in devices}, now=now)
    if problems:
        raise ConfigError(problems)
    return ""


async def plan_or_apply(args: argparse.Namespace, config: Config) -> int:
    from reconciler.providers import make_provider
    from reconciler.render import RENDERERS, render_text
    from reconciler.review import check_saved, pin_key, read_saved
    from reconciler.run import PlannedRun, apply_run, journal_path, open_journal, plan_run

    fixed_now: datetime | None = args.now
    now = fixed_now or datetime.now(UTC)
    provider = make_provider(config, clock=lambda: fixed_now or datetime.now(UTC))
    journal = open_journal(config, create=False)
    saved = read_saved(args.planfile) if args.command == "apply" and args.planfile else None
    try:
        planned = await plan_run(config, provider, now=now, journal=journal)
        key = pin_key(journal_path(config).parent)
        planned = PlannedRun(replace(planned.plan, pin_key=key), planned.live)
        data = planned.plan.to_data(show_codes=args.show_codes)
        if args.command == "plan":
            if args.out:
                masked = planned.plan.to_data(show_codes=False)
                args.out.write_text(json.dumps(masked, indent=2) + "\n", encoding="utf-8")
            if args.format == "text":
                sys.stdout.write(render_text(data, colour=colour(sys.stdout)))
            else:
                sys.stdout.write(RENDERERS[args.format](data))
            if args.detailed_exitcode and planned.plan.has_changes:
                return EXIT_CHANGES
            return EXIT_OK
        sys.stdout.write(render_text(data, colour=colour(sys.stdout)))
        if saved is not None:
            check_saved(saved, planned.plan, ttl=config.settings.plan_ttl)
            print(f"The plan matches the saved one ({planned.plan.checksum[:19]}...).")
        due = planned.plan.due()
        if not due:
            return EXIT_OK
        refusals = planned.plan.refusals(
            max_deletes=config.settings.max_deletes,
            max_deletes_per_device=config.settings.max_deletes_per_device,
        )
        if refusals and not args.force:
            for reason in refusals:
                print(f"Refused: {reason}", file=sys.stderr)
            raise PlanRefused(
                "the plan trips a delete guard; nothing was applied (--force to go on)"
            )
        if saved is None and not args.auto_approve:
            confirm(len(due))
        journal = journal or open_journal(config, create=True)
        report = await apply_run(
            config,
            provider,
            planned,
            journal=journal,
            on_outcome=print_outcome,
            clock=lambda: fixed_now or datetime.now(UTC),
        )
        counts = report.counts()
        print(
            f"\nApply complete: {counts['create']} created, {counts['update']} updated, "
            f"{counts['delete']} deleted, {counts['failed']} failed."
        )
        checks = await verify(args, provider, report.outcomes, fixed_now)
        unset = [c for c in checks if c.state == "failed"]
        return EXIT_ERROR if report.failed or unset else EXIT_OK
    finally:
        await provider.aclose()
        if journal is not None:
            journal.close()


async def timeline_command(args: argparse.Namespace, config: Config) -> int:
    """Read only the selected locks, plan, and print the plan as a timeline (never a PIN)."""
    from dataclasses import replace

    from reconciler.providers import make_provider
    from reconciler.run import plan_run
    from reconciler.timeline import (
        build_timeline,
        render_timeline_json,
        render_timeline_text,
        select_devices,
    )

    fixed_now: datetime | None = args.now
    config = replace(config, devices=select_devices(config.devices, args.device))
    provider = make_provider(config, clock=lambda: fixed_now or datetime.now(UTC))
    try:
        planned = await plan_run(config, provider, now=fixed_now or datetime.now(UTC))
    finally:
        await provider.aclose()
    capabilities = {key: live.device.capabilities for key, live in planned.live.items()}
    timeline = build_timeline(
        config.devices,
        planned.plan,
        capabilities,
        config.settings,
        start=args.start,
        end=args.end,
    )
    render = render_timeline_json if args.format == "json" else render_timeline_text
    sys.stdout.write(render(timeline))
    return EXIT_OK


async def import_command(args: argparse.Namespace) -> int:
    from reconciler.config import Config, load_config
    from reconciler.configschema import ProviderConfig
    from reconciler.importer import import_config
    from reconciler.models import DeviceId, DeviceKey
    from reconciler.providers import make_provider
    from reconciler.settings import Settings

    devices: list[tuple[DeviceKey, DeviceId]] = []
    if args.config.exists():
        config = load_config(args.config)
        devices = [(d.key, d.device_id) for d in config.devices]
        provider_spec = config.provider
    else:
        provider_spec = ProviderConfig(kind=args.provider or "sim")
        config = Config((), Path.cwd(), provider_spec, Settings(), ())
    for item in args.device:
        key, sep, device_id = item.partition("=")
        if not sep or not key or not device_id:
            raise UsageError(f"--device takes KEY=DEVICE_ID, not {item!r}")
        devices = [d for d in devices if d[0] != key] + [(DeviceKey(key), DeviceId(device_id))]
    if not devices:
        raise UsageError("nothing to import: name locks with --device KEY=DEVICE_ID")
    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    fields = {"kind": provider_spec.kind}
    fields.update(provider_spec.model_dump(exclude_defaults=True, exclude={"kind"}))
    provider_yaml = "provider:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in fields.items())
    try:
        result = await import_config(
            provider,
            devices,
            provider_yaml=provider_yaml,
            literal_codes=args.show_codes,
            include_unmanaged=args.include_unmanaged,
        )
    finally:
        await provider.aclose()
    if args.out:
        args.out.write_text(result.yaml, encoding="utf-8")
    else:
        sys.stdout.write(result.yaml)
    if args.env_file and result.env:
        fd = os.open(args.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(f"{k}={v}\n" for k, v in result.env.items())
    elif result.env:
        print(
            f"{len(result.env)} PINs are ${{VAR}} references; --env-file FILE writes their values",
            file=sys.stderr,
        )
    for device_id in result.missing:
        print(f"Warning: the provider does not know device {device_id}", file=sys.stderr)
    return EXIT_ERROR if result.missing else EXIT_OK


def tamper_command(config: Config, args: argparse.Namespace) -> int:
    from reconciler.providers import make_provider
    from reconciler.providers.sim import SimProvider
    from reconciler.providers.simtamper import tamper

    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    if not isinstance(provider, SimProvider):
        raise UsageError("sim tamper works on the simulator only (provider kind: sim)")
    print(tamper(provider, args.action, args.device_id, args.name, args.code))
    return EXIT_OK


def history_command(config: Config, limit: int) -> int:
    from reconciler.run import open_journal

    journal = open_journal(config, create=False)
    if journal is None:
        print("No applies recorded yet.")
        return EXIT_OK
    try:
        rows = journal.history(limit)
    finally:
        journal.close()
    run = None
    for row in rows:
        if row.run_id != run:
            run = row.run_id
            checksum = (row.plan_checksum or "")[:19]
            print(
                f"run {row.run_id}  {row.started_at}  {row.actor}  {row.command}  "
                f"{row.run_outcome}  {checksum}"
            )
        if row.action is not None:
            error = f" [{row.error_code}]" if row.error_code else ""
            print(f"    {row.at}  {row.device} / {row.name}: {row.action} {row.status}{error}")
    return EXIT_OK


async def verify(
    args: argparse.Namespace,
    provider: Provider,
    outcomes: Sequence[Outcome],
    fixed_now: datetime | None,
) -> list[CodeCheck]:
    """Report where each written code stands; with --wait, poll until it is set."""
    from reconciler.verify import accepted, wait_until_set

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
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a confirmation and standard input is not a terminal: "
            "review the plan and run again with --auto-approve"
        )
    answer = input(f"\nApply {count} change{'s' if count != 1 else ''}? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was changed")


def print_outcome(outcome: Outcome) -> None:
    change = outcome.change
    status = "ok" if outcome.ok else "FAILED"
    code = f" [{outcome.error_code}]" if outcome.error_code else ""
    print(f"{change.device} / {change.name}: {change.action} {status}: {outcome.message}{code}")


def colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ
