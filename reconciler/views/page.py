"""The HTML both pages share, and the timeline page (`accesscodes timeline --format html`).

One self-contained file: inline CSS and inline SVG, no script, no font, no image to fetch. Its
Content-Security-Policy (`default-src 'none'`) forbids the page any network and any script, so
even a name that slipped past escaping could not run or call out. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from reconciler import __version__
from reconciler.core.errors import mask_secrets
from reconciler.core.plan import Drift, iso
from reconciler.planning.timeline import NextDue, State, Timeline
from reconciler.views import labels
from reconciler.views.picture import Picture

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;margin:0;
background:#f6f8fa}
header,main,footer{padding:0 24px}
header{background:#fff;border-bottom:1px solid #d0d7de;padding-top:12px;padding-bottom:12px}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:24px 0 8px}
.meta{color:#57606a;margin:0}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
table{border-collapse:collapse;background:#fff;border:1px solid #d0d7de;min-width:40%}
th,td{text-align:left;padding:4px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
.ok{color:#1a7f37;font-weight:600}
.bad{color:#cf222e;font-weight:600}
.warn{color:#9a6700;font-weight:600}
.muted{color:#57606a}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:12px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:140px}
.card b{display:block;font-size:22px}
footer{color:#57606a;font-size:12px;padding-top:16px;padding-bottom:24px}
"""


def e(value: object) -> str:
    """Escaped text for HTML (quotes too: it may go into an attribute)."""
    return escape(str(value), quote=True)


def html_page(title: str, body: str, *, refresh: int | None = None) -> str:
    """A whole page around `body`: charset, CSP, viewport, the shared CSS; `refresh`: reload
    itself every so many seconds (the status page)."""
    reload = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer">{reload}'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def describe_next(next_due: NextDue | None, pins: Iterable[str | None] = ()) -> str:
    """`2026-11-24 09:30 America/New_York: back-door: create Cleaner`, or that nothing waits."""
    if next_due is None:
        return "nothing deferred"
    zone = ZoneInfo(next_due.timezone)
    name = mask_secrets(next_due.name, pins)
    return (
        f"{labels.local(next_due.at, zone)} {next_due.timezone} ({iso(next_due.at)}): "
        f"{next_due.device}: {next_due.action} {name}"
    )


def drift_items(drift: Sequence[Drift], pins: Iterable[str | None] = ()) -> str:
    """Drift as an HTML list (empty string when there is none)."""
    if not drift:
        return ""
    items = "".join(
        f"<li><b>{e(d.kind)}</b> on {e(d.device)} / {e(mask_secrets(d.name, pins))}: "
        f"{e(mask_secrets(d.detail, pins))}</li>"
        for d in drift
    )
    return f"<ul>{items}</ul>"


def timeline_page(
    timeline: Timeline,
    picture: Picture,
    svg: str,
    *,
    drift: Sequence[Drift] = (),
    pins: Sequence[str] = (),
    generated: datetime | None = None,
) -> str:
    """The timeline page: what it covers, the picture, when the next change falls due, the
    drift and the blocked codes in words."""
    zone = ZoneInfo(picture.zone)
    codes = sum(len(d.entries) for d in timeline.devices)
    meta = (
        f"{labels.local(timeline.start, zone)} → {labels.local(timeline.end, zone)} "
        f"({e(picture.zone)}) · now {labels.local(timeline.now, zone)} · "
        f"{len(timeline.devices)} doors, {codes} code windows"
    )
    blocked = [
        (d.device, entry)
        for d in timeline.devices
        for entry in d.entries
        if entry.state is State.BLOCKED
    ]
    parts = [
        f'<header><h1>accesscodes timeline</h1><p class="meta">{meta}</p></header><main>',
        "<h2>Which codes open which door, when</h2>",
        '<p class="muted">Hover a bar for its name, window (in its door\'s zone) and state. '
        "No PIN is in this page.</p>",
        f'<div class="scroll">{svg}</div>',
        f"<h2>Next due</h2><p>{e(describe_next(timeline.next_due, pins))}</p>",
    ]
    if drift:
        parts.append(f"<h2>Drift</h2>{drift_items(drift, pins)}")
    if blocked:
        items = "".join(
            f"<li>{e(device)} / {e(mask_secrets(entry.name, pins))}: "
            f"{e(mask_secrets('; '.join(entry.reasons), pins))}</li>"
            for device, entry in blocked
        )
        parts.append(f"<h2>Blocked</h2><ul>{items}</ul>")
    made = f" at {iso(generated)}" if generated else ""
    parts.append(f"</main><footer>accesscodes {e(__version__)}{made}</footer>")
    return html_page("accesscodes timeline", "".join(parts))
