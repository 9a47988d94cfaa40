"""Seam's events and webhooks, as the Seam provider reads and registers them.

- `events/list` has no cursor, only `since` (Seam's `created_at`), a `limit` (500 by default)
  and an `unstable_offset`: a window is read page by page until a page is short or brings no
  event not seen on an earlier page (Seam's fake ignores the limit and the offset and answers
  the whole window each time; the second rule ends that after one repeat).
- `webhooks/create` takes `"*"` or exact event types, not patterns such as `access_code.*`:
  `WEBHOOK_EVENT_TYPES` names each event the controller acts on (a code or a lock changed on
  Seam's side, a device came or went, a door opened), every one of them in Seam's OpenAPI
  spec and accepted by its fake. Battery and noise events change no code and are left out, so
  they wake nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from reconciler.core.plan import iso

EVENTS_PAGE = 500  # Seam's default `limit`
MAX_EVENT_PAGES = 20  # 10,000 events in one window: more is a flood the full resync covers

WEBHOOK_EVENT_TYPES = (
    "access_code.created",
    "access_code.changed",
    "access_code.scheduled_on_device",
    "access_code.set_on_device",
    "access_code.removed_from_device",
    "access_code.delay_in_setting_on_device",
    "access_code.failed_to_set_on_device",
    "access_code.deleted",
    "access_code.delay_in_removing_from_device",
    "access_code.failed_to_remove_from_device",
    "access_code.modified_external_to_seam",
    "access_code.deleted_external_to_seam",
    "access_code.backup_access_code_pulled",
    "access_code.unmanaged.converted_to_managed",
    "access_code.unmanaged.failed_to_convert_to_managed",
    "access_code.unmanaged.created",
    "access_code.unmanaged.removed",
    "lock.locked",
    "lock.unlocked",
    "device.connected",
    "device.disconnected",
    "device.converted_to_unmanaged",
    "device.unmanaged.converted_to_managed",
    "device.removed",
    "device.deleted",
    "device.third_party_integration_detected",
    "device.third_party_integration_no_longer_detected",
    "device.connection_became_flaky",
    "device.connection_stabilized",
)


@dataclass(frozen=True)
class Webhook:
    """One of Seam's webhooks: where it posts, which events, and the secret that signs them."""

    webhook_id: str
    url: str
    event_types: tuple[str, ...] = ()
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WebhookSetup:
    """What `webhooks setup` found or made: the webhook, whether it is new, and the event
    types we act on that an existing webhook does not receive."""

    webhook: Webhook
    created: bool
    missing: tuple[str, ...] = ()


def events_body(since: datetime, page: int) -> dict[str, Any]:
    """The `events/list` request for one page of the window that starts at `since`."""
    body: dict[str, Any] = {"since": iso(since), "limit": EVENTS_PAGE}
    if page:
        body["unstable_offset"] = page * EVENTS_PAGE
    return body


def webhook_from_seam(raw: dict[str, Any]) -> Webhook:
    """A webhook object of Seam's API."""
    secret = raw.get("secret")
    return Webhook(
        webhook_id=str(raw.get("webhook_id", "")),
        url=str(raw.get("url", "")),
        event_types=tuple(str(t) for t in raw.get("event_types") or ()),
        secret=secret if isinstance(secret, str) and secret else None,
    )


def same_url(a: str, b: str) -> bool:
    """Two webhook URLs that deliver to the same place (scheme and host in any case, a
    trailing slash or not)."""

    def key(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(url.strip())
        return (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query)

    return key(a) == key(b)


def setup_of(existing: list[Webhook], url: str) -> WebhookSetup | None:
    """The setup an existing webhook for `url` already is (None: there is none)."""
    for webhook in existing:
        if same_url(webhook.url, url):
            received = set(webhook.event_types)
            missing = tuple(t for t in WEBHOOK_EVENT_TYPES if t not in received)
            if "*" in received:
                missing = ()
            return WebhookSetup(webhook, created=False, missing=missing)
    return None
