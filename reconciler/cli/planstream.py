"""`plan --format json`, written as the fleet is planned: each lock's changes go into the
JSON as soon as the locks before it are planned (`apply.run.plan_run`'s `sink`), so the
changes of a fleet are never all in memory, only those of the locks still on the way.

The JSON is the text `render_json` makes of the whole plan, byte for byte. It is spooled to
a temporary file and copied to stdout once the plan is whole: a plan that fails half-way
(Seam unreachable, a lock refused) prints nothing on stdout, as before, never half a JSON.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reconciler.cli import terminal
from reconciler.cli.commands import EXIT_CHANGES, EXIT_OK

if TYPE_CHECKING:
    from reconciler.config.load import Config
    from reconciler.providers.base import Provider
    from reconciler.state.journal import Journal


def streams(args: argparse.Namespace) -> bool:
    """Whether this command's plan is written as it is made: `plan --format json` without
    `--out` (a saved plan is sealed whole)."""
    return args.command == "plan" and args.format == "json" and not args.out


async def stream_json_plan(
    args: argparse.Namespace, config: Config, provider: Provider, journal: Journal | None
) -> int:
    """Plan and print the plan JSON as it is made; the exit code of `plan`."""
    from reconciler.apply.review import pin_key
    from reconciler.apply.run import journal_path, plan_run
    from reconciler.cli.render import PlanJsonWriter

    now = args.now or datetime.now(UTC)
    key = pin_key(journal_path(config).parent)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        writer = PlanJsonWriter(spool, now=now, pin_key=key, show_codes=args.show_codes)
        with terminal.progress(len(config.devices), "Reading locks") as tick:
            planned = await plan_run(
                config,
                provider,
                now=now,
                journal=journal,
                on_device_read=tick,
                keep_live=False,
                sink=writer.changes,
            )
        writer.finish(planned.plan.drift, planned.plan.warnings)
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout)
    if args.detailed_exitcode and writer.has_changes:
        return EXIT_CHANGES
    return EXIT_OK
