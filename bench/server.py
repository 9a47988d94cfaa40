"""A Seam-compatible HTTP server for the access-code subset, in memory, on raw asyncio.

Routes (`POST` with JSON, or `GET` with a query string as the SDK sends lists):
`devices/list` (`device_ids`, `limit`, `page_cursor`), `access_codes/list` and
`access_codes/unmanaged/list` (by `device_id`),
`access_codes/create` (answers `{"access_code": ...}`), `access_codes/update` and
`access_codes/delete` (answer `{"action_attempt": {"status": "success", ...}}`).

Knobs (`POST /_bench/configure`): `latency` (seconds added to every answer), `rate` (global
requests per second, a token bucket holding one second's worth; 0 = none), `write_window`
(seconds of the per-device write limits: 10 creates, 10 updates, 20 deletes per window;
60 by default, 0 = none), `error_rate` (share of requests answered 503). Over a limit the
answer is 429 with `Retry-After` (whole seconds, as HTTP says). `POST /_bench/reset` loads a
fleet, `POST /_bench/stats` returns counters.

    python -m bench.server --port 18080        # then point SEAM_ENDPOINT at it

HTTP/1.1 with keep-alive, one request at a time per connection (what httpx sends).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import random
import time
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

WRITE_LIMITS = {"access_codes/create": 10, "access_codes/update": 10, "access_codes/delete": 20}
LISTINGS = ("access_codes/list", "access_codes/unmanaged/list")
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
REASONS[503] = "Service Unavailable"


class SeamState:
    """The fleet and the counters; every route is a method on this object. Listings are
    encoded once until a write (the server shares the bench's two cores with the client)."""

    def __init__(self) -> None:
        self.devices: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.managed: dict[str, dict[str, dict[str, Any]]] = {}
        self.unmanaged: dict[str, dict[str, dict[str, Any]]] = {}
        self.code_device: dict[str, str] = {}
        self.latency = 0.0
        self.rate = 0.0
        self.write_window = 60.0
        self.error_rate = 0.0
        self.rng = random.Random(1)
        self.reset_counters()
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self._encoded: dict[tuple[str, str], bytes] = {}

    def reset_counters(self) -> None:
        self.calls: Counter[str] = Counter()
        self.status: Counter[int] = Counter()
        self.limited: Counter[str] = Counter()
        self._tokens = self.rate
        self._stamp = time.monotonic()
        self._writes: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    # --- admin -----------------------------------------------------------------------------
    def load(self, fleet: dict[str, Any]) -> None:
        self._encoded = {}
        self.devices, self.order = {}, []
        self.managed, self.unmanaged, self.code_device = {}, {}, {}
        for device in fleet["devices"]:
            device_id = device["device_id"]
            self.devices[device_id] = device
            self.order.append(device_id)
            self.managed[device_id] = {}
            self.unmanaged[device_id] = {}
        for code in fleet.get("access_codes", []):
            table = self.managed if code.get("is_managed", True) else self.unmanaged
            table[code["device_id"]][code["access_code_id"]] = code
            self.code_device[code["access_code_id"]] = code["device_id"]
        self.reset_counters()
        gc.collect()
        gc.freeze()  # the fleet stays: the collector need not walk it again

    # --- limits ----------------------------------------------------------------------------
    def over_limit(self, route: str, body: dict[str, Any]) -> float | None:
        """Seconds to wait when this request is over a limit, else None (and counted)."""
        now = time.monotonic()
        if self.rate > 0:
            self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1:
                self.limited["global"] += 1
                return (1 - self._tokens) / self.rate
        limit = WRITE_LIMITS.get(route)
        if limit and self.write_window > 0:
            device_id = body.get("device_id") or self.code_device.get(
                str(body.get("access_code_id")), ""
            )
            window = self._writes[(device_id, route)]
            while window and window[0] <= now - self.write_window:
                window.popleft()
            if len(window) >= limit:
                self.limited["device"] += 1
                return window[0] + self.write_window - now
            window.append(now)
        if self.rate > 0:
            self._tokens -= 1
        return None

    # --- routes ----------------------------------------------------------------------------
    def handle(
        self, route: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | bytes, float | None]:
        self.calls[route] += 1
        if route.startswith("_bench/"):
            return 200, self.admin(route[7:], body), None
        wait = self.over_limit(route, body)
        if wait is not None:
            return 429, error("rate_limited", "Too many requests"), wait
        if self.error_rate and self.rng.random() < self.error_rate:
            return 503, error("service_unavailable", "Try again"), None
        method = getattr(self, "r_" + route.replace("/", "_"), None)
        if method is None:
            return 404, error("not_found", f"no route {route}"), None
        try:
            if route in LISTINGS:
                return 200, self.listing(route, str(body["device_id"])), None
            if route in WRITE_LIMITS:
                self._encoded.clear()  # rare in a bench; a write invalidates every listing
            return 200, {**method(body), "ok": True}, None
        except KeyError as exc:
            return 404, error("not_found", f"not found: {exc}"), None

    def listing(self, route: str, device_id: str) -> bytes:
        """A device's listing, encoded once until the next write."""
        if (route, device_id) not in self._encoded:
            method = getattr(self, "r_" + route.replace("/", "_"))
            body = {**method({"device_id": device_id}), "ok": True}
            self._encoded[(route, device_id)] = json.dumps(body).encode()
        return self._encoded[(route, device_id)]

    def admin(self, what: str, body: dict[str, Any]) -> dict[str, Any]:
        if what == "reset":
            self.load(body)
        elif what == "generate":  # a fleet made here: 500,000 codes are too many to post
            from bench.fleet import server_fleet

            self.load(server_fleet(**body))
        elif what == "remove":  # a code deleted behind the client's back (with its event)
            self.r_access_codes_delete(body)
            self._encoded.clear()
        elif what == "configure":
            for key in ("latency", "rate", "write_window", "error_rate"):
                if key in body:
                    setattr(self, key, float(body[key]))
            if "error_rate" in body:
                self.rng = random.Random(1)  # the same failures on every run
            self.reset_counters()
        api = {k: v for k, v in self.calls.items() if not k.startswith("_bench/")}
        stats = {
            "calls": api,
            "total": sum(api.values()),
            "status": {str(k): v for k, v in self.status.items()},
            "limited": dict(self.limited),
            "codes": sum(len(c) for c in self.managed.values()),
        }
        if what == "clear":
            self.reset_counters()
        return stats

    def r_devices_list(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("device_ids")
        order = [d for d in ids if d in self.devices] if ids else self.order
        limit = int(body.get("limit") or 500)
        start = int(body.get("page_cursor") or 0)
        page = order[start : start + limit]
        more = start + limit < len(order)
        return {
            "devices": [self.devices[d] for d in page],
            "pagination": {
                "has_next_page": more,
                "next_page_cursor": str(start + limit) if more else None,
                "next_page_url": None,
            },
        }

    def r_access_codes_list(self, body: dict[str, Any]) -> dict[str, Any]:
        device_id = body["device_id"]
        return {"access_codes": list(self.managed[device_id].values())}

    def r_access_codes_unmanaged_list(self, body: dict[str, Any]) -> dict[str, Any]:
        device_id = body["device_id"]
        return {"access_codes": list(self.unmanaged[device_id].values())}

    def r_access_codes_create(self, body: dict[str, Any]) -> dict[str, Any]:
        device_id = body["device_id"]
        table = self.managed[device_id]
        self._next_id += 1
        code = access_code(
            device_id,
            f"ac_new_{self._next_id}",
            body.get("name", ""),
            body.get("code") or f"{self.rng.randrange(100000, 999999)}",
            starts_at=body.get("starts_at"),
            ends_at=body.get("ends_at"),
        )
        table[code["access_code_id"]] = code
        self.code_device[code["access_code_id"]] = device_id
        self.event("access_code.created", device_id, code["access_code_id"])
        return {"access_code": code}

    def r_access_codes_update(self, body: dict[str, Any]) -> dict[str, Any]:
        code_id = body["access_code_id"]
        code = self.managed[self.code_device[code_id]][code_id]
        for key in ("name", "code", "starts_at", "ends_at"):
            if key in body:
                code[key] = body[key]
        if body.get("type") == "ongoing":
            code.update(type="ongoing", starts_at=None, ends_at=None)
        self.event("access_code.changed", self.code_device[code_id], code_id)
        return {"action_attempt": action("UPDATE_ACCESS_CODE")}

    def r_access_codes_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        code_id = body["access_code_id"]
        device_id = self.code_device.pop(code_id)
        del self.managed[device_id][code_id]
        self.event("access_code.deleted", device_id, code_id)
        return {"action_attempt": action("DELETE_ACCESS_CODE")}

    def r_events_list(self, body: dict[str, Any]) -> dict[str, Any]:
        """Seam's `events/list`: the events created after `since` (no cursor), oldest first."""
        since = _instant(str(body.get("since") or "1970-01-01T00:00:00Z"))
        return {"events": [e for e in self.events if _instant(e["created_at"]) > since][:500]}

    def event(self, kind: str, device_id: str, code_id: str) -> None:
        """Record what happened, as Seam does, for `events/list`."""
        self._next_id += 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        stamp += f".{int(time.time() * 1000) % 1000:03d}Z"
        self.events.append(
            {
                "event_id": f"evt_{self._next_id}",
                "event_type": kind,
                "device_id": device_id,
                "access_code_id": code_id,
                "created_at": stamp,
                "occurred_at": stamp,
            }
        )
        del self.events[:-10_000]  # a bounded log, as a server keeps


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}, "ok": False}


