"""`accesscodes history` as people read it: one line per run and per change when piped, a
table per run on a terminal.

The plain form (a pipe, a file, CI, `NO_COLOR`) is what scripts and tests grep ("apply  ok",
"front / Old: delete skipped") and keeps its shape; on a terminal (`terminal.use_colour`) the
same fields go into rich tables, outcomes coloured. The journal holds names, never PINs.

`history --usage` is who opened which door when: one line per unlock (time, door, the code's
name as we wrote it), newest first, from the unlocks the controller kept of Seam's events. A
code we did not write (or one made before the journal) has no name: its id is shown instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from reconciler.state.eventlog import Unlock
    from reconciler.state.journal import HistoryRow

NO_USAGE = (
    "No unlocks recorded yet: the controller records them from Seam's events "
    "(accesscodes controller --events poll, or a webhook)."
)

_OUTCOME_STYLES = {
    "ok": "green",
    "pending": "yellow",
    "running": "yellow",
    "failed": "bold red",
    "unknown": "magenta",
    "skipped": "magenta",
}


def render_history_text(rows: Sequence[HistoryRow]) -> str:
    """Each run on one line (id, start, actor, command, outcome, plan checksum), its changes
    indented below it."""
    lines = []
    for _, group in groupby(rows, key=lambda row: row.run_id):
        changes = list(group)
        lines.append("  ".join(_run_cells(changes[0])))
        for row in changes:
            if row.action is not None:
                error = f" [{row.error_code}]" if row.error_code else ""
                lines.append(
                    f"    {row.at}  {row.device} / {row.name}: {row.action} {row.status}{error}"
                )
    return "".join(line + "\n" for line in lines)


def _run_cells(row: HistoryRow) -> list[str]:
    """The fields of a run's line, in the plain form's order."""
    checksum = (row.plan_checksum or "")[:19]
    return [
        f"run {row.run_id}",
        row.started_at,
        row.actor,
        row.command,
        row.run_outcome,
        checksum,
    ]


def history_renderables(rows: Sequence[HistoryRow]) -> list[RenderableType]:
    """On a terminal: per run a heading line, then a table of its changes (if any)."""
    from rich import box
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    out: list[RenderableType] = []
    for _, group in groupby(rows, key=lambda row: row.run_id):
        changes = list(group)
        run, started, actor, command, outcome, checksum = _run_cells(changes[0])
        if out:
            out.append(Text(""))
        out.append(
            Text.assemble(
                (run, "bold"),
                f"  {started}  {actor}  {command}  ",
                (outcome, _OUTCOME_STYLES.get(outcome, "")),
                (f"  {checksum}" if checksum else "", "dim"),
            )
        )
        done = [row for row in changes if row.action is not None]
        if not done:
            continue
        errors = any(row.error_code for row in done)
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
        table.add_column("at", no_wrap=True, min_width=20)
        for column in ("device", "code", "change", "status", *(["error"] if errors else [])):
            table.add_column(column)
        for row in done:
            status = row.status or ""
            cells = [row.at or "", row.device or "", row.name or "", row.action or ""]
            error = [row.error_code or ""] if errors else []
            table.add_row(*cells, Text(status, style=_OUTCOME_STYLES.get(status, "")), *error)
        out.append(Padding(table, (0, 0, 0, 4), expand=False))
    return out


def _usage_cells(unlock: Unlock) -> list[str]:
    """When, which door, whose code: never a PIN (the journal has none)."""
    who = unlock.name if unlock.name is not None else f"(code {unlock.access_code_id})"
    return [unlock.at, unlock.device or unlock.device_id, who]


def render_usage_text(unlocks: Sequence[Unlock]) -> str:
    """One line per unlock, newest first."""
    if not unlocks:
        return NO_USAGE + "\n"
    return "".join("  ".join(_usage_cells(u)) + "\n" for u in unlocks)


def usage_renderables(unlocks: Sequence[Unlock]) -> list[RenderableType]:
    """On a terminal: one table of the unlocks."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if not unlocks:
        return [Text(NO_USAGE)]
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
    table.add_column("at", no_wrap=True, min_width=20)
    table.add_column("door")
    table.add_column("code")
    for unlock in unlocks:
        table.add_row(*_usage_cells(unlock))
    return [table]
