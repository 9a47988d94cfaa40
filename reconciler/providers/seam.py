"""The Seam provider: devices and access codes through Seam's API.

Capabilities come from the device object (lengths, `code_constraints`, slots, offline support,
the time zone in `location` or the maker's metadata), native scheduling from Seam's list of
makers. A create is never retried blindly: after a timeout or a 5xx the device's codes are
listed again and a code that landed is adopted, so a retry never leaves two codes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from reconciler.errors import ProviderError, TemporaryProviderError
from reconciler.models import (
    AccessCodeId,
    Capabilities,
    CodeConstraint,
    CodeSpec,
    CodeStatus,
    Device,
    DeviceId,
    LiveCode,
    ProviderIssue,
)
from reconciler.plan import iso
from reconciler.providers.seam_client import RateLimitedError, SeamClient

# Seam's docs: makers whose locks preload scheduled codes themselves (72 h ahead).
NATIVE_SCHEDULING = frozenset(
    {
        "2n",
        "august",
        "igloohome",
        "kwikset",
        "nuki",
        "salto",
        "schlage",
        "tedee",
        "ttlock",
        "yale",
        "wyze",
    }
)
ONE_TIME_CODES = frozenset({"igloohome", "lockly"})
ACTION_POLLS = 20
ACTION_POLL_DELAY = 0.25
# Seam's per-device write limits, per `write_window` seconds (a minute).
WRITE_LIMITS = {"create": 10, "update": 10, "delete": 20}
WRITE_MARGIN = 0.25  # seconds: our clock starts before Seam's sees the request


class SeamProvider:
    """Reads and writes access codes through Seam.

    Writes are counted per device against Seam's limits (`WRITE_LIMITS` per `write_window`
    seconds) and wait for their slot rather than draw a 429. With `pace_writes` false they
    are held back only once Seam has answered a write with 429 (so it enforces the limits):
    servers without them, like Seam's fake, are then not slowed down.
    """

    kind = "seam"

    def __init__(
        self,
        client: SeamClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pace_writes: bool = True,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self.write_window = 60.0
        self.pace_writes = pace_writes  # else set by the first 429 on a write
        self._writes: dict[tuple[str, str], deque[float]] = {}

    async def _write_slot(self, device_id: str, kind: str) -> bool:
        """Wait until the device may take another write of this kind, and take the slot.

        True when the write goes over the device's own limit (writes not held back yet): a
        429 for it is the device's, and must not slow the requests to every other lock.
        """
        limit = WRITE_LIMITS[kind]
        sent = self._writes.setdefault((device_id, kind), deque())
        while True:
            now = time.monotonic()
            while sent and sent[0] <= now - self.write_window:
                sent.popleft()
            if len(sent) < limit or not self.pace_writes:
                sent.append(now)
                return len(sent) > limit
            await self._sleep(sent[0] + self.write_window + WRITE_MARGIN - now)

    async def list_devices(self, device_ids: Sequence[DeviceId]) -> list[Device]:
        if not device_ids:
            return []
        found: list[Device] = []
        body: dict[str, Any] = {"device_ids": list(device_ids), "limit": 500}
        while True:
            data = await self.client.call("devices/list", body)
            found.extend(device_from_seam(raw) for raw in data.get("devices", []))
            page = data.get("pagination") or {}
            if not page.get("has_next_page") or not page.get("next_page_cursor"):
                break
            body = {**body, "page_cursor": page["next_page_cursor"]}
        wanted = set(device_ids)
        return [d for d in found if d.device_id in wanted]

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        managed, unmanaged = await asyncio.gather(
            self._list("access_codes/list", device_id),
            self._list("access_codes/unmanaged/list", device_id),
        )
        seen: set[str] = set()
        codes = []
        for raw, is_managed in [(r, True) for r in managed] + [(r, False) for r in unmanaged]:
            if raw.get("device_id") != device_id or raw["access_code_id"] in seen:
                continue  # the fake lists every device's codes: filter here
            if is_managed and raw.get("is_managed") is False:
                continue  # the unmanaged listing is the authority on those
            seen.add(raw["access_code_id"])
            codes.append(code_from_seam(raw, managed=is_managed))
        return codes

    async def _list(self, route: str, device_id: DeviceId) -> list[dict[str, Any]]:
        key = "access_codes"
        body: dict[str, Any] = {"device_id": device_id}
        out: list[dict[str, Any]] = []
        while True:
            data = await self.client.call(route, body)
            out.extend(data.get(key, []))
            page = data.get("pagination") or {}
            if not page.get("has_next_page") or not page.get("next_page_cursor"):
                return out
            body = {**body, "page_cursor": page["next_page_cursor"]}

    async def create_code(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        body = create_body(device_id, spec)
        policy = self.client.retry
        attempt = 1
        while True:
            try:
                over = await self._write_slot(device_id, "create")
                data = await self.client.call(
                    "access_codes/create", body, retry=False, device_limited=over
                )
                return code_from_seam(data["access_code"], managed=True)
            except TemporaryProviderError as exc:
                if isinstance(exc, RateLimitedError):  # refused unseen: nothing can have landed
                    self.pace_writes = True
                    landed = None
                else:
                    landed = await self._landed(device_id, spec)
                if landed is not None:
                    return landed
                if attempt >= policy.attempts:
                    raise
                if not isinstance(exc, RateLimitedError):
                    await self._sleep(policy.delay(attempt, exc.delay, self.client.rng))
                attempt += 1  # after a 429 the client's pacer holds the retry until Retry-After

    async def _landed(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode | None:
        """The code a failed create may have made after all, found by its identity."""
        try:
            codes = await self.list_codes(device_id)
        except TemporaryProviderError:
            return None
        for code in codes:
            if code.is_managed and code.name == spec.name and code.starts_at == spec.starts_at:
                return code
        return None

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        body: dict[str, Any] = {"access_code_id": code.access_code_id, "name": spec.name}
        if spec.code is not None:
            body["code"] = spec.code
        if spec.ends_at is None:
            body["type"] = "ongoing"
        else:
            body["starts_at"] = iso(spec.starts_at)
            body["ends_at"] = iso(spec.ends_at)
        over = await self._write_slot(code.device_id, "update")
        data = await self._write("access_codes/update", body, over)
        await self._finish(data.get("action_attempt"))

    async def delete_code(self, code: LiveCode) -> None:
        over = await self._write_slot(code.device_id, "delete")
        data = await self._write(
            "access_codes/delete", {"access_code_id": code.access_code_id}, over
        )
        await self._finish(data.get("action_attempt"))

    async def _write(self, route: str, body: dict[str, Any], over: bool) -> dict[str, Any]:
        before = self.client.throttled
        try:
            return await self.client.call(route, body, device_limited=over)
        finally:
            if self.client.throttled > before:  # a 429 on the way (retried or not)
                self.pace_writes = True

    async def _finish(self, attempt: dict[str, Any] | None) -> None:
        """Follow an action attempt until it succeeds or fails (bounded)."""
        for _ in range(ACTION_POLLS):
            if not attempt or attempt.get("status") == "success":
                return
            if attempt.get("status") == "error":
                error = attempt.get("error") or {}
                raise ProviderError(
                    f"Seam {attempt.get('action_type', 'action')} failed: "
                    f"{error.get('message', 'no message')}",
                    code=error.get("type"),
                )
            await self._sleep(ACTION_POLL_DELAY)
            data = await self.client.call(
                "action_attempts/get", {"action_attempt_id": attempt["action_attempt_id"]}
            )
            attempt = data.get("action_attempt")
        raise TemporaryProviderError(
            "Seam action still pending; it may still complete", code="action_pending"
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def create_body(device_id: DeviceId, spec: CodeSpec) -> dict[str, Any]:
    """The `access_codes/create` request for a spec."""
    body: dict[str, Any] = {"device_id": device_id, "name": spec.name}
    if spec.code is not None:
        body["code"] = spec.code
    if spec.starts_at is not None:
        body["starts_at"] = iso(spec.starts_at)
    if spec.ends_at is not None:
        body["ends_at"] = iso(spec.ends_at)
    if spec.prefer_native_scheduling is not None:
        body["prefer_native_scheduling"] = spec.prefer_native_scheduling
    if spec.offline:
        body["use_offline_access_code"] = True
        if spec.time_rounding:
            body["max_time_rounding"] = spec.time_rounding
        elif spec.starts_at and spec.ends_at:  # a spec not from the planner: times as given
            same_time = spec.starts_at.time() == spec.ends_at.time()
            body["max_time_rounding"] = "1d" if same_time else "1h"
    if spec.one_time_use:
        body["is_one_time_use"] = True
    return body


def _manufacturer(raw: dict[str, Any]) -> str:
    props = raw.get("properties") or {}
    maker = props.get("manufacturer") or str(raw.get("device_type", "")).split("_")[0]
    if maker == "dormakaba" or "oracode" in str(raw.get("device_type", "")):
        return "dormakaba_oracode"
    return str(maker or "generic").lower()


def device_from_seam(raw: dict[str, Any]) -> Device:
    """A Seam device object as our `Device` with its capabilities."""
    props = raw.get("properties") or {}
    maker = _manufacturer(raw)
    constraints = tuple(
        CodeConstraint(c["constraint_type"], c.get("min_length"), c.get("max_length"))
        for c in props.get("code_constraints") or []
        if isinstance(c, dict) and c.get("constraint_type")
    )
    zone = (
        (raw.get("location") or {}).get("timezone")
        or (props.get("ultraloq_metadata") or {}).get("time_zone")
        or (props.get("dormakaba_oracode_metadata") or {}).get("iana_timezone")
    )
    offline = bool(
        raw.get("can_program_offline_access_codes") or props.get("supports_offline_access_codes")
    )
    online = raw.get("can_program_online_access_codes")
    caps = Capabilities(
        manufacturer=maker,
        supported_code_lengths=tuple(props.get("supported_code_lengths") or (4, 5, 6, 7, 8)),
        code_constraints=constraints,
        max_active_codes=props.get("max_active_codes_supported"),
        native_scheduling=maker in NATIVE_SCHEDULING,
        online_codes=bool(online) if online is not None else not offline,
        offline_codes=offline,
        one_time_codes=offline and maker in ONE_TIME_CODES,
        timezone=zone,
        time_bound_needs_timezone=maker == "ultraloq",
    )
    return Device(
        device_id=DeviceId(raw["device_id"]),
        name=str(props.get("name") or raw.get("display_name") or raw["device_id"]),
        capabilities=caps,
        online=bool(props.get("online", True)),
        warnings=_issues(raw.get("warnings"), "warning_code"),
    )


def code_from_seam(raw: dict[str, Any], *, managed: bool) -> LiveCode:
    """A Seam access_code object as our `LiveCode`."""
    status = raw.get("status") or "unknown"
    return LiveCode(
        access_code_id=AccessCodeId(raw["access_code_id"]),
        device_id=DeviceId(raw["device_id"]),
        name=str(raw.get("name") or ""),
        code=raw.get("code"),
        starts_at=_time(raw.get("starts_at")),
        ends_at=_time(raw.get("ends_at")),
        status=CodeStatus(status)
        if status in CodeStatus.__members__.values()
        else CodeStatus.UNKNOWN,
        is_managed=managed,
        is_offline=bool(raw.get("is_offline_access_code")),
        is_one_time_use=bool(raw.get("is_one_time_use")),
        is_backup=bool(raw.get("is_backup")),
        errors=_issues(raw.get("errors"), "error_code"),
        warnings=_issues(raw.get("warnings"), "warning_code"),
    )


def _status(text: str) -> CodeStatus:
    try:
        return CodeStatus(text)
    except ValueError:
        return CodeStatus.UNKNOWN


def _issues(raw: Any, key: str) -> tuple[ProviderIssue, ...]:
    return tuple(
        ProviderIssue(str(item.get(key)), str(item.get("message", "")))
        for item in raw or []
        if isinstance(item, dict) and item.get(key)
    )


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
