"""Three views of one plan: text for terminals, JSON for scripts, markdown for PR comments.

Every renderer takes `Plan.to_data()`, where PINs are already masked (unless the user asked to
see them), and prints changes in the order `apply` runs them. Text uses Terraform's marks:
`+` create, `~` update, `-` delete, `!` blocked, and `>` for a write deferred until its time;
on a terminal the same lines come in Terraform's colours (`terminal.py` decides when).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from reconciler.cli.terminal import Line, plain
from reconciler.core.plan import FORMAT_VERSION, SUMMARY_KEYS, is_a_change, iso, tally
from reconciler.core.plandigest import CHUNK, Digest, ascii_json

if TYPE_CHECKING:
    from reconciler.core.plan import Change, Drift, Plan

try:  # orjson writes the same text as json.dumps(indent=2), several times faster
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

_MARKS = {"create": "+", "update": "~", "delete": "-", "blocked": "!", "noop": " "}
_STYLES = {"+": "green", "~": "yellow", "-": "red", "!": "bold red", ">": "cyan", " ": "dim"}


def render_json(data: dict[str, Any]) -> str:
    """The plan JSON of contract.md."""
    return dumps_indented(data) + "\n"


def write_json(plan: Plan, out: TextIO, *, show_codes: bool) -> None:
    """`render_json(plan.to_data(show_codes=...))`, the same text, written as it is made:
    a plan of 500,000 codes never has its whole data, or its whole text, in memory."""
    writer = PlanJsonWriter(out, now=plan.now, pin_key=plan.pin_key, show_codes=show_codes)
    writer.changes(plan.changes)
    writer.finish(plan.drift, plan.warnings)


class PlanJsonWriter:
    """The indented plan JSON, written as its changes are given: `plan --format json` hands
    each lock's changes over as it is planned (`apply.run.plan_run`'s `sink`), so a fleet's
    changes are never all in memory. The changes are encoded `CHUNK` at a time; each change's
    masked data is made once, for the text and for the checksum (`Digest`) alike. The summary
    and `has_changes` are counted on the way."""

    def __init__(
        self, out: TextIO, *, now: datetime, pin_key: bytes | None, show_codes: bool
    ) -> None:
        self.out, self.now, self.show_codes = out, now, show_codes
        self.digest = Digest(pin_key)
        self.counts: Counter[str] = Counter()
        self.has_changes = False
        self.waiting: list[Change] = []
        self.written = 0
        head = f'{{\n  "format_version": {FORMAT_VERSION},\n  "now": {dumps_indented(iso(now))}'
        out.write(head + ',\n  "changes": [')

    def changes(self, changes: Sequence[Change]) -> None:
        """The plan's next changes, in its order."""
        for change in changes:
            self.counts[tally(change)] += 1
            self.has_changes = self.has_changes or is_a_change(change, self.now)
        self.waiting.extend(changes)
        if len(self.waiting) >= CHUNK:
            self._write_waiting()

    def finish(self, drift: Sequence[Drift], warnings: Sequence[str]) -> None:
        """The rest of the plan: its drift, summary, warnings and checksum."""
        self._write_waiting()
        out = self.out
        out.write("\n  ]" if self.written else "]")
        out.write(',\n  "drift": [')
        for start in range(0, len(drift), CHUNK):
            data = [d.to_data() for d in drift[start : start + CHUNK]]
            self.digest.drift(data)
            out.write((",\n" if start else "\n") + _items(data))
        out.write("\n  ]" if drift else "]")
        tail: dict[str, Any] = {"summary": {k: self.counts.get(k, 0) for k in SUMMARY_KEYS}}
        if warnings:
            tail["warnings"] = list(warnings)
        tail["checksum"] = self.digest.text()
        out.write(",\n" + dumps_indented(tail)[2:-2] + "\n}\n")  # its keys at the top level

    def _write_waiting(self) -> None:
        part, self.waiting = self.waiting, []
        if not part:
            return
        masked = [c.to_data(show_codes=False) for c in part]
        self.digest.changes(part, masked)
        shown = [c.to_data(show_codes=True) for c in part] if self.show_codes else masked
        self.out.write((",\n" if self.written else "\n") + _items(shown))
        self.written += len(part)


