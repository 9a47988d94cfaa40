"""The controller's HTTP endpoints: /healthz, /readyz and /metrics, on a tiny asyncio server.

Three GET routes do not need a web framework; a plain `asyncio.start_server` keeps the
container small and starts in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reconciler.controller.metrics import Metrics

Route = Callable[[], tuple[int, str, str]]


def routes(metrics: Metrics, ready: Callable[[], bool]) -> dict[str, Route]:
    """Path → handler returning (status, content type, body)."""
    return {
        "/healthz": lambda: (200, "text/plain", "ok\n"),
        "/readyz": lambda: (
            (200, "text/plain", "ready\n")
            if ready()
            else (503, "text/plain", "not ready: the last reconcile failed or is too old\n")
        ),
        "/metrics": lambda: (200, "text/plain; version=0.0.4", metrics.render()),
    }


async def serve(host: str, port: int, table: dict[str, Route]) -> asyncio.Server:
    """Start answering on host:port; the caller closes the returned server."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else "/"
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, kind, body = 405, "text/plain", "method not allowed\n"
            elif path in table:
                status, kind, body = table[path]()
            else:
                status, kind, body = 404, "text/plain", "not found\n"
            payload = body.encode()
            reason = {
                200: "OK",
                404: "Not Found",
                405: "Method Not Allowed",
                503: "Service Unavailable",
            }.get(status, "")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + (payload if parts and parts[0] != "HEAD" else b"")
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
