"""`accesscodes sources`: each reservation feed's freshness, and `sources accept NAME`.

A host needs to see at a glance whether the calendars are being believed: when each was last
read well, how many stays it gave, what it left out and why, and which one is held back (a
calendar that lost most of its stays) waiting to be confirmed. Feed URLs are masked: their
tokens are secrets.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reconciler.cli.commands import EXIT_OK
from reconciler.core.errors import UsageError
from reconciler.core.plan import iso

if TYPE_CHECKING:
    from reconciler.config.load import Config
    from reconciler.sources.read import SourceReport


async def sources_command(args: argparse.Namespace, config: Config) -> int:
    """List the sources (read now), or accept one's held answer."""
    from reconciler.apply.run import open_journal, read_feeds

    if not config.sources:
        print("No sources: the config has no `sources:`.")
        return EXIT_OK
    if args.action == "accept":
        return _accept(config, args.name)
    journal = open_journal(config, create=False)
    try:
        feeds = await read_feeds(config, journal, args.now or datetime.now(UTC))
    finally:
        if journal is not None:
            journal.close()
    assert feeds is not None  # the config has sources
    for report in feeds.reports:
        print("\n".join(describe(report)))
    return EXIT_OK


def describe(report: SourceReport) -> list[str]:
    """The lines of one source: status, last good read, stays, what it left out."""
    lines = [
        f"{report.name} ({report.place}, {report.location}): {report.status}",
        f"  last good read: {iso(report.good_at) or 'never'}; checked: {iso(report.checked_at)}",
        f"  stays: {report.stays}",
    ]
    if report.error:
        lines.append(f"  refused: {report.error}")
    if report.held_reason:
        lines.append(f"  held: {report.held_reason} (`accesscodes sources accept {report.name}`)")
    for reason, count in sorted(Counter(e.reason for e in report.skipped).items()):
        lines.append(f"  left out: {count} × {reason}")
    return lines


def _accept(config: Config, name: str | None) -> int:
    from reconciler.apply.run import open_journal
    from reconciler.sources.read import accept_held_answer

    names = [s.name for s in config.sources]
    if name not in names:
        raise UsageError(f"no source is called {name!r} (sources: {', '.join(names)})")
    journal = open_journal(config, create=False)
    cached = journal.sources.load().get(name) if journal is not None else None
    spec = next(s for s in config.sources if s.name == name)
    now = datetime.now(UTC)
    accepted = accept_held_answer(config, spec, cached, now) if cached is not None else None
    if journal is None or accepted is None:
        if journal is not None:
            journal.close()
        raise UsageError(f"nothing is held for source {name}: its last answer was believed")
    try:
        journal.sources.save(accepted)
    finally:
        journal.close()
    print(f"Accepted source {name}'s held answer: the next plan uses it.")
    return EXIT_OK
