"""Argument helpers shared by the commands, and the parsers of the smaller tools (`sim
tamper`, `history`, `rotate`, `sources`, `schema`), apart from `main` so each stays short."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def with_config(sub: argparse.ArgumentParser) -> None:
    """`-c PATH` and `--debug`, on every command that reads a config."""
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
    sub.add_argument(
        "--state",
        metavar="URL",
        default=None,
        help="where the journal, locks and caches live: postgresql://... shares them between "
        "machines and controller replicas (default: ACCESSCODES_STATE, else the SQLite file "
        "in .accesscodes/); a password on the command line shows in `ps`: prefer "
        "ACCESSCODES_STATE or ~/.pgpass",
    )


def add_tools(subparsers: Subparsers) -> None:
    """`sim tamper`, `history`, `rotate`, `sources` and `schema`."""
    sim = subparsers.add_parser("sim", help="the simulator's tools")
    sim_commands = sim.add_subparsers(dest="sim_command", metavar="SIM_COMMAND", required=True)
    tamper = sim_commands.add_parser(
        "tamper", help="make a simulated lock drift (keypad edit, vendor app, offline...)"
    )
    with_config(tamper)
    tamper.add_argument(
        "action",
        choices=(
            "change-pin",
            "disable",
            "add-unmanaged",
            "remove",
            "offline",
            "online",
            "fail",
            "empty-backup-pool",
        ),
    )
    tamper.add_argument("device_id", help="the simulated lock's device_id")
    tamper.add_argument("name", nargs="?", help="the code's name (not for offline/online)")
    tamper.add_argument("--code", help="the PIN to set (default: a random one)")

    history = subparsers.add_parser(
        "history", help="the journal: past applies and their changes; --usage: who opened what"
    )
    with_config(history)
    history.add_argument(
        "--limit", type=int, default=20, help="how many runs, or unlocks with --usage (default 20)"
    )
    history.add_argument(
        "--usage",
        action="store_true",
        help="the doors opened with a code, newest first: when, which door, whose code",
    )

    rotate = subparsers.add_parser(
        "rotate", help="a new PIN for exactly one person or stay, in the next plan"
    )
    with_config(rotate)
    rotate.add_argument("name", help="the person's name, the stay's guest or its id")

    sources = subparsers.add_parser(
        "sources", help="each reservation feed's freshness; `sources accept NAME`"
    )
    with_config(sources)
    sources.add_argument("action", nargs="?", choices=("accept",), help="accept a held answer")
    sources.add_argument("name", nargs="?", help="the source whose held answer to accept")
    sources.add_argument("--now", type=parse_now, help=argparse.SUPPRESS)

    schema = subparsers.add_parser("schema", help="print the config's JSON Schema")
    schema.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)


def parse_now(text: str) -> datetime:
    """An ISO 8601 time from the command line; no offset means UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
