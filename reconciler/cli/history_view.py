"""`accesscodes history` as people read it: one line per run and per change when piped, a
table per run on a terminal.

The plain form (a pipe, a file, CI, `NO_COLOR`) is what scripts and tests grep ("apply  ok",
"front / Old: delete skipped") and keeps its shape; on a terminal (`terminal.use_colour`) the
same fields go into rich tables, outcomes coloured. The journal holds names, never PINs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from reconciler.state.journal import HistoryRow

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
