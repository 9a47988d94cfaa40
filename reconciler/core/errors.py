"""One exception tree for the whole tool, split by whether trying again can help.

    AccessCodesError                 anything the CLI turns into a one-line message
    ├── UsageError                   the command line itself is wrong
    ├── ConfigError                  the config is invalid; carries every `Problem` found
    ├── PlanRefused                  a plan exists but must not be applied (guards, review)
    ├── StateUnavailable             the shared state store (PostgreSQL) cannot be reached or
    │                                failed a call: nothing that depends on it is done
    └── ProviderError                a provider (simulator, Seam) refused or failed a call
        ├── LeaseLost                this controller replica no longer holds the device's
        │                            lease: the write was not sent (another replica owns it)
        ├── WriteOutcomeUnknown      a write may or may not have landed (its answer was lost
        │                            and the check failed too): never sent again blind
        ├── TemporaryProviderError   429, 5xx, connection trouble: a retry may succeed
        │   └── ActionPending        the write was accepted and is still in progress
        └── PermanentProviderError   the request itself is wrong: retrying cannot help
            ├── NotFoundError        the device or code does not exist (any more)
            └── InvalidInputError    the lock or API rejects the values sent

Lower-level errors (httpx, OSError, json) are wrapped with `raise ... from exc`, so callers
never have to know which library a provider uses. A message may quote what was sent:
`mask_secrets` blanks the PINs a caller knows of, `mask_digits` any run that could be one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MASK = "****"
_DIGITS = re.compile(r"(?<![\w-])\d{4,}(?![\w-])")


class AccessCodesError(Exception):
    """Base of every error the tool reports to a user as a message rather than a traceback."""


class UsageError(AccessCodesError):
    """The command line asks for something that cannot be done (bad flag value, no terminal)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the config, located so that an editor can jump to it."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(AccessCodesError):
    """The config cannot be used; `problems` lists every problem, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PlanRefused(AccessCodesError):
    """A plan that must not be applied as it stands (a safety guard or a stale review)."""


class StateUnavailable(AccessCodesError):
    """The state database cannot be reached, or a call to it failed: a run that needs it
    stops there, and a controller replica counts its leases as lost."""


class ProviderError(AccessCodesError):
    """A provider call failed; `code` is the provider's error type when it gave one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class TemporaryProviderError(ProviderError):
    """A failure that may pass: rate limits, outages, timeouts; `delay` is a hint in seconds."""

    def __init__(self, message: str, *, code: str | None = None, delay: float | None = None):
        self.delay = delay
        super().__init__(message, code=code)


class PermanentProviderError(ProviderError):
    """A request that will fail the same way every time it is sent."""


class NotFoundError(PermanentProviderError):
    """The device or access code named in a request does not exist."""


class InvalidInputError(PermanentProviderError):
    """The values sent break a rule of the lock or the API (length, time zone, duplicate PIN)."""


class ActionPending(TemporaryProviderError):
    """The provider accepted an update or delete and is still carrying it out: not a failure,
    and not to be sent again (the next plan sees where it ended)."""

    def __init__(self, message: str, *, code: str | None = "action_pending") -> None:
        super().__init__(message, code=code)


class LeaseLost(ProviderError):
    """A write to a device this controller replica no longer holds (its lease expired, was
    taken over, or could not be checked): never sent, since another replica may own it now."""

    def __init__(self, message: str, *, code: str | None = "lease_lost") -> None:
        super().__init__(message, code=code)


class WriteOutcomeUnknown(ProviderError):
    """A write whose answer was lost and whose check (a re-read) failed too: it may or may not
    have happened. Sending it again blind could make a second code, so the next plan decides."""

    def __init__(self, message: str, *, code: str | None = "outcome_unknown") -> None:
        super().__init__(message, code=code)


def mask_digits(text: str) -> str:
    """Hide any run of four or more digits standing alone: it may be a PIN."""
    return _DIGITS.sub(MASK, text)


def mask_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every exact occurrence of each known secret (a PIN) replaced by `****`,
    wherever it stands (inside a longer token too, which `mask_digits` leaves alone)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def masked_error(exc: ProviderError, secrets: Iterable[str | None]) -> ProviderError:
    """The same error (same class, code and traceback) with the secrets masked in its message
    and in the provider errors it was raised from, so re-raising it cannot leak a PIN."""
    known = [s for s in secrets if s]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ProviderError) and current.args:
            current.args = (mask_secrets(str(current), known), *current.args[1:])
        current = current.__cause__ or current.__context__
    return exc


def mask_url(url: str) -> str:
    """A feed URL as outputs may show it: scheme and host only. Calendar exports carry their
    token in the query (Airbnb's `?s=...`) or in the path (VRBO's `/icalendar/<token>.ics`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # a file path: no secret
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/{MASK}"
