"""Every request the Seam adapter sends validates against Seam's OpenAPI request schema."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import jsonschema
import pytest
from seamfake import SeamFake, request_schemas

from reconciler.core.models import CodeSpec, DeviceId
from reconciler.providers.seam import SeamProvider
from reconciler.providers.seam_client import SeamClient

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_every_request_body_matches_seams_openapi() -> None:
    sent: list[tuple[str, dict]] = []

    async def record(request: httpx.Request) -> None:
        sent.append((request.url.path, json.loads(request.content or b"{}")))

    async def exercise(fake: SeamFake) -> None:
        http = httpx.AsyncClient(event_hooks={"request": [record]})
        provider = SeamProvider(SeamClient(api_key=fake.api_key, endpoint=fake.url, http=http))
        try:
            lock = DeviceId("august_device_1")
            await provider.list_devices([lock, DeviceId("igloohome_device_1")])
            ongoing = await provider.create_code(lock, CodeSpec("Alice", "482913"))
            await provider.create_code(
                lock,
                CodeSpec(
                    "Bob",
                    "736194",
                    starts_at=START,
                    ends_at=START + timedelta(days=3),
                    prefer_native_scheduling=False,
                ),
            )
            await provider.create_code(
                DeviceId("igloohome_device_1"),
                CodeSpec(
                    "Parcel",
                    None,
                    starts_at=START,
                    ends_at=START + timedelta(days=1),
                    offline=True,
                    one_time_use=True,
                ),
            )
            await provider.update_code(
                ongoing,
                CodeSpec("Alice", "905172", starts_at=START, ends_at=START + timedelta(days=1)),
            )
            await provider.update_code(ongoing, CodeSpec("Alice", "905172"))
            await provider.list_codes(lock)
            await provider.delete_code(ongoing)
        finally:
            await provider.aclose()

    with SeamFake() as fake:
        asyncio.run(exercise(fake))
    schemas = request_schemas()
    routes = {path for path, _ in sent}
    assert {
        "/devices/list",
        "/access_codes/list",
        "/access_codes/unmanaged/list",
        "/access_codes/create",
        "/access_codes/update",
        "/access_codes/delete",
    } <= routes
    for path, body in sent:
        jsonschema.validate(body, schemas[path])


def test_a_body_the_api_would_reject_fails_the_contract_check() -> None:
    with pytest.raises(jsonschema.ValidationError, match="is not of type 'string'"):
        jsonschema.validate({"device_id": 42}, request_schemas()["/access_codes/create"])
