"""The laid-out picture as SVG: one `<svg>` with its own `<style>`, good alone (`--format svg`)
and inline in the HTML pages.

Every name and text is escaped (a code named `<script>` is text, never markup), and every bar
carries its shown span as UTC ISO 8601 data attributes (`data-start`, `data-end`; its kind and
state are its classes `k-*` and `s-*`), which the browser tests check the drawing against, as
scripts may. Hover texts are SVG `<title>` elements: the browser shows them, no script needed.
"""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from reconciler.core.plan import iso
from reconciler.views import labels
from reconciler.views.picture import Bar, Picture, Row

_STYLE = (
    """
.timeline{font:12px system-ui,-apple-system,"Segoe UI",sans-serif;background:#fff}
.timeline text{fill:#1f2328}
.plot-bg{fill:#fff;stroke:#d0d7de}
.grid line{stroke:#eaeef2}
.tick line{stroke:#d0d7de}
.tick text{font-size:11px;fill:#57606a}
.tick.day text{font-weight:600;fill:#1f2328}
.place{font-weight:700;font-size:13px}
.row-bg{fill:#f6f8fa}
.row-bg.odd{fill:#fff}
.row .midnight{stroke:#d8dee4;stroke-dasharray:1 3}
.door{font-weight:600}
.zone,.empty{font-size:10px;fill:#57606a}
.note{fill:#cf222e;font-weight:700}
.span{rx:3px}
.waiting{stroke-width:2;stroke-dasharray:2 2}
.s-due .span{fill-opacity:.55}
.bar.drift .span{stroke:#cf222e;stroke-width:2.5;stroke-dasharray:5 2}
.bar:hover .span{stroke:#1f2328;stroke-width:1.5}
.mark{fill:#1f2328;stroke:#1f2328}
.m-removal{fill:none;stroke:#cf222e;stroke-width:2}
.now line{stroke:#cf222e;stroke-width:2}
.now text{fill:#cf222e;font-weight:700;font-size:11px}
.legend text{font-size:11px}
.bar .label{font-size:10px;fill:#fff;pointer-events:none}
.s-due .label{fill:#1f2328}
"""
    + "".join(
        f".k-{kind} .span{{fill:{colour}}}.k-{kind} .waiting{{stroke:{colour}}}"
        f".legend .k-{kind}{{fill:{colour}}}\n"
        for kind, colour in labels.COLOURS.items()
    )
    + (
        # after the kinds' colours, so that it wins over them
        ".s-blocked .span{fill:url(#hatch);stroke:#cf222e;stroke-width:1.5}\n"
    )
)


def _n(value: float) -> str:
    """A coordinate, short."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _a(value: object) -> str:
    """An attribute value, escaped."""
    return escape(str(value), quote=True)


def render_svg(picture: Picture, *, title: str = "accesscodes timeline") -> str:
    """The picture as one `<svg>` element (no XML prolog: it also goes inline in HTML)."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'width="{_n(picture.width)}" height="{_n(picture.height)}" '
        f'viewBox="0 0 {_n(picture.width)} {_n(picture.height)}" '
        f'data-from="{iso(picture.start)}" data-to="{iso(picture.end)}" '
        f'data-now="{iso(picture.now)}" data-zone="{_a(picture.zone)}">'
        f"<title>{_a(title)}</title><style>{_STYLE}</style>"
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffebe9"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#cf222e" stroke-width="2"/></pattern></defs>'
    )
    parts = [head, *_axis(picture)]
    odd = False
    for group in picture.groups:
        place = f' data-place="{_a(group.name)}"' if group.name is not None else ""
        parts.append(f'<g class="group"{place}>')
        if group.name is not None:
            parts.append(
                f'<text class="place" x="8" y="{_n(group.y + 17)}">{_a(group.name)}</text>'
            )
        for row in group.rows:
            parts += _row(picture, row, odd=odd)
            odd = not odd
        parts.append("</g>")
    parts += [*_now(picture), *_legend(picture), "</svg>"]
    return "\n".join(parts)


def _axis(picture: Picture) -> list[str]:
    """The plot's frame, the day lines and the labelled ticks, in the axis' zone."""
    top, bottom = picture.plot_top, picture.plot_bottom
    parts = [
        f'<rect class="plot-bg" x="{_n(picture.plot_x)}" y="{_n(top)}" '
        f'width="{_n(picture.plot_width)}" height="{_n(max(bottom - top, 1))}"/>',
        '<g class="grid">',
        *(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(top)}" y2="{_n(bottom)}"/>'
            for x in picture.grid
        ),
        "</g>",
        f'<text class="zone" x="8" y="{_n(top - 8)}">times in {_a(picture.zone)}</text>',
    ]
    for tick in picture.ticks:
        day = " day" if tick.day else ""
        parts.append(
            f'<g class="tick{day}" data-at="{iso(tick.at)}"><line x1="{_n(tick.x)}" '
            f'x2="{_n(tick.x)}" y1="{_n(top - 6)}" y2="{_n(top)}"/><text x="{_n(tick.x + 3)}" '
            f'y="{_n(top - 10 if not tick.day else top - 24)}">{_a(tick.label)}</text></g>'
        )
    return parts


