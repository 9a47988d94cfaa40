"""The `accesscodes` command: argument parsing, output and exit codes, nothing else.

Exit codes follow contract.md: 0 ok, 1 error or refusal, and with `plan --detailed-exitcode`
2 when there are changes. Every error is one clear message; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reconciler import __version__
from reconciler.errors import AccessCodesError, ConfigError, PlanRefused, UsageError

if TYPE_CHECKING:
    from reconciler.applier import Outcome
    from reconciler.config import Config
    from reconciler.providers.base import Provider
    from reconciler.verify import CodeCheck

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accesscodes",
        description="GitOps for smart-lock access codes: plan and apply PIN codes from YAML.",
    )
    parser.add_argument("--version", action="version", version=f"accesscodes {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-c",
            "--config",
            type=Path,
            default=Path("accesscodes.yaml"),
            help="config file or directory of *.yaml files (default: accesscodes.yaml)",
        )
        sub.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks on errors",
        )

    validate = commands.add_parser(
        "validate", help="check the config; every problem with file:line"
    )
    with_config(validate)
    validate.add_argument(
        "--skip-devices",
        action="store_true",
        help="check the config alone, without asking the provider about the locks",
    )

    plan = commands.add_parser("plan", help="read the locks and show what apply would change")
    with_config(plan)
    plan.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plan.add_argument("--out", type=Path, help="also write the plan JSON (PINs masked) here")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 without changes, 2 with changes, 1 on error",
    )
    _plan_options(plan)

    apply = commands.add_parser("apply", help="plan, confirm and carry out the changes")
    with_config(apply)
    apply.add_argument(
        "planfile",
        nargs="?",
        type=Path,
        help="a plan saved with `plan --out`: applied only if planning again gives the same plan",
    )
    apply.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    apply.add_argument(
        "--force",
        action="store_true",
        help="apply past the delete guards (max_deletes, codes active now)",
    )
    apply.add_argument(
        "--wait",
        nargs="?",
        const=300.0,
        default=None,
        type=_wait_seconds,
        metavar="DURATION",
        help="wait (default 5m) until each written code is set on its lock; fail if not",
    )
    apply.add_argument(
        "--lock-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for another apply of this config to finish (default 30)",
    )
    _plan_options(apply)

    imports = commands.add_parser(
        "import", help="write config for the codes already on the locks (onboarding)"
    )
    with_config(imports)
    imports.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="KEY=DEVICE_ID",
        help="a lock to import, under the key KEY (repeatable)",
    )
    imports.add_argument(
        "--provider",
        choices=("sim", "seam"),
        default=None,
        help="provider when -c names no existing config (default: sim)",
    )
    imports.add_argument("--out", type=Path, help="write the YAML here instead of stdout")
    imports.add_argument(
        "--env-file", type=Path, help="write the PINs as VAR=PIN lines here (mode 0600)"
    )
    imports.add_argument(
        "--show-codes",
        action="store_true",
        help="write PINs into the YAML instead of ${VAR} references",
    )
    imports.add_argument(
        "--include-unmanaged",
        action="store_true",
        help="list unmanaged codes as entries instead of comments",
    )

    timeline = commands.add_parser(
        "timeline", help="per device, which codes are on the locks and active when"
    )
    with_config(timeline)
    timeline.add_argument(
        "--device", action="append", default=[], metavar="KEY", help="only this device (repeatable)"
    )
    timeline.add_argument(
        "--from", dest="start", type=_parse_now, help="start of the period (default: now)"
    )
    timeline.add_argument(
        "--to", dest="end", type=_parse_now, help="end of the period (default: now + horizon)"
    )
    timeline.add_argument("--now", type=_parse_now, help="as if it were this time (ISO 8601)")
    timeline.add_argument("--format", choices=("text", "json"), default="text")

    controller = commands.add_parser(
        "controller", help="reconcile continuously; /healthz, /readyz, /metrics"
    )
    with_config(controller)
    controller.add_argument(
        "--interval",
        type=_wait_seconds,
        default=300.0,
        metavar="DURATION",
        help="time between runs when nothing else wakes it (default 5m)",
    )
    controller.add_argument(
        "--listen",
        type=_address,
        default=None,
        metavar="HOST:PORT",
        help="serve /healthz, /readyz and /metrics here (e.g. 127.0.0.1:9108)",
    )
    controller.add_argument(
        "--once", action="store_true", help="one run, then exit (0 if it succeeded)"
    )

    sim = commands.add_parser("sim", help="the simulator's tools")
    sim_commands = sim.add_subparsers(dest="sim_command", metavar="SIM_COMMAND", required=True)
    tamper = sim_commands.add_parser(
        "tamper", help="make a simulated lock drift (keypad edit, vendor app, offline...)"
    )
    with_config(tamper)
    tamper.add_argument(
        "action",
        choices=("change-pin", "disable", "add-unmanaged", "remove", "offline", "online", "fail"),
    )
    tamper.add_argument("device_id", help="the simulated lock's device_id")
    tamper.add_argument("name", nargs="?", help="the code's name (not for offline/online)")
    tamper.add_argument("--code", help="the PIN to set (default: a random one)")

    history = commands.add_parser("history", help="the journal: past applies and their changes")
    with_config(history)
    history.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")

    schema = commands.add_parser("schema", help="print the config's JSON Schema")
    schema.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return parser


def _plan_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--now", type=_parse_now, help="plan as if it were this time (ISO 8601)")
    sub.add_argument("--show-codes", action="store_true", help="print PINs instead of ****")


def _parse_now(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(
            f"Error: the config has {count} problem{'s' if count != 1 else ''}; "
            "nothing was applied.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except AccessCodesError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"Error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "schema":
        from reconciler.configschema import config_json_schema

        print(json.dumps(config_json_schema(), indent=2))
        return EXIT_OK
    from reconciler.config import load_config

    if args.command == "controller":
        from reconciler.daemon import run_controller

        return asyncio.run(
            run_controller(args.config, interval=args.interval, listen=args.listen, once=args.once)
        )
    if args.command == "import":
        return asyncio.run(_import(args))
    config = load_config(args.config)
    for warning in config.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.command == "sim":
        return _tamper(config, args)
    if args.command == "history":
        return _history(config, args.limit)
    if args.command == "validate":
        note = "" if args.skip_devices else asyncio.run(_check_devices(config))
        devices = len(config.devices)
        codes = sum(len(d.codes) for d in config.devices)
        print(f"{', '.join(map(str, config.paths))}: valid ({devices} devices, {codes} codes)")
        if note:
            print(note, file=sys.stderr)
        return EXIT_OK
    if args.command == "timeline":
        return asyncio.run(_timeline(args, config))
    if args.command == "apply":
        from reconciler.run import journal_path
        from reconciler.statelock import apply_lock

        with apply_lock(journal_path(config).parent, wait=args.lock_timeout):
            return asyncio.run(_plan_or_apply(args, config))
    return asyncio.run(_plan_or_apply(args, config))


async def _check_devices(config: Config) -> str:
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


async def _plan_or_apply(args: argparse.Namespace, config: Config) -> int:
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
                sys.stdout.write(render_text(data, colour=_colour(sys.stdout)))
            else:
                sys.stdout.write(RENDERERS[args.format](data))
            if args.detailed_exitcode and planned.plan.has_changes:
                return EXIT_CHANGES
            return EXIT_OK
        sys.stdout.write(render_text(data, colour=_colour(sys.stdout)))
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
            _confirm(len(due))
        journal = journal or open_journal(config, create=True)
        report = await apply_run(
            config,
            provider,
            planned,
            journal=journal,
            on_outcome=_print_outcome,
            clock=lambda: fixed_now or datetime.now(UTC),
        )
        counts = report.counts()
        print(
            f"\nApply complete: {counts['create']} created, {counts['update']} updated, "
            f"{counts['delete']} deleted, {counts['failed']} failed."
        )
        checks = await _verify(args, provider, report.outcomes, fixed_now)
        unset = [c for c in checks if c.state == "failed"]
        return EXIT_ERROR if report.failed or unset else EXIT_OK
    finally:
        await provider.aclose()
        if journal is not None:
            journal.close()


async def _timeline(args: argparse.Namespace, config: Config) -> int:
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


async def _import(args: argparse.Namespace) -> int:
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


def _tamper(config: Config, args: argparse.Namespace) -> int:
    from reconciler.providers import make_provider
    from reconciler.providers.sim import SimProvider
    from reconciler.providers.simtamper import tamper

    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    if not isinstance(provider, SimProvider):
        raise UsageError("sim tamper works on the simulator only (provider kind: sim)")
    print(tamper(provider, args.action, args.device_id, args.name, args.code))
    return EXIT_OK


def _history(config: Config, limit: int) -> int:
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


async def _verify(
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


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


def _wait_seconds(text: str) -> float:
    from reconciler.settings import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _confirm(count: int) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a confirmation and standard input is not a terminal: "
            "review the plan and run again with --auto-approve"
        )
    answer = input(f"\nApply {count} change{'s' if count != 1 else ''}? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was changed")


def _print_outcome(outcome: Outcome) -> None:
    change = outcome.change
    status = "ok" if outcome.ok else "FAILED"
    code = f" [{outcome.error_code}]" if outcome.error_code else ""
    print(f"{change.device} / {change.name}: {change.action} {status}: {outcome.message}{code}")


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ
