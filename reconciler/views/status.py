"""The controller's status page: what an operator would otherwise read in the logs.

Locks in sync and out of sync, drift by kind with the doors concerned (and the drift found
recently, which the same run may already have healed), failures and retries, the next changes
due, the reservation sources and how fresh they are, the timeline picture, the recent unlocks.
The controller gathers these as the plain values below (`controller/statuspage.py`); this
module only writes them out, every text escaped and every name masked of the PINs. The page
reloads itself (`<meta http-equiv="refresh">`: no script).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from reconciler.core.errors import mask_secrets
from reconciler.core.plan import Drift, iso
from reconciler.views import labels
from reconciler.views.page import e, html_page


@dataclass(frozen=True)
class FailedChange:
    """A change that did not happen (its message masked already)."""

    at: datetime
    device: str
    name: str
    action: str
    result: str
    error: str


@dataclass(frozen=True)
class DueChange:
    """A deferred change and when it falls due, with its door's zone."""

    at: datetime
    device: str
    name: str
    action: str
    timezone: str


@dataclass(frozen=True)
class SourceStatus:
    """A reservation feed as the state store last saw it."""

    name: str
    place: str
    status: str  # fresh | stale | held | unread
    good_at: datetime | None
    checked_at: datetime | None
    stays: int
    problem: str | None = None


@dataclass(frozen=True)
class UnlockRow:
    """A door opened with a code (names only)."""

    at: str
    door: str
    name: str


@dataclass(frozen=True)
class Status:
    """Everything the page shows; `last_run` None: no run has finished yet."""

    config: str
    now: datetime
    interval: float
    last_run: datetime | None = None
    last_result: str = "none"  # ok | error | skipped | none
    last_success: datetime | None = None
    ready: bool = False
    failures_in_row: int = 0
    retry_in: float | None = None
    run_errors: Sequence[tuple[str, int]] = ()  # failed runs by the error's type
    doors: Sequence[tuple[str, str, str]] = ()  # (door, sync, health)
    drift: Sequence[Drift] = ()
    recent_drift: Sequence[tuple[datetime, Drift]] = ()
    failed: Sequence[FailedChange] = ()
    backing_off: Sequence[str] = ()
    due: Sequence[DueChange] = ()
    sources: Sequence[SourceStatus] | None = None  # None: the config has no sources
    unlocks: Sequence[UnlockRow] = ()
    timeline_svg: str | None = None
    pins: Sequence[str] = field(default=(), repr=False)
    replica: str | None = None  # on a shared state: this replica's share of the fleet


def ago(moment: datetime | None, now: datetime) -> str:
    """`5 min ago`, `in 2 h`, `never`."""
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    size = abs(seconds)
    amount = (
        f"{size:.0f} s"
        if size < 90
        else f"{size / 60:.0f} min"
        if size < 5400
        else f"{size / 3600:.0f} h"
        if size < 129600
        else f"{size / 86400:.0f} d"
    )
    return f"{amount} ago" if seconds >= 0 else f"in {amount}"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return '<span class="muted">never</span>'
    return f'<time datetime="{iso(moment)}" title="{iso(moment)}">{e(ago(moment, now))}</time>'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "") -> str:
    """A table of cells already escaped."""
    top = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>'


def render_status(status: Status, *, refresh: int) -> str:
    """The whole page."""
    meta = (
        f"config {e(status.config)} · last run {_when(status.last_run, status.now)} "
        f"({e(status.last_result)}) · page made {e(iso(status.now))}, "
        f"reloads every {refresh} s"
    )
    if status.replica:
        meta += f" · {e(status.replica)} (this page shows its locks only)"
    sections = [
        f'<header><h1>accesscodes controller</h1><p class="meta">{meta}</p></header><main>',
        _cards(status),
        _locks(status),
        _drift(status),
        _failures(status),
        _due(status),
        _sources(status),
        "<h2>Timeline</h2>",
        f'<div class="scroll">{status.timeline_svg}</div>'
        if status.timeline_svg
        else '<p class="muted">No run has finished yet.</p>',
        _unlocks(status),
        "</main><footer>Read-only. No PIN is in this page.</footer>",
    ]
    return html_page("accesscodes controller", "".join(sections), refresh=refresh)


def _cards(status: Status) -> str:
    in_sync = sum(1 for _, sync, _ in status.doors if sync == "in_sync")
    out = len(status.doors) - in_sync
    run_cls = {"ok": "ok", "error": "bad", "skipped": "warn"}.get(status.last_result, "muted")
    retry = ""
    if status.last_result == "error" and status.retry_in is not None:
        retry = f" ({status.failures_in_row} in a row, next try in {status.retry_in:.0f} s)"
    next_due = status.due[0].at if status.due else None
    drift_cls = "bad" if status.drift else "ok"
    cards = [
        ("sync", "Locks in sync", f'<span class="ok">{in_sync}</span> of {len(status.doors)}'),
        ("out", "Out of sync", f'<span class="{"bad" if out else "ok"}">{out}</span>'),
        ("drift", "Drift", f'<span class="{drift_cls}">{len(status.drift)}</span>'),
        ("run", "Last run", f'<span class="{run_cls}">{e(status.last_result)}</span>{e(retry)}'),
        ("next", "Next change", _when(next_due, status.now) if next_due else "none"),
    ]
    body = "".join(
        f'<div class="card" id="card-{key}">{e(title)}<b>{value}</b></div>'
        for key, title, value in cards
    )
    return f'<div class="cards">{body}</div>'