def action(kind: str) -> dict[str, Any]:
    return {
        "action_attempt_id": f"aa_{kind.lower()}",
        "action_type": kind,
        "status": "success",
        "result": {},
        "error": None,
    }


def access_code(
    device_id: str,
    code_id: str,
    name: str,
    pin: str,
    *,
    managed: bool = True,
    starts_at: str | None = None,
    ends_at: str | None = None,
) -> dict[str, Any]:
    """A Seam access_code object (the fields seam.py and the SDK read)."""
    return {
        "access_code_id": code_id,
        "device_id": device_id,
        "name": name,
        "code": pin,
        "type": "time_bound" if ends_at else "ongoing",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": "set",
        "is_managed": managed,
        "is_offline_access_code": False,
        "is_one_time_use": False,
        "is_backup": False,
        "errors": [],
        "warnings": [],
        "created_at": "2025-01-01T00:00:00.000Z",
    }


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive: parse a request, answer it after the configured latency."""

    def __init__(self, state: SeamState) -> None:
        self.state = state
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            close = False
            for line in head[1:]:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "content-length":
                    length = int(value)
                elif key == "connection" and value.strip().lower() == "close":
                    close = True
            if len(self.buffer) < end + 4 + length:
                return
            raw = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            path, _, query = head[0].split(" ")[1].partition("?")
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            if query:  # the SDK sends list routes as GET with a query string
                for key, values in parse_qs(query).items():
                    body[key] = values if key.endswith("_ids") else values[-1]
            status, payload, wait = self.state.handle(path.strip("/"), body)
            self.state.status[status] += 1
            delay = self.state.latency
            if delay > 0:
                asyncio.get_running_loop().call_later(
                    delay, self.respond, status, payload, wait, close
                )
            else:
                self.respond(status, payload, wait, close)

    def respond(
        self, status: int, payload: dict[str, Any] | bytes, wait: float | None, close: bool
    ) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        extra = f"Retry-After: {max(1, math.ceil(wait))}\r\n" if wait is not None else ""
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        self.transport.write(head.encode() + data)
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(host: str, port: int, ready: Any = None) -> None:
    state = SeamState()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(state), host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
