"""The Seam provider: devices and access codes through Seam's API.

Capabilities come from the device object (`seam_objects`). Writes are retried only where that
is safe. A create is never retried blindly: after a timeout or a 5xx, and a short settle, the
device's codes are listed again; a code that landed is adopted, one shown absent is sent again,
and when the listing fails too the create's outcome is unknown (`WriteOutcomeUnknown`), never
re-sent. A 429 was refused unseen and is simply retried. A delete retried into a 404 had landed.
An update or delete still pending at Seam is `ActionPending`; a duplicate PIN (409) is never
retried. A backup-code pull may be retried like a read: Seam answers a repeated pull for the same
code with the backup code it already gave. Errors leave with the PINs of the request masked.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from reconciler.core.errors import (
    ActionPending,
    NotFoundError,
    ProviderError,
    TemporaryProviderError,
    WriteOutcomeUnknown,
    mask_digits,
    masked_error,
)
from reconciler.core.models import CodeSpec, Device, DeviceId, LiveCode
from reconciler.core.plan import iso
from reconciler.providers.seam_client import RateLimitedError, SeamClient
from reconciler.providers.seam_events import (
    EVENTS_PAGE,
    MAX_EVENT_PAGES,
    WEBHOOK_EVENT_TYPES,
    Webhook,
    events_body,
    webhook_from_seam,
)
from reconciler.providers.seam_objects import (
    EMPTY_POOL_ERRORS,
    NATIVE_SCHEDULING,
    ONE_TIME_CODES,
    code_from_seam,
    create_body,
    device_from_seam,
    same_code,
)

__all__ = [
    "NATIVE_SCHEDULING",
    "ONE_TIME_CODES",
    "SeamProvider",
    "code_from_seam",
    "create_body",
    "device_from_seam",
]

ACTION_POLLS = 20
DEVICES_PAGE = 500  # devices/list's largest page
ACTION_POLL_DELAY = 0.25
# Seam's per-device write limits, per `write_window` seconds (a minute).
WRITE_LIMITS = {"create": 10, "update": 10, "delete": 20}
WRITE_MARGIN = 0.25  # seconds: our clock starts before Seam's sees the request
CREATE_SETTLE = 1.0  # seconds for a create whose answer was lost to show in Seam's listing


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
        create_settle: float = CREATE_SETTLE,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self.create_settle = create_settle  # seconds before a lost create is looked for
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
        """The named devices, asked for `DEVICES_PAGE` ids at a time, all at once: each ask
        is one page, where following one cursor would wait a round trip per 500 locks (2 s
        for 10,000 at 100 ms before the first code is read)."""
        if not device_ids:
            return []
        ids = list(device_ids)
        asks = [ids[start : start + DEVICES_PAGE] for start in range(0, len(ids), DEVICES_PAGE)]
        pages = await asyncio.gather(*(self._devices(ask) for ask in asks))
        wanted = set(device_ids)
        return [d for page in pages for d in page if d.device_id in wanted]

    async def _devices(self, device_ids: list[DeviceId]) -> list[Device]:
        found: list[Device] = []
        body: dict[str, Any] = {"device_ids": device_ids, "limit": DEVICES_PAGE}
        while True:
            data = await self.client.call("devices/list", body)
            found.extend(device_from_seam(raw) for raw in data.get("devices", []))
            page = data.get("pagination") or {}
            if not page.get("has_next_page") or not page.get("next_page_cursor"):
                return found
            body = {**body, "page_cursor": page["next_page_cursor"]}

    @property
    def devices_at_once(self) -> int:
        """How many devices `read_live` may read at once: enough for the client's most
        requests in flight (two listings each); the client's limit paces them."""
        return max(1, self.client.in_flight.ceiling // 2)

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        # Both listings at once: the unmanaged one in a task of its own, the managed one here
        # (one task a lock, where `asyncio.gather` made two and a future over them).
        unmanaged_task = asyncio.ensure_future(self._list("access_codes/unmanaged/list", device_id))
        try:
            managed = await self._list("access_codes/list", device_id)
        except BaseException:
            unmanaged_task.cancel()
            raise
        unmanaged = await unmanaged_task
        seen: set[str] = set()
        codes = []
        for listing, is_managed in ((managed, True), (unmanaged, False)):
            for raw in listing:
                if raw.get("device_id") != device_id or raw["access_code_id"] in seen:
                    continue  # the fake lists every device's codes: filter here
                if is_managed and raw.get("is_managed") is False:
                    continue  # the unmanaged listing is the authority on those
                seen.add(raw["access_code_id"])
                codes.append(code_from_seam(raw, managed=is_managed, device_id=device_id))
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
        """Create a code, never twice: after a lost answer it is adopted if it landed, sent
        again only if a re-list shows it absent, and `WriteOutcomeUnknown` if the re-list
        fails. Errors leave with the PIN masked."""
        try:
            return await self._create(device_id, spec)
        except ProviderError as exc:
            masked_error(exc, [spec.code])
            raise

    async def _create(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        body = create_body(device_id, spec)
        started = self.client.clock()
        attempt = 1
        while True:
            over = await self._write_slot(device_id, "create")
            try:
                data = await self._write("access_codes/create", body, over, retry=False)
                return code_from_seam(data["access_code"], managed=True)
            except RateLimitedError as exc:  # refused unseen: nothing can have landed
                if not await self._may_retry(attempt, exc, started, over=over):
                    raise
            except TemporaryProviderError as exc:  # a timeout, a 5xx: it may have landed
                landed = await self._landed(device_id, spec, exc)
                if landed is not None:
                    return landed
                if not await self._may_retry(attempt, exc, started, over=over):
                    raise
            attempt += 1

    async def _may_retry(
        self, attempt: int, exc: TemporaryProviderError, started: float, *, over: bool
    ) -> bool:
        """Wait before the next attempt of a write; False once the retry policy allows no
        more (in count or in time)."""
        policy = self.client.retry
        delay = policy.delay(attempt, exc.delay, self.client.rng)
        if attempt >= policy.attempts or self.client.clock() - started + delay > policy.deadline:
            return False
        if over or not isinstance(exc, RateLimitedError):
            await self._sleep(delay)  # after any other 429 the client's pacer holds us
        return True

    async def _landed(
        self, device_id: DeviceId, spec: CodeSpec, failure: ProviderError
    ) -> LiveCode | None:
        """The code a create whose answer was lost may have made after all, found by its
        identity once Seam has had `create_settle` seconds to list it. When the listing fails
        too nobody knows: `WriteOutcomeUnknown` (sending it again could make a second code)."""
        if self.create_settle > 0:
            await self._sleep(self.create_settle)
        try:
            codes = await self.list_codes(device_id)
        except ProviderError as exc:
            raise WriteOutcomeUnknown(
                f"{failure}; listing the lock's codes to check failed too ({exc}): the code "
                "may or may not be on the lock, the next plan will tell"
            ) from exc
        return next((code for code in codes if same_code(code, spec)), None)

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        """Change a code in place and follow Seam's action attempt (bounded): still pending
        at the end is `ActionPending`. Errors leave with the PINs masked."""
        body: dict[str, Any] = {"access_code_id": code.access_code_id, "name": spec.name}
        if spec.code is not None:
            body["code"] = spec.code
        if spec.ends_at is None:
            body["type"] = "ongoing"
        else:
            body["starts_at"] = iso(spec.starts_at)
            body["ends_at"] = iso(spec.ends_at)
        try:
            over = await self._write_slot(code.device_id, "update")
            data = await self._write("access_codes/update", body, over)
            await self._finish(data.get("action_attempt"))
        except ProviderError as exc:
            masked_error(exc, [spec.code, code.code])
            raise

    async def delete_code(self, code: LiveCode) -> None:
        """Remove a code. A retry (after a timeout or a 5xx) answered 404 means an earlier
        attempt removed it: done. A 404 on the first attempt is a failure (`not_found`)."""
        try:
            data = await self._delete(code)
            if data is not None:
                await self._finish(data.get("action_attempt"))
        except ProviderError as exc:
            masked_error(exc, [code.code])
            raise

    async def _delete(self, code: LiveCode) -> dict[str, Any] | None:
        """Send the delete with retries; None when a retry found the code already gone."""
        body = {"access_code_id": code.access_code_id}
        started = self.client.clock()
        attempt, maybe_landed = 1, False
        while True:
            over = await self._write_slot(code.device_id, "delete")
            try:
                return await self._write("access_codes/delete", body, over, retry=False)
            except NotFoundError:
                if maybe_landed:
                    return None
                raise
            except TemporaryProviderError as exc:
                maybe_landed = maybe_landed or not isinstance(exc, RateLimitedError)
                if not await self._may_retry(attempt, exc, started, over=over):
                    raise
            attempt += 1

    async def _write(
        self, route: str, body: dict[str, Any], over: bool, *, retry: bool = True
    ) -> dict[str, Any]:
        before = self.client.throttled
        try:
            return await self.client.call(route, body, retry=retry, device_limited=over)
        finally:
            if self.client.throttled > before:  # a 429 on the way (retried or not)
                self.pace_writes = True

    async def _finish(self, attempt: dict[str, Any] | None) -> None:
        """Follow an action attempt until it succeeds or fails (bounded): `ActionPending` if
        it is still going at the end, `WriteOutcomeUnknown` if it cannot be read."""
        for _ in range(ACTION_POLLS):
            if not attempt or attempt.get("status") == "success":
                return
            if attempt.get("status") == "error":
                error = attempt.get("error") or {}
                raise ProviderError(
                    f"Seam {attempt.get('action_type', 'action')} failed: "
                    f"{mask_digits(str(error.get('message', 'no message')))}",
                    code=error.get("type"),
                )
            await self._sleep(ACTION_POLL_DELAY)
            try:
                data = await self.client.call(
                    "action_attempts/get", {"action_attempt_id": attempt["action_attempt_id"]}
                )
            except ProviderError as exc:
                raise WriteOutcomeUnknown(
                    f"Seam accepted the {attempt.get('action_type', 'action')} but its "
                    f"progress could not be read ({exc})"
                ) from exc
            attempt = data.get("action_attempt")
        raise ActionPending(
            f"Seam {attempt.get('action_type', 'action') if attempt else 'action'} accepted and "
            "still pending; the next plan will show where it ended"
        )

    async def pull_backup_code(self, code: LiveCode) -> LiveCode | None:
        """`access_codes/pull_backup_access_code` for a code that failed to set: the backup
        code (its PIN as Seam reveals it), or None when Seam has none to give (an empty pool).
        Errors leave with the failed code's PIN masked."""
        try:
            data = await self.client.call(
                "access_codes/pull_backup_access_code", {"access_code_id": code.access_code_id}
            )
        except ProviderError as exc:
            if exc.code in EMPTY_POOL_ERRORS:
                return None
            masked_error(exc, [code.code])
            raise
        raw = data.get("backup_access_code")
        if not isinstance(raw, dict) or not raw.get("access_code_id"):
            return None
        return code_from_seam({"device_id": code.device_id, **raw}, managed=True)

    async def list_events(self, since: datetime) -> list[dict[str, Any]]:
        """`events/list` from `since`, page after page (`seam_events`); each event once."""
        found: dict[str, dict[str, Any]] = {}
        for page in range(MAX_EVENT_PAGES):
            data = await self.client.call("events/list", events_body(since, page))
            events = [e for e in data.get("events") or () if isinstance(e, dict)]
            fresh = {str(e["event_id"]): e for e in events if e.get("event_id")}
            fresh = {k: v for k, v in fresh.items() if k not in found}
            found.update(fresh)
            if len(events) < EVENTS_PAGE or not fresh:
                break
        return list(found.values())

    async def list_webhooks(self) -> list[Webhook]:
        """The workspace's webhooks (`webhooks/list`)."""
        data = await self.client.call("webhooks/list", {})
        return [webhook_from_seam(w) for w in data.get("webhooks") or () if isinstance(w, dict)]

    async def create_webhook(
        self, url: str, event_types: Sequence[str] = WEBHOOK_EVENT_TYPES
    ) -> Webhook:
        """A new webhook posting these events to `url`. Sent once, never retried blind: a
        second webhook would deliver every event twice."""
        body = {"url": url, "event_types": list(event_types)}
        data = await self.client.call("webhooks/create", body, retry=False)
        return webhook_from_seam(data.get("webhook") or {})

    async def aclose(self) -> None:
        await self.client.aclose()