def _locks(status: Status) -> str:
    """The locks out of sync or unhealthy in a table; the others folded away."""
    head = '<h2 id="locks">Locks</h2>'
    if not status.doors:
        return head + '<p class="muted">No run has finished yet.</p>'
    bad = [d for d in status.doors if d[1] != "in_sync" or d[2] != "healthy"]
    good = [d for d in status.doors if d[1] == "in_sync" and d[2] == "healthy"]
    columns = ("door", "sync", "health")
    parts = [head]
    if bad:
        rows = [(e(door), _sync(sync), _health(health)) for door, sync, health in bad]
        parts.append(_table(columns, rows, cls="locks"))
    if good:
        rows = [(e(door), _sync(sync), _health(health)) for door, sync, health in good]
        parts.append(
            f"<details><summary>{len(good)} lock{'s' if len(good) != 1 else ''} in sync and "
            "healthy</summary>"
            f"{_table(columns, rows, cls='locks-ok')}</details>"
        )
    return "".join(parts)


def _sync(sync: str) -> str:
    return f'<span class="{"ok" if sync == "in_sync" else "bad"}">{e(sync)}</span>'


def _health(health: str) -> str:
    cls = {"healthy": "ok", "progressing": "warn"}.get(health, "bad")
    return f'<span class="{cls}">{e(health)}</span>'


def _drift(status: Status) -> str:
    parts = ['<h2 id="drift">Drift</h2>']
    pins = status.pins
    if status.drift:
        by_kind: dict[str, list[Drift]] = defaultdict(list)
        for d in status.drift:
            by_kind[str(d.kind)].append(d)
        rows = [
            (
                f"<b>{e(kind)}</b>",
                str(len(items)),
                "<br>".join(
                    f"{e(d.device)} / {e(mask_secrets(d.name, pins))}: "
                    f'<span class="muted">{e(mask_secrets(d.detail, pins))}</span>'
                    for d in items
                ),
            )
            for kind, items in sorted(by_kind.items())
        ]
        parts.append(_table(("kind", "count", "doors"), rows, cls="drift"))
    else:
        parts.append('<p class="ok">No drift in the last run.</p>')
    if status.recent_drift:
        rows = [
            (
                _when(at, status.now),
                e(d.device),
                e(mask_secrets(d.name, pins)),
                e(d.kind),
                e(mask_secrets(d.detail, pins)),
            )
            for at, d in status.recent_drift
        ]
        parts.append("<h3>Found recently</h3>")
        parts.append(_table(("found", "door", "code", "kind", "detail"), rows, cls="recent-drift"))
    return "".join(parts)


def _failures(status: Status) -> str:
    parts = ['<h2 id="failures">Failures and retries</h2><ul>']
    if status.last_result == "error":
        retry = f"{status.retry_in:.0f} s" if status.retry_in is not None else "soon"
        parts.append(
            f'<li class="bad">The last run failed ({status.failures_in_row} in a row); '
            f"the next try is in {e(retry)}.</li>"
        )
    else:
        parts.append(f"<li>Last good run: {_when(status.last_success, status.now)}.</li>")
    ready = (
        '<span class="ok">ready</span>' if status.ready else '<span class="bad">not ready</span>'
    )
    parts.append(f"<li>/readyz: {ready}.</li>")
    for kind, count in status.run_errors:
        parts.append(f"<li>Failed runs of type {e(kind)}: {count}</li>")
    for door in status.backing_off:
        parts.append(f'<li class="warn">{e(door)}: its writes failed; left alone for a while.</li>')
    parts.append("</ul>")
    if status.failed:
        rows = [
            (
                _when(f.at, status.now),
                e(f.device),
                e(mask_secrets(f.name, status.pins)),
                e(f.action),
                f'<span class="bad">{e(f.result)}</span>',
                e(mask_secrets(f.error, status.pins)),
            )
            for f in status.failed
        ]
        parts.append(
            _table(("when", "door", "code", "action", "result", "error"), rows, cls="failed")
        )
    else:
        parts.append('<p class="muted">No failed change recently.</p>')
    return "".join(parts)


def _due(status: Status) -> str:
    if not status.due:
        return '<h2 id="due">Next changes due</h2><p class="muted">Nothing deferred.</p>'
    rows = [
        (
            f"{e(labels.local(d.at, ZoneInfo(d.timezone)))} {e(d.timezone)} "
            f'<span class="muted">({_when(d.at, status.now)})</span>',
            e(d.device),
            e(mask_secrets(d.name, status.pins)),
            e(d.action),
        )
        for d in status.due
    ]
    return '<h2 id="due">Next changes due</h2>' + _table(
        ("at", "door", "code", "action"), rows, cls="due"
    )


def _sources(status: Status) -> str:
    head = '<h2 id="sources">Reservation sources</h2>'
    if status.sources is None:
        return head + '<p class="muted">The config has no sources.</p>'
    cls = {"fresh": "ok", "held": "warn"}
    rows = [
        (
            e(s.name),
            e(s.place),
            f'<span class="{cls.get(s.status, "bad")}">{e(s.status)}</span>',
            _when(s.good_at, status.now),
            _when(s.checked_at, status.now),
            str(s.stays),
            e(mask_secrets(s.problem or "", status.pins)),
        )
        for s in status.sources
    ]
    return head + _table(
        ("source", "place", "status", "last good read", "checked", "stays", "problem"),
        rows,
        cls="sources",
    )


def _unlocks(status: Status) -> str:
    head = '<h2 id="unlocks">Recent unlocks</h2>'
    if not status.unlocks:
        return head + (
            '<p class="muted">No unlocks recorded yet: they come from Seam\'s events '
            "(--events poll or webhook).</p>"
        )
    rows = [(e(u.at), e(u.door), e(mask_secrets(u.name, status.pins))) for u in status.unlocks]
    return head + _table(("at", "door", "code"), rows, cls="unlocks")
