"""One exception tree for the whole tool, split by whether trying again can help.

    AccessCodesError                 anything the CLI turns into a one-line message
    ├── UsageError                   the command line itself is wrong
    ├── ConfigError                  the config is invalid; carries every `Problem` found
    ├── PlanRefused                  a plan exists but must not be applied (guards, review)
    └── ProviderError                a provider (simulator, Seam) refused or failed a call
        ├── TemporaryProviderError   429, 5xx, connection trouble: a retry may succeed
        └── PermanentProviderError   the request itself is wrong: retrying cannot help
            ├── NotFoundError        the device or code does not exist (any more)
            └── InvalidInputError    the lock or API rejects the values sent

Lower-level errors (httpx, OSError, json) are wrapped with `raise ... from exc`, so callers
never have to know which library a provider uses.
"""

from __future__ import annotations

from dataclasses import dataclass


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


class ProviderError(AccessCodesError):
    """A provider call failed; `code` is the provider's error type when it gave one."""

    retryable = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class TemporaryProviderError(ProviderError):
    """A failure that may pass: rate limits, outages, timeouts; `delay` is a hint in seconds."""

    retryable = True

    def __init__(self, message: str, *, code: str | None = None, delay: float | None = None):
        self.delay = delay
        super().__init__(message, code=code)


class PermanentProviderError(ProviderError):
    """A request that will fail the same way every time it is sent."""


class NotFoundError(PermanentProviderError):
    """The device or access code named in a request does not exist."""


class InvalidInputError(PermanentProviderError):
    """The values sent break a rule of the lock or the API (length, time zone, duplicate PIN)."""
