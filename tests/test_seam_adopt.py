"""A create whose answer is lost is adopted, not sent twice: one code on the lock."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from seamfake import SeamFake

from reconciler.core.models import CodeSpec, DeviceId
from reconciler.providers.seam import SeamProvider
from reconciler.providers.seam_client import RetryPolicy, SeamClient


class LossyProxy:
    """Forwards every request to the fake, but answers the first create with a 502 after the
    fake has made the code, as a gateway that dropped the response would."""

    def __init__(self, upstream: str) -> None:
        self.creates_forwarded = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = urllib.request.Request(
                    upstream + self.path,
                    data=body,
                    method="POST",
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        status, payload = answer.status, answer.read()
                except urllib.error.HTTPError as err:
                    status, payload = err.code, err.read()
                if self.path == "/access_codes/create":
                    outer.creates_forwarded += 1
                    if outer.creates_forwarded == 1:
                        status, payload = 502, b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_create_whose_answer_was_lost_is_adopted() -> None:
    async def no_wait(_: float) -> None:
        return None

    async def create(url: str, api_key: str):
        client = SeamClient(
            api_key=api_key, endpoint=url, sleep=no_wait, retry=RetryPolicy(attempts=3)
        )
        provider = SeamProvider(client, sleep=no_wait)
        try:
            return await provider.create_code(
                DeviceId("august_device_1"), CodeSpec("Alice", "482913")
            )
        finally:
            await provider.aclose()

    with SeamFake() as fake:
        proxy = LossyProxy(fake.url)
        try:
            created = asyncio.run(create(proxy.url, fake.api_key))
        finally:
            proxy.server.shutdown()
        codes = fake.list_codes("august_device_1", managed=True)
    assert proxy.creates_forwarded == 1, "the create must not be sent a second time"
    assert [c["name"] for c in codes] == ["Alice"]
    assert created.access_code_id == codes[0]["access_code_id"]


def test_a_lost_create_never_adopts_an_older_code_of_the_same_name_with_another_pin() -> None:
    from seamproxy import SeamProxy

    async def no_wait(_: float) -> None:
        return None

    def lose_first_create(path: str, nth: int, forward):  # type: ignore[no-untyped-def]
        if path == "/access_codes/create" and nth == 1:
            return 502, b""  # lost before it reached the fake: nothing was made
        return forward()

    async def create(url: str, api_key: str):  # type: ignore[no-untyped-def]
        client = SeamClient(
            api_key=api_key, endpoint=url, sleep=no_wait, retry=RetryPolicy(attempts=3)
        )
        provider = SeamProvider(client, sleep=no_wait)
        try:
            return await provider.create_code(
                DeviceId("august_device_1"), CodeSpec("Alice", "482913")
            )
        finally:
            await provider.aclose()

    with SeamFake() as fake:
        old = fake.post(
            "access_codes/create",
            {"device_id": "august_device_1", "name": "Alice", "code": "905172"},
        ).json["access_code"]
        with SeamProxy(fake.url, lose_first_create) as proxy:
            created = asyncio.run(create(proxy.url, fake.api_key))
        codes = fake.list_codes("august_device_1", managed=True)
    assert proxy.forwarded["/access_codes/create"] == 1
    assert created.access_code_id != old["access_code_id"], "Alice's old code is not the new one"
    assert sorted(c["code"] for c in codes) == ["482913", "905172"]
