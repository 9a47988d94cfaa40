"""Retries, backoff and error mapping of the Seam client, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reconciler.core.errors import (
    InvalidInputError,
    NotFoundError,
    PermanentProviderError,
    TemporaryProviderError,
)
from reconciler.providers.seam_client import RetryPolicy, SeamClient
from reconciler.providers.seam_http import _PROXY_VARIABLES


class Scripted:
    """A loopback server answering from a script of (status, headers, body)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], dict | None]] = []
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.calls += 1
                status, headers, body = outer.script.pop(0)
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(autouse=True, params=["aiohttp", "httpx"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every scenario on both transports: aiohttp's pool (the default) and httpx's own."""
    monkeypatch.setenv("ACCESSCODES_HTTP_TRANSPORT", request.param)
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)  # a proxy would keep httpx's transport
    return request.param


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.server.shutdown()


def call(
    url: str,
    *,
    delays: list[float],
    attempts: int = 4,
    retry: bool = True,
    timeout: float = 30.0,
):
    now = [0.0]  # the client's clock moves only when it sleeps

    async def sleep(seconds: float) -> None:
        delays.append(round(seconds, 6))
        now[0] += seconds

    async def run():
        client = SeamClient(
            api_key="k",
            endpoint=url,
            sleep=sleep,
            rng=lambda: 1.0,
            retry=RetryPolicy(attempts=attempts, base_delay=0.5),
            timeout=timeout,
            clock=lambda: now[0],
        )
        try:
            return await client.call("devices/list", {}, retry=retry)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_429_and_5xx_are_retried_honouring_retry_after(server: Scripted) -> None:
    server.script = [
        (429, {"Retry-After": "3"}, {"error": {"type": "rate_limited", "message": "slow"}}),
        (503, {}, None),
        (200, {}, {"devices": [], "ok": True}),
    ]
    delays: list[float] = []
    assert call(server.url, delays=delays) == {"devices": [], "ok": True}
    assert server.calls == 3
    assert delays == [3.0, 1.0]  # Retry-After, then 0.5 * 2 ** 1 with full jitter at 1.0


def test_retries_are_bounded(server: Scripted) -> None:
    server.script = [(503, {}, None)] * 3
    with pytest.raises(TemporaryProviderError, match="HTTP 503"):
        call(server.url, delays=[], attempts=3)
    assert server.calls == 3


def test_errors_that_cannot_pass_are_not_retried(server: Scripted) -> None:
    server.script = [
        (404, {}, {"error": {"type": "device_not_found", "message": "no such device"}}),
        (
            409,
            {},
            {
                "error": {
                    "type": "duplicate_access_code",
                    "message": "Cannot set duplicate access code 4821 named B",
                }
            },
        ),
        (401, {}, {"error": {"type": "unauthorized", "message": "bad key"}}),
    ]
    with pytest.raises(NotFoundError, match="no such device"):
        call(server.url, delays=[])
    with pytest.raises(InvalidInputError) as duplicate:
        call(server.url, delays=[])
    assert duplicate.value.code == "duplicate_access_code"
    assert "4821" not in str(duplicate.value)  # a PIN in Seam's message is masked
    with pytest.raises(PermanentProviderError, match="SEAM_API_KEY"):
        call(server.url, delays=[])
    assert server.calls == 3


def test_an_unreachable_endpoint_is_a_temporary_error_without_httpx_types() -> None:
    with pytest.raises(TemporaryProviderError) as caught:
        call("http://127.0.0.1:9", delays=[], attempts=2)
    assert "cannot reach" in str(caught.value)
    assert "httpx" not in type(caught.value).__module__


def test_an_answer_that_never_comes_is_a_timeout_not_a_refusal() -> None:
    """A timeout may have reached Seam (a create is then looked for before any retry); a
    refused connection did not. The two must not be confused, whatever the transport."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        port = listener.getsockname()[1]
        with pytest.raises(TemporaryProviderError) as caught:
            call(f"http://127.0.0.1:{port}", delays=[], attempts=1, timeout=0.5)
        assert caught.value.code == "timeout"
        assert "timed out" in str(caught.value)
    finally:
        listener.close()


def test_the_default_transport_is_aiohttps_pool(transport: str) -> None:
    client = SeamClient(api_key="k", endpoint="http://127.0.0.1:9")
    try:
        sender = type(client._sender).__name__
        assert sender == ("AiohttpSender" if transport == "aiohttp" else "HttpxSender")
    finally:
        asyncio.run(client.aclose())


def test_a_proxy_in_the_environment_keeps_httpxs_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours HTTPS_PROXY; aiohttp's session (trust_env off) would bypass it."""
    monkeypatch.setenv("ACCESSCODES_HTTP_TRANSPORT", "aiohttp")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    client = SeamClient(api_key="k", endpoint="http://127.0.0.1:9")
    try:
        assert type(client._sender.http._transport).__name__ == "AsyncHTTPTransport"
    finally:
        asyncio.run(client.aclose())


def test_a_plan_on_aiohttp_never_loads_httpx() -> None:
    """httpx and what it imports (click, rich's console, pygments) cost a plan's start-up
    more CPU than a thousand requests: the default path reads the locks without it."""
    program = (
        "import asyncio, sys\n"
        "from reconciler.providers.seam_client import SeamClient\n"
        "async def main():\n"
        "    client = SeamClient(api_key='k', endpoint='http://127.0.0.1:9')\n"
        "    try:\n"
        "        await client.call('devices/list', {}, retry=False)\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
        "    await client.aclose()\n"
        "asyncio.run(main())\n"
        "print('httpx' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
    env.pop("ACCESSCODES_HTTP_TRANSPORT", None)
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["TemporaryProviderError", "False"], done.stderr