def _items(data: list[dict[str, Any]]) -> str:
    """A list's items as they stand at the second level of the indented plan JSON."""
    text = dumps_indented(data)  # "[\n  {...},\n  {...}\n]"
    return "  " + text[2:-2].replace("\n", "\n  ")


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, the same text (`core.plandigest.ascii_json`), by orjson: the
    standard library indents in pure Python, a fifth of a 1,000-lock plan's CPU."""
    if orjson is not None:
        try:
            return ascii_json(orjson.dumps(value, option=orjson.OPT_INDENT_2))
        except TypeError:  # a value orjson refuses (an int past 64 bits): the slow way
            pass
    return json.dumps(value, indent=2)


def _mark(change: dict[str, Any]) -> str:
    return ">" if change["due_at"] and change["action"] != "noop" else _MARKS[change["action"]]


def _local(stamp: str | None, zone: str | None) -> str:
    if stamp is None:
        return "-"
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    utc = moment.strftime("%Y-%m-%d %H:%MZ")
    if not zone or zone == "UTC":
        return utc
    local = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    return f"{local} {zone} ({utc})"


def _window(state: dict[str, Any] | None, zone: str | None) -> str:
    if state is None:
        return ""
    if state["type"] == "ongoing":
        return "ongoing"
    return f"{_local(state['starts_at'], zone)} → {_local(state['ends_at'], zone)}"


def _describe(change: dict[str, Any]) -> list[str]:
    zone = change.get("timezone")
    after, before = change["after"], change["before"]
    details = []
    if change["action"] == "update":
        for name in change["changed"]:
            if name == "code":
                details.append(f"code: {before['code']} → {after['code']}")
            elif name == "name" and change.get("renamed_from"):
                details.append(f"name: {change['renamed_from']} → {change['name']}")
            elif name == "status" or name not in before:
                details.append(f"{name}: the lock failed to take it; sending it again")
            else:
                details.append(
                    f"{name}: {_local(before[name], zone)} → {_local(after[name], zone)}"
                )
    elif change["action"] == "create":
        assert after is not None
        details.append(f"code {after['code']}, {_window(after, zone)}")
    elif change["action"] == "delete" and before is not None:
        details.append(f"code {before['code']}, {_window(before, zone)}")
    if change["due_at"]:
        details.append(f"due {_local(change['due_at'], zone)}")
    details.extend(change["reasons"])
    if change["action"] == "blocked" and change.get("source"):
        details.append(f"at {change['source']}")
    details.extend(f"warning: {w}" for w in change["warnings"])
    if change.get("guard"):
        details.append(f"guarded: {change['guard']}")
    return details


def summary_line(summary: dict[str, int]) -> str:
    """`Plan: 2 to create, ...`: the line scripts and people read first."""
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['delete']} to delete, {summary['deferred']} deferred, "
        f"{summary['blocked']} blocked, {summary['noop']} unchanged."
    )


