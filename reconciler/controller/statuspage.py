"""The controller's read-only status page at `/`: what the last runs found, gathered from the
controller (its reporter, metrics, results and lock backoff) and the state store (unlocks,
reservation feeds), drawn by `reconciler.views.status`.

Who may read it: the page names guests and doors, so it is not for anyone who can reach the
port. With `ACCESSCODES_STATUS_TOKEN` set, every request must carry it (`Authorization: Bearer
TOKEN`, or `?token=TOKEN` for a browser; the page's reloads keep the query); without it, only
loopback clients (127.0.0.0/8, ::1) are answered and others get 403. So the default
(`--listen 127.0.0.1:PORT`) needs nothing, and a controller listening beyond loopback shows
its page only to whoever holds the token. The page changes nothing, whoever reads it.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from reconciler.apply.run import PlannedRun, open_journal
from reconciler.config.load import Config
from reconciler.planning.timeline import build_timeline
from reconciler.views.page import CSP
from reconciler.views.picture import make_picture
from reconciler.views.status import (
    DueChange,
    SourceStatus,
    Status,
    UnlockRow,
    render_status,
)
from reconciler.views.svg import render_svg

if TYPE_CHECKING:
    from reconciler.controller.loop import Controller

TOKEN_ENV = "ACCESSCODES_STATUS_TOKEN"
REFRESH_SECONDS = 30  # the page reloads itself this often
SHOWN_DUE = 15  # deferred changes listed
SHOWN_UNLOCKS = 20
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def refusal(
    remote: str | None, authorization: str | None, query_token: str | None, token: str
) -> tuple[int, str] | None:
    """(status, text) when the request may not see the page, None when it may (see the
    module docstring)."""
    if token:
        given = query_token or ""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            given = value.strip()
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return 401, "the status page needs the token (Authorization: Bearer ...)\n"
        return None
    if not is_loopback(remote):
        return 403, f"the status page answers loopback clients only; set {TOKEN_ENV}\n"
    return None


def is_loopback(remote: str | None) -> bool:
    """Whether the peer's address is a loopback one (IPv4-mapped IPv6 included)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


async def respond(request: web.Request, controller: Controller, token: str) -> web.Response:
    """The page, or 401/403 (plain text) when the request may not see it."""
    refused = refusal(
        request.remote, request.headers.get("Authorization"), request.query.get("token"), token
    )
    if refused is not None:
        status, text = refused
        extra = {"WWW-Authenticate": 'Bearer realm="accesscodes"'} if status == 401 else {}
        return web.Response(status=status, text=text, headers=extra)
    status_values = await gather(controller)
    return web.Response(
        text=render_status(status_values, refresh=REFRESH_SECONDS),
        content_type="text/html",
        headers=HEADERS,
    )


@dataclass
class _Store:
    """What the page reads from the state store."""

    unlocks: list[UnlockRow]
    sources: list[SourceStatus] | None


async def gather(controller: Controller) -> Status:
    """The page's values from the controller as it is now."""
    reporter, metrics, results = controller.reporter, controller.metrics, controller.results
    config, planned = reporter.last_config, reporter.last_planned
    now = controller.clock()
    pins = [*controller.known_pins(), *(planned.keep_pins.values() if planned else ())]
    store = await asyncio.to_thread(_read_store, config) if config else _Store([], None)
    svg = None
    if config is not None and planned is not None:
        svg = await _drawn(config, planned, pins)
    errors = sorted(
        (s.labels["kind"], int(s.value))
        for family in metrics.reconcile_errors.collect()
        for s in family.samples
        if s.name.endswith("_total") and s.value
    )
    return Status(
        config=str(controller.config_path),
        now=now,
        interval=controller.interval,
        last_run=planned.plan.now if planned else None,
        last_result=results.last if planned or results.failures else "none",
        last_success=metrics.last_success,
        ready=controller.ready(),
        failures_in_row=results.failures,
        retry_in=results.retry_in() if results.failures else None,
        run_errors=errors,
        doors=[(key, sync, health) for key, (sync, health) in metrics.devices.items()],
        drift=planned.plan.drift if planned else (),
        recent_drift=list(reporter.recent_drift),
        failed=list(reporter.failed),
        backing_off=_backing_off(controller, config),
        due=_due(planned, config),
        sources=store.sources,
        unlocks=store.unlocks,
        timeline_svg=svg,
        pins=pins,
        replica=controller.replica.readiness() if controller.replica is not None else None,
    )


def _backing_off(controller: Controller, config: Config | None) -> list[str]:
    if config is None:
        return []
    now = controller.clock()
    return [d.key for d in config.devices if controller.lock_backoff.waiting(d.device_id, now)]


def _due(planned: PlannedRun | None, config: Config | None) -> list[DueChange]:
    """The next deferred changes, soonest first, each with its door's zone."""
    if planned is None or config is None:
        return []
    deferred = [c for c in planned.plan.changes if c.deferred and c.due_at is not None]
    deferred.sort(key=lambda c: c.due_at or planned.plan.now)
    zone = config.settings.timezone
    return [
        DueChange(c.due_at, c.device, c.name, str(c.action), c.timezone or zone)
        for c in deferred[:SHOWN_DUE]
        if c.due_at is not None
    ]


_last_drawn: tuple[PlannedRun, str] | None = None  # the picture changes once per run


async def _drawn(config: Config, planned: PlannedRun, pins: list[str]) -> str:
    """The last run's picture: drawn once per run, off the loop (a fleet's takes a moment),
    not again at every reload of every viewer."""
    global _last_drawn
    if _last_drawn is None or _last_drawn[0] is not planned:
        _last_drawn = (planned, await asyncio.to_thread(_picture, config, planned, pins))
    return _last_drawn[1]


def _picture(config: Config, planned: PlannedRun, pins: list[str]) -> str:
    """The last run's timeline as inline SVG, from its plan's `now` over the horizon."""
    capabilities = {key: live.device.capabilities for key, live in planned.live.items()}
    timeline = build_timeline(config.devices, planned.plan, capabilities, config.settings)
    places = {name: place.doors for name, place in config.places.items()}
    picture = make_picture(timeline, places=places, drift=planned.plan.drift, pins=pins)
    return render_svg(picture, title="Timeline as of the last run")


def _read_store(config: Config) -> _Store:
    """Unlocks and the feeds' state from the state store, if there is one (never created
    here: a report-only controller may have none)."""
    journal = open_journal(config, create=False)
    if journal is None:
        return _Store([], [_unread(s.name, s.place) for s in config.sources] or None)
    try:
        unlocks = [
            UnlockRow(u.at, u.device or u.device_id, u.name or f"(code {u.access_code_id})")
            for u in journal.events.usage(limit=SHOWN_UNLOCKS)
        ]
        cached = journal.sources.load() if config.sources else {}
    finally:
        journal.close()
    sources = []
    for spec in config.sources:
        feed = cached.get(spec.name)
        if feed is None:
            sources.append(_unread(spec.name, spec.place))
            continue
        status = (
            "unread"
            if feed.body is None
            else "held"
            if feed.held_body is not None
            else "stale"
            if feed.error
            else "fresh"
        )
        problem = feed.held_reason if status == "held" else feed.error
        sources.append(
            SourceStatus(
                spec.name, spec.place, status, feed.good_at, feed.checked_at, feed.stays, problem
            )
        )
    return _Store(unlocks, sources if config.sources else None)


def _unread(name: str, place: str) -> SourceStatus:
    return SourceStatus(name, place, "unread", None, None, 0, "never read yet")
