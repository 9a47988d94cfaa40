"""What the controller tells people: webhook notices kept until delivered, and PIN masking.

A notice (new drift, a failed change) is the only word a person gets that a guest may be locked
out, so a webhook that answers 500 or cannot be reached must not lose it: notices wait here and
go again with the next run, and are cleared only when the webhook answers 2xx. The queue is
bounded (a webhook down for a week must not grow the process): the oldest are dropped, and the
next message says how many. Every text that leaves the process goes through `mask_pins` first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import httpx

from reconciler.core.errors import mask_digits, mask_secrets

NOTICE_LIMIT = 100
WEBHOOK_TIMEOUT = 10.0


def mask_pins(text: str, pins: Iterable[str | None] = ()) -> str:
    """Hide the given PINs wherever they appear, and any other run of four or more digits
    standing alone (it may be a PIN), so an error message can be logged or posted."""
    return mask_digits(mask_secrets(text, pins))


class Notices:
    """Drift and failure messages waiting for the webhook, oldest first."""

    def __init__(self, limit: int = NOTICE_LIMIT) -> None:
        self.limit = limit
        self.dropped = 0
        self._pending: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, text: str) -> None:
        """Queue one notice; past the limit the oldest one goes (and is counted)."""
        self._pending.append(text)
        while len(self._pending) > self.limit:
            self._pending.popleft()
            self.dropped += 1

    def clear(self) -> None:
        """Forget every notice (no webhook is set: nobody to tell)."""
        self._pending.clear()
        self.dropped = 0

    def message(self) -> dict[str, Any]:
        """The JSON body: a Slack-compatible `text` and the list of `events`."""
        events = list(self._pending)
        text = "accesscodes: " + "; ".join(events)
        if self.dropped:
            text += f" ({self.dropped} older notices were dropped)"
        return {"text": text, "events": events}

    async def send(self, url: str) -> tuple[str, dict[str, Any]]:
        """POST the waiting notices; clear them only on a 2xx. Returns the event to log."""
        count = len(self._pending)
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as client:
                response = await client.post(url, json=self.message())
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return "webhook_failed", {"error": type(exc).__name__, "kept": count}
        if 200 <= response.status_code < 300:
            self.clear()
            return "webhook", {"status": response.status_code, "sent": count}
        return "webhook", {"status": response.status_code, "kept": count}
