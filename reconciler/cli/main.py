"""The `accesscodes` command: argument parsing, output and exit codes, nothing else.

Exit codes follow contract.md: 0 ok, 1 error or refusal (for `apply` also: a change failed,
ended unknown or skipped, or stayed blocked), and with `plan --detailed-exitcode` 2 when there
are changes. Every error is one clear message; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler import __version__
from reconciler.cli import commands, eventloop
from reconciler.cli.commands import EXIT_ERROR, EXIT_OK
from reconciler.cli.toolargs import add_tools as _add_tools
from reconciler.cli.toolargs import parse_now as _parse_now
from reconciler.cli.toolargs import with_config as _with_config
from reconciler.cli.webhooks import add_webhooks as _add_webhooks
from reconciler.core.errors import AccessCodesError, ConfigError

if TYPE_CHECKING:
    from reconciler.config.load import Config

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _parser() -> argparse.ArgumentParser:
    """Every command and its options."""
    parser = argparse.ArgumentParser(
        prog="accesscodes",
        description="GitOps for smart-lock access codes: plan and apply PIN codes from YAML.",
    )
    parser.add_argument("--version", action="version", version=f"accesscodes {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_init(subparsers)
    _add_validate(subparsers)
    _add_plan_and_apply(subparsers)
    _add_import(subparsers)
    _add_timeline_and_controller(subparsers)
    _add_tools(subparsers)
    _add_webhooks(subparsers)
    return parser


def _add_init(subparsers: Subparsers) -> None:
    """`init`: the parsing of its zone lives with the command (`reconciler.cli.init`), which
    is imported only when it runs."""
    init = subparsers.add_parser(
        "init", help="write a starter config for the simulator, dated from today"
    )
    init.add_argument("dir", type=Path, metavar="DIR", help="the folder to write it into")
    init.add_argument("--now", type=_parse_now, help="date it as if it were this time (ISO 8601)")
    init.add_argument(
        "--timezone",
        type=_zone,
        metavar="ZONE",
        help="the doors' IANA time zone (default: this machine's, else UTC)",
    )
    init.add_argument(
        "--force", action="store_true", help="write even if DIR already holds *.yaml files"
    )
    init.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)


def _zone(text: str) -> str:
    from reconciler.cli.init import zone_argument

    return zone_argument(text)


def _add_validate(subparsers: Subparsers) -> None:
    """`validate`."""
    validate = subparsers.add_parser(
        "validate", help="check the config; every problem with file:line"
    )
    _with_config(validate)
    validate.add_argument(
        "--skip-devices",
        action="store_true",
        help="check the config alone, without asking the provider about the locks",
    )


def _add_plan_and_apply(subparsers: Subparsers) -> None:
    """`plan` and `apply`."""
    plan = subparsers.add_parser("plan", help="read the locks and show what apply would change")
    _with_config(plan)
    plan.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plan.add_argument("--out", type=Path, help="also write the plan JSON (PINs masked) here")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 without changes, 2 with changes, 1 on error",
    )
    _plan_options(plan)

    apply = subparsers.add_parser("apply", help="plan, confirm and carry out the changes")
    _with_config(apply)
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


def _add_import(subparsers: Subparsers) -> None:
    """`import`."""
    imports = subparsers.add_parser(
        "import", help="write config for the codes already on the locks (onboarding)"
    )
    _with_config(imports)
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


def _add_timeline(subparsers: Subparsers) -> None:
    """`timeline`: text, JSON, or a picture (html, svg, mermaid), to stdout or `-o FILE`."""
    timeline = subparsers.add_parser(
        "timeline", help="per device, which codes are on the locks and active when"
    )
    _with_config(timeline)
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
    timeline.add_argument(
        "--format",
        choices=("text", "json", "html", "svg", "mermaid"),
        default="text",
        help="html: one self-contained page with the picture; svg: the picture alone; "
        "mermaid: a gantt chart for GitHub markdown (default: text)",
    )
    timeline.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write it to FILE instead of stdout"
    )


def _add_timeline_and_controller(subparsers: Subparsers) -> None:
    """`timeline` and `controller`."""
    _add_timeline(subparsers)
    controller = subparsers.add_parser(
        "controller", help="reconcile continuously; a status page at /, /healthz, /readyz, /metrics"
    )
    _with_config(controller)
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
        help="serve the status page at / and /healthz, /readyz, /metrics here (e.g. 9108 or "
        ":9108: 127.0.0.1; beyond loopback / needs ACCESSCODES_STATUS_TOKEN)",
    )
    controller.add_argument(
        "--once", action="store_true", help="one run, then exit (0 if it succeeded)"
    )
    controller.add_argument(
        "--events",
        choices=("poll", "webhook", "off"),
        default="off",
        help="act on Seam's events between full runs: poll reads events/list every 5 s, "
        "webhook takes them on --listen's /webhooks/seam (SEAM_WEBHOOK_SECRET); with events "
        "on, --interval 1h is enough (default: off)",
    )
    controller.add_argument(
        "--lease",
        type=_wait_seconds,
        default=30.0,
        metavar="DURATION",
        help="with --state postgresql://...: how long a replica's hold on a device lasts "
        "unless renewed; a dead replica's devices are taken over after it (default 30s)",
    )


def _plan_options(sub: argparse.ArgumentParser) -> None:
    """The options `plan` and `apply` share."""
    sub.add_argument(
        "--now",
        type=_parse_now,
        help="plan as if it were this time (ISO 8601); apply: on the simulator only",
    )
    sub.add_argument("--show-codes", action="store_true", help="print PINs instead of ****")
    sub.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="KEY",
        help="only this device is read, planned and applied (repeatable), like -target",
    )


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
    if args.command == "init":
        from reconciler.cli.init import init_command

        return init_command(args)
    if args.command == "schema":
        from reconciler.config.schema import config_json_schema

        print(json.dumps(config_json_schema(), indent=2))
        return EXIT_OK
    if args.command == "controller":
        from reconciler.controller.daemon import run_controller

        return asyncio.run(
            run_controller(
                args.config,
                interval=args.interval,
                listen=args.listen,
                once=args.once,
                events=args.events,
                state=getattr(args, "state", None),
                lease=args.lease,
            )
        )
    if args.command == "import":
        return eventloop.run(commands.import_command(args))
    from reconciler.core.collector import fewer_collections

    with fewer_collections():  # one run over a whole config and fleet, then the process ends
        return _config_command(args)


def _config_command(args: argparse.Namespace) -> int:
    """The commands that read a config and act on it once."""
    from reconciler.config.load import load_config

    config = load_config(args.config, state=getattr(args, "state", None))
    for warning in config.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.command == "sim":
        return commands.tamper_command(config, args)
    if args.command == "history":
        return commands.history_command(config, args.limit, usage=args.usage)
    if args.command == "webhooks":
        from reconciler.cli.webhooks import webhooks_command

        return eventloop.run(webhooks_command(config, args))
    if args.command == "sources":
        from reconciler.cli.sources_view import sources_command

        return eventloop.run(sources_command(args, config))
    if args.command == "rotate":
        return commands.rotate_command(config, args.name)
    if args.command == "validate":
        note = "" if args.skip_devices else eventloop.run(commands.check_devices(config))
        devices = len(config.devices)
        codes = sum(len(d.codes) for d in config.devices)
        feeds = f", {len(config.sources)} sources read at plan time" if config.sources else ""
        print(
            f"{', '.join(map(str, config.paths))}: valid ({devices} devices, {codes} codes{feeds})"
        )
        if note:
            print(note, file=sys.stderr)
        return EXIT_OK
    if args.command == "timeline":
        return eventloop.run(commands.timeline_command(args, config))
    return _plan_or_apply(args, config)


def _plan_or_apply(args: argparse.Namespace, config: Config) -> int:
    """`plan` or `apply`; apply's refusals (`--now` on real locks, an unsealed or edited plan
    file, an unknown `--device`) come before anything is read, locked or written."""
    from reconciler.cli import planapply

    if args.command == "apply":
        planapply.refuse_now_on_real_locks(args, config)
    config = planapply.limit_to_devices(config, args.device)
    if args.command != "apply":
        return eventloop.run(planapply.plan_or_apply(args, config))
    from reconciler.apply.run import lock_state

    saved = planapply.read_sealed_plan(args, config)
    with lock_state(config, wait=args.lock_timeout):
        return eventloop.run(planapply.plan_or_apply(args, config, saved=saved))


def _address(text: str) -> tuple[str, int]:
    """HOST:PORT, `:PORT` or `PORT`; without a host, loopback (127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep and text.isdigit():
        return "127.0.0.1", int(text)
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


def _wait_seconds(text: str) -> float:
    from reconciler.core.settings import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
