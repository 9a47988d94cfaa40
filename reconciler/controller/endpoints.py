"""The controller's HTTP endpoints on `aiohttp.web`: the read-only status page at `/`
(`statuspage.py`: loopback clients only, or anyone with `ACCESSCODES_STATUS_TOKEN`), /healthz,
/readyz, /metrics, and `POST /webhooks/seam`, Seam's events (Svix-signed, checked with the
`svix` library against `SEAM_WEBHOOK_SECRET`): a bad or missing signature, or a timestamp
outside Svix's tolerance, is 401 and does nothing; a body that is not an event 400; one over
1 MiB 413; a full inbox 429.
The handler only queues (`events.Inbox`) and answers at once; the controller's loop does the
work. Without `SEAM_WEBHOOK_SECRET` the route answers 503: it never acts on unsigned events.

`make_app(controller)` builds the application; later routes (a webhook receiver, a status page)
are added to it the same way, their handlers finding the controller at `request.app[CONTROLLER]`.
`start` serves it on host:port with an `AppRunner` and a `TCPSite`. GET routes answer HEAD too;
a path no route has is 404 and a method a route does not take is 405 (with `Allow`), in the
same plain-text bodies as before. No access log: stdout carries the controller's JSON events
only.

Only `accesscodes controller --listen` imports this module (and so aiohttp).
"""

from __future__ import annotations

import os

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from svix.webhooks import Webhook, WebhookVerificationError

from reconciler.controller import statuspage
from reconciler.controller.events import BadEvent, offer, parse_event
from reconciler.controller.loop import Controller
from reconciler.core.errors import AccessCodesError

CONTROLLER = web.AppKey("controller", Controller)
WEBHOOK_SECRET = web.AppKey("webhook_secret", str)
STATUS_TOKEN = web.AppKey("status_token", str)
MAX_BODY = 1024 * 1024  # Seam's events are a few kB; anything this large is not one
SHUTDOWN_TIMEOUT = 5.0  # seconds a request in flight may take to finish at SIGTERM
NOT_READY = "not ready: the last reconcile failed or is too old\n"


async def status(request: web.Request) -> web.Response:
    """The status page (statuspage.py), for whoever may read it."""
    return await statuspage.respond(request, request.app[CONTROLLER], request.app[STATUS_TOKEN])


async def healthz(request: web.Request) -> web.Response:
    """The process is up and answering (liveness)."""
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    """200 while the last run succeeded recently, else 503 (readiness); a replica adds a line
    on its share of the fleet (the devices it holds, those no replica holds, the oldest
    reconcile) or says that the state database does not answer."""
    controller = request.app[CONTROLLER]
    replica = f"{controller.replica.readiness()}\n" if controller.replica is not None else ""
    if controller.ready():
        return web.Response(text=f"ready\n{replica}")
    return web.Response(status=503, text=f"{NOT_READY}{replica}")


async def metrics(request: web.Request) -> web.Response:
    """The controller's registry in Prometheus' text format."""
    registry = request.app[CONTROLLER].metrics.registry
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def seam_webhook(request: web.Request) -> web.Response:
    """One Seam event: verified, parsed, queued; the answer says which (never the body)."""
    controller = request.app[CONTROLLER]
    secret = request.app[WEBHOOK_SECRET]
    if not secret:
        return web.Response(status=503, text="webhooks are off: SEAM_WEBHOOK_SECRET is not set\n")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _refused(controller, 413, "too_large", "the body is larger than 1 MiB\n")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refused(controller, 413, "too_large", "the body is larger than 1 MiB\n")
    try:
        # Svix checks the signature and the timestamp's tolerance, then parses the JSON.
        event = parse_event(Webhook(secret).verify(body, dict(request.headers)))
    except WebhookVerificationError:
        return _refused(controller, 401, "bad_signature", "bad or missing signature\n")
    except (ValueError, BadEvent):  # signed, but not JSON (a ValueError) or not an event
        return _refused(controller, 400, "bad_body", "not a Seam event\n")
    try:
        outcome = await offer(controller.inbox, event)
    except AccessCodesError:  # the shared queue's database is away: Seam delivers again
        return _refused(controller, 503, "refused", "busy: the state database does not answer\n")
    controller.metrics.events.labels(outcome if outcome != "full" else "refused").inc()
    if outcome == "full":
        return web.Response(status=429, text="busy: try again\n", headers={"Retry-After": "5"})
    return web.json_response({"ok": True, "outcome": outcome})


def _refused(controller: Controller, status: int, outcome: str, text: str) -> web.Response:
    controller.metrics.events.labels(outcome).inc()
    return web.Response(status=status, text=text)


@web.middleware
async def plain_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The router's own 404 and 405 as one short line of plain text, as a probe or a person
    reading it with curl expects; errors a handler raises pass as they are."""
    routing_error = request.match_info.http_exception
    if isinstance(routing_error, web.HTTPMethodNotAllowed):
        allow = ",".join(sorted(routing_error.allowed_methods))
        return web.Response(status=405, text="method not allowed\n", headers={"Allow": allow})
    if isinstance(routing_error, web.HTTPNotFound):
        return web.Response(status=404, text="not found\n")
    return await handler(request)


def make_app(controller: Controller) -> web.Application:
    """The controller's web application: its routes and the controller they read."""
    app = web.Application(middlewares=[plain_errors], client_max_size=MAX_BODY)
    app[CONTROLLER] = controller
    app[WEBHOOK_SECRET] = os.environ.get("SEAM_WEBHOOK_SECRET", "")
    app[STATUS_TOKEN] = os.environ.get(statuspage.TOKEN_ENV, "")
    app.router.add_get("/", status)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/webhooks/seam", seam_webhook)
    return app


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Answer on host:port from now on; `await runner.cleanup()` stops (requests in flight
    get `SHUTDOWN_TIMEOUT` to finish)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