def plan_lines(data: dict[str, Any]) -> list[Line]:
    """A Terraform-like listing, grouped by device, noops left out, as styled lines: green
    `+` create, yellow `~` update, red `-` delete, bold red `!` blocked, cyan `>` deferred
    (with its due time), yellow `?` drift, and the summary in bold."""
    lines: list[Line] = [((f"accesscodes plan at {data['now']}", "bold"),), ()]
    for warning in data.get("warnings", ()):
        lines.append(((f"Warning: {warning}", "yellow"),))
    if data.get("warnings"):
        lines.append(())
    device = None
    shown = [c for c in data["changes"] if c["action"] != "noop"]
    for change in shown:
        if change["device"] != device:
            device = change["device"]
            if len(lines) > 2:
                lines.append(())
            lines.append(((f"{device} ({change['device_id']})", "bold"),))
        mark = _mark(change)
        label = "deferred " + change["action"] if mark == ">" else change["action"]
        style = _STYLES[mark]
        lines.append((("  ", ""), (f"{mark} {label} ", style), (change["name"], f"{style} bold")))
        lines.extend((("      ", ""), (d, _detail_style(d, mark))) for d in _describe(change))
    if not shown:
        lines.append((("No changes. The locks match the config.", "green"),))
    groups = holder_lines(shown)
    if groups:
        lines += [(), (("By person or stay:", "bold"),)]
        lines += [(("  ", ""), (text, "")) for text in groups]
    if data["drift"]:
        lines += [(), (("Drift:", "bold yellow"),)]
        lines += [
            (
                ("  ", ""),
                (f"? {d['device']} / {d['name']}", "yellow"),
                (f": {d['kind']}: {d['detail']}", ""),
            )
            for d in data["drift"]
        ]
    lines += [(), ((summary_line(data["summary"]), "bold"),)]
    return lines


def holder_lines(changes: list[dict[str, Any]]) -> list[str]:
    """The changes again, one line per person or stay, as a host reads them: `Bob Smith:
    create on beach-front, beach-garage` (a door once per action, in plan order)."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for change in changes:
        holder = change.get("holder")
        if holder is None:
            continue
        label = "deferred " + change["action"] if _mark(change) == ">" else change["action"]
        doors = grouped.setdefault(holder, {}).setdefault(label, [])
        if change["device"] not in doors:
            doors.append(change["device"])
    return [
        f"{holder}: " + "; ".join(f"{label} on {', '.join(doors)}" for label, doors in by.items())
        for holder, by in grouped.items()
    ]


def _detail_style(detail: str, mark: str) -> str:
    """Due times in the deferred colour, warnings in yellow, the rest as it is."""
    if mark == ">" and detail.startswith("due "):
        return _STYLES[">"]
    if detail.startswith("warning: "):
        return "yellow"
    return ""


def render_text(data: dict[str, Any]) -> str:
    """`plan_lines` as plain text: what pipes, files, CI logs and `NO_COLOR` get (on a
    terminal, `terminal.write_lines` draws the same lines in colour)."""
    return plain(plan_lines(data))


def render_markdown(data: dict[str, Any]) -> str:
    """A pull-request comment: the summary, then a table of changes and one of drift."""
    summary = data["summary"]
    lines = ["### accesscodes plan", "", f"**{summary_line(summary)}**", ""]
    lines += [f"> **Warning:** {_escape(w)}" for w in data.get("warnings", ())]
    if data.get("warnings"):
        lines.append("")
    shown = [c for c in data["changes"] if c["action"] != "noop"]
    if shown:
        lines += ["| | action | device | code | details |", "|---|---|---|---|---|"]
        for change in shown:
            mark = _mark(change)
            label = "deferred " + change["action"] if mark == ">" else change["action"]
            details = "<br>".join(_escape(d) for d in _describe(change))
            lines.append(
                f"| `{mark}` | {label} | {_escape(change['device'])} | "
                f"{_escape(change['name'])} | {details} |"
            )
    else:
        lines.append("No changes. The locks match the config.")
    groups = holder_lines(shown)
    if groups:
        lines += ["", "#### By person or stay", ""] + [f"- {_escape(g)}" for g in groups]
    if data["drift"]:
        lines += ["", "#### Drift", "", "| device | code | kind | detail |", "|---|---|---|---|"]
        for d in data["drift"]:
            lines.append(
                f"| {_escape(d['device'])} | {_escape(d['name'])} | {d['kind']} | "
                f"{_escape(d['detail'])} |"
            )
    lines += ["", f"<sub>checksum `{data['checksum']}`</sub>"]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