def _row(picture: Picture, row: Row, *, odd: bool) -> list[str]:
    """A door's band: its label (name, zone, other places, drift notes), its own midnights
    when its zone is not the axis', its bars."""
    y, height = row.y, row.height
    extra = " odd" if odd else ""
    zone_line = row.timezone + "".join(f" · also in {p}" for p in row.also_in)
    parts = [
        f'<g class="row" data-device="{_a(row.device)}" data-timezone="{_a(row.timezone)}">',
        f'<rect class="row-bg{extra}" x="0" y="{_n(y)}" width="{_n(picture.width)}" '
        f'height="{_n(height)}"/>',
        *(
            f'<line class="midnight" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(y)}" y2="{_n(y + height)}"/>'
            for x in row.midnights
        ),
        f'<text class="door" x="16" y="{_n(y + 13)}"><title>{_a(row.device)} '
        f"({_a(row.device_id)})</title>{_a(_cut(row.device, 30))}</text>",
        f'<text class="zone" x="16" y="{_n(y + 25)}">{_a(_cut(zone_line, 44))}</text>',
    ]
    if row.notes:
        notes = "\n".join(row.notes)
        parts.append(
            f'<text class="note" x="{_n(picture.plot_x - 8)}" y="{_n(y + 13)}" '
            f'text-anchor="end"><title>{_a(notes)}</title>⚠ {len(row.notes)} drift</text>'
        )
    if not row.bars:
        parts.append(
            f'<text class="empty" x="{_n(picture.plot_x + 6)}" y="{_n(y + 18)}">'
            "no codes in this period</text>"
        )
    parts += [_bar(bar) for bar in row.bars]
    parts.append("</g>")
    return parts


def _bar(bar: Bar) -> str:
    """One bar: its hover text, waiting line, span and marks, its window as data."""
    classes = f"bar k-{bar.kind} s-{bar.state}" + (" drift" if bar.drift else "")
    mid = bar.y + 7
    waiting = ""
    if bar.wait_x is not None and bar.wait_x < bar.x:
        waiting = (
            f'<line class="waiting" x1="{_n(bar.wait_x)}" x2="{_n(bar.x)}" y1="{_n(mid)}" '
            f'y2="{_n(mid)}"/>'
        )
    marks = "".join(
        f'<path class="mark m-{m.kind}" data-at="{iso(m.at)}" d="{_mark_path(m.kind, m.x, bar.y)}">'
        f"<title>{_a(m.title)}</title></path>"
        for m in bar.marks
    )
    return (
        f'<g class="{classes}" data-name="{_a(bar.name)}" data-start="{iso(bar.start)}" '
        f'data-end="{iso(bar.end)}">'
        f"<title>{_a(bar.title)}</title>{waiting}"
        f'<rect class="span" x="{_n(bar.x)}" y="{_n(bar.y)}" width="{_n(bar.width)}" '
        f'height="14"/>{_inside(bar)}{marks}</g>'
    )


def _inside(bar: Bar) -> str:
    """The name written on the bar when it fits (else it is the hover text's alone)."""
    if bar.width < 7 * len(bar.name) + 10:
        return ""
    return f'<text class="label" x="{_n(bar.x + 4)}" y="{_n(bar.y + 11)}">{_a(bar.name)}</text>'


def _mark_path(kind: str, x: float, y: float) -> str:
    """A triangle pointing down onto the lane (programming), a diamond (update), a cross
    (removal)."""
    if kind == "programming":
        return f"M{_n(x - 4)} {_n(y - 5)}h8l-4 6z"
    if kind == "removal":
        return f"M{_n(x - 4)} {_n(y + 3)}l8 8m0 -8l-8 8"
    return f"M{_n(x)} {_n(y + 1)}l5 6l-5 6l-5 -6z"


def _now(picture: Picture) -> list[str]:
    """The moment the plan was made, as a red line across the plot."""
    if picture.now_x is None:
        return []
    x = _n(picture.now_x)
    return [
        f'<g class="now" data-at="{iso(picture.now)}"><title>now: '
        f"{labels.local(picture.now, ZoneInfo(picture.zone))} ({_a(picture.zone)})</title>"
        f'<line x1="{x}" x2="{x}" y1="{_n(picture.plot_top - 4)}" '
        f'y2="{_n(picture.plot_bottom)}"/>'
        f'<text x="{_n(picture.now_x + 3)}" y="{_n(picture.plot_bottom + 12)}">now</text></g>'
    ]


def _legend(picture: Picture) -> list[str]:
    """What each colour and mark means, under the plot."""
    y = picture.plot_bottom + 22
    parts = ['<g class="legend">']
    x = 16.0
    for kind, label in labels.KINDS.items():
        parts.append(
            f'<rect class="k-{kind}" x="{_n(x)}" y="{_n(y)}" width="18" height="10" rx="2"/>'
            f'<text x="{_n(x + 22)}" y="{_n(y + 9)}">{label}</text>'
        )
        x += 34 + 7 * len(label)
    for kind, label in (
        ("programming", "goes on the lock"),
        ("update", "update"),
        ("removal", "removal"),
    ):
        lane_y = y + 4 if kind == "programming" else y - 2
        parts.append(
            f'<path class="mark m-{kind}" d="{_mark_path(kind, x + 4, lane_y)}"/>'
            f'<text x="{_n(x + 14)}" y="{_n(y + 9)}">{label}</text>'
        )
        x += 26 + 7 * len(label)
    parts.append(
        f'<rect x="{_n(x)}" y="{_n(y)}" width="18" height="10" fill="#fff" stroke="#cf222e" '
        f'stroke-width="2.5" stroke-dasharray="5 2"/><text x="{_n(x + 22)}" y="{_n(y + 9)}">'
        f'drift</text><rect x="{_n(x + 64)}" y="{_n(y)}" width="18" height="10" '
        f'fill="url(#hatch)"/><text x="{_n(x + 86)}" y="{_n(y + 9)}">blocked</text></g>'
    )
    return parts


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis (the hover text has it whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
