"""The wire under `SeamClient`: one POST, answered as (status, Retry-After, raw body).

Two senders behind one shape. `AiohttpSender`, the default: aiohttp's session and pool used
directly, which spends a fraction of httpx's CPU per request on a large fleet and keeps httpx
(and what it imports) out of a plan's start-up (bench/, README "Performance"). `HttpxSender`:
httpx, for a client passed in (tests watch requests through its hooks), a proxy named in the
environment (which only httpx honours) or `ACCESSCODES_HTTP_TRANSPORT=httpx`.

Either one raises only our temporary errors for transport trouble: `timeout` when the answer
did not come in time (the request may have reached Seam), `connection_error` otherwise.
"""

from __future__ import annotations

import os
import ssl
from typing import TYPE_CHECKING, Protocol

from reconciler.core.errors import TemporaryProviderError

if TYPE_CHECKING:
    import aiohttp
    import httpx

Answer = tuple[int, str | None, bytes]
_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


class Sender(Protocol):
    """Sends one POST; transport errors leave as `TemporaryProviderError`."""

    async def post(self, route: str, url: str, payload: bytes, headers: dict[str, str]) -> Answer:
        """(status, its Retry-After, the raw answer)."""
        ...

    async def aclose(self) -> None:
        """Close the connection pool."""
        ...


def make_sender(
    endpoint: str, *, timeout: float, connections: int, http: httpx.AsyncClient | None
) -> Sender:
    """aiohttp's session unless an httpx client is given, a proxy is set, or the
    environment asks for httpx (ACCESSCODES_HTTP_TRANSPORT=httpx)."""
    if http is not None:
        return HttpxSender(endpoint, http)
    wants_httpx = os.environ.get("ACCESSCODES_HTTP_TRANSPORT", "aiohttp") == "httpx"
    if wants_httpx or any(os.environ.get(name) for name in _PROXY_VARIABLES):
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return HttpxSender(endpoint, httpx.AsyncClient(timeout=timeout, limits=limits))
    return AiohttpSender(endpoint, timeout=timeout, connections=connections)


def _unreachable(route: str, endpoint: str, exc: BaseException) -> TemporaryProviderError:
    return TemporaryProviderError(
        f"Seam {route}: cannot reach {endpoint} ({type(exc).__name__})", code="connection_error"
    )


def _timed_out(route: str) -> TemporaryProviderError:
    return TemporaryProviderError(f"Seam {route}: timed out", code="timeout")


class AiohttpSender:
    """aiohttp's session and connection pool, made on first use inside the running loop.

    TLS trusts what httpx would: `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, else certifi's
    bundle, built only for an https endpoint.
    """

    def __init__(self, endpoint: str, *, timeout: float, connections: int) -> None:
        import aiohttp  # loaded with the client, not inside its first request

        self.endpoint = endpoint
        self.connections = connections
        self.session: aiohttp.ClientSession | None = None
        self.timeout = aiohttp.ClientTimeout(
            sock_connect=timeout, sock_read=timeout, connect=timeout
        )
        self._transport_errors = (aiohttp.ClientError, OSError)

    def _session(self) -> aiohttp.ClientSession:
        import aiohttp

        tls: ssl.SSLContext | bool = _tls_context() if self.endpoint.startswith("https:") else True
        connector = aiohttp.TCPConnector(limit=self.connections, ssl=tls)
        self.session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self.session

    async def post(self, route: str, url: str, payload: bytes, headers: dict[str, str]) -> Answer:
        """POST on the pool; aiohttp's errors leave as ours."""
        session = self.session or self._session()
        try:
            async with session.post(
                url, data=payload, headers=headers, allow_redirects=False, timeout=self.timeout
            ) as response:
                return response.status, response.headers.get("Retry-After"), await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise _timed_out(route) from exc
        except self._transport_errors as exc:
            raise _unreachable(route, self.endpoint, exc) from exc

    async def aclose(self) -> None:
        """Close the session, if one was made."""
        if self.session is not None:
            await self.session.close()


class HttpxSender:
    """An httpx client: its transport, its proxies, its event hooks."""

    def __init__(self, endpoint: str, http: httpx.AsyncClient) -> None:
        self.endpoint = endpoint
        self.http = http

    async def post(self, route: str, url: str, payload: bytes, headers: dict[str, str]) -> Answer:
        """POST through httpx; its transport errors leave as ours."""
        import httpx

        try:
            response = await self.http.post(url, content=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise _timed_out(route) from exc
        except httpx.TransportError as exc:
            raise _unreachable(route, self.endpoint, exc) from exc
        return response.status_code, response.headers.get("Retry-After"), response.content

    async def aclose(self) -> None:
        """Close httpx's pool."""
        await self.http.aclose()


def _tls_context() -> ssl.SSLContext:
    """Verified TLS with the CA bundle httpx would use."""
    cafile = os.environ.get("SSL_CERT_FILE")
    capath = os.environ.get("SSL_CERT_DIR")
    if not cafile and not capath:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)
