"""Plans as plain data: ordered changes, drift, a summary and a checksum.

A `Change` holds the real PIN (the applier needs it), but only in fields kept out of `repr`;
`Plan.to_data()` is the one door to the outside and masks every PIN unless asked, so no
renderer, log line or plan file can leak one by accident.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from reconciler.core import models
from reconciler.core.models import AccessCodeId, CodeSpec, DeviceId, DeviceKey, LiveCode, SourceRef
from reconciler.core.plandigest import CHUNK, Digest

FORMAT_VERSION = 1
MASK = "****"


class Action(StrEnum):
    """What a change does to one code."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "noop"
    BLOCKED = "blocked"


WRITES = (Action.CREATE, Action.UPDATE, Action.DELETE)


class DriftKind(StrEnum):
    """How the locks differ from what was last set, independently of what the plan will do."""

    MISSING = "missing"
    MODIFIED_EXTERNALLY = "modified_externally"
    DISABLED_IN_VENDOR_APP = "disabled_in_vendor_app"
    FAILED_TO_SET = "failed_to_set"
    STUCK_SETTING = "stuck_setting"
    UNMANAGED_CODE = "unmanaged_code"
    EXTRANEOUS = "extraneous"


@dataclass(frozen=True, slots=True)
class CodeState:
    """A code's values as a plan shows them (before: live; after: desired)."""

    code: str | None = field(repr=False)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    offline: bool = False
    one_time_use: bool = False
    status: str | None = None
    new_pin: bool = False

    @classmethod
    def of_spec(cls, spec: CodeSpec) -> CodeState:
        """The state a create or update asks for."""
        s = spec
        return _state(s.code, s.starts_at, s.ends_at, s.offline, s.one_time_use, None, s.new_pin)

    @classmethod
    def of_live(cls, live: LiveCode) -> CodeState:
        """The state a lock reports."""
        status = _STATUS_TEXT.get(live.status) or str(live.status)
        return _state(
            live.code, live.starts_at, live.ends_at, live.is_offline, live.is_one_time_use, status
        )

    def to_data(self, *, show_codes: bool) -> dict[str, Any]:
        """JSON-safe values, the PIN masked unless `show_codes`. A PIN generated for this run
        (`new_pin`) is never shown: another is drawn at apply, where it is stored and shown."""
        shown = show_codes and self.code is not None and not self.new_pin
        data: dict[str, Any] = {
            "code": (self.code if shown else MASK),
            "type": "time_bound" if self.ends_at is not None else "ongoing",
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
        }
        if self.offline:
            data["offline"] = True
        if self.one_time_use:
            data["one_time_use"] = True
        if self.status is not None:
            data["status"] = self.status
        if self.new_pin:
            data["new_pin"] = True
        return data


_STATUS_TEXT = {str(status): str(status) for status in models.CodeStatus}


def _state(*values: Any) -> CodeState:
    """One frozen value per distinct state: a person's code on forty doors, or a fleet in sync,
    share theirs (100,000 codes in sync were 200,000 states, 17 MB); only with times absent
    or in UTC (two equal instants in two zones stay apart)."""
    starts, ends = values[1], values[2]
    utc = (starts is None or starts.tzinfo is UTC) and (ends is None or ends.tzinfo is UTC)
    return _shared_state(*values) if utc else CodeState(*values)


@lru_cache(maxsize=1 << 13)  # full of a fleet's own PINs, 65,536 states were 20 MB
def _shared_state(*values: Any) -> CodeState:
    return CodeState(*values)


@dataclass(frozen=True, slots=True)
class Change:
    """One step of a plan for one code, with why it is there and when it falls due.

    - `renamed_from`: an update that gives a live code (same PIN) its new name in place, so
      renaming a person never deletes their code first.
    - `replaced_by`: a delete that must wait until the named create is confirmed set on the
      lock (a replacement where the lock cannot rename); skipped when that create fails.
    - `due_since`: when a write fell due by the schedule (a lead time passed, a window ended):
      such a write is time passing, not drift. None for a write due for any other reason.
    - `holder`: the person or stay the code is for (`Bob Smith`), when the config says so; text
      and markdown plans group by it.
    """

    action: Action
    device: DeviceKey
    device_id: DeviceId
    name: str
    reasons: tuple[str, ...] = ()
    access_code_id: AccessCodeId | None = None
    due_at: datetime | None = None
    before: CodeState | None = None
    after: CodeState | None = None
    changed: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    guard: str | None = None
    occurrence: datetime | None = None
    timezone: str | None = None
    source: SourceRef | None = None
    spec: CodeSpec | None = field(default=None, repr=False)
    renamed_from: str | None = None
    replaced_by: str | None = None
    due_since: datetime | None = None
    holder: str | None = None

    def is_due(self, now: datetime) -> bool:
        """Whether `apply` at `now` should carry this change out."""
        return self.action in WRITES and (self.due_at is None or self.due_at <= now)

    @property
    def deferred(self) -> bool:
        """A write the schedule holds back until `due_at`."""
        return self.action in WRITES and self.due_at is not None

    def to_data(self, *, show_codes: bool) -> dict[str, Any]:
        """The change as contract.md describes it (plus `changed`, `timezone`, `source`)."""
        data = {
            "action": str(self.action),
            "device": self.device,
            "device_id": self.device_id,
            "name": self.name,
            "access_code_id": self.access_code_id,
            "due_at": iso(self.due_at),
            "reasons": list(self.reasons),
            "before": self.before.to_data(show_codes=show_codes) if self.before else None,
            "after": self.after.to_data(show_codes=show_codes) if self.after else None,
            "warnings": list(self.warnings),
            "changed": list(self.changed),
            "timezone": self.timezone,
            "source": str(self.source) if self.source else None,
        }
        if self.occurrence is not None:
            data["occurrence"] = iso(self.occurrence)
        if self.guard is not None:
            data["guard"] = self.guard
        if self.renamed_from is not None:
            data["renamed_from"] = self.renamed_from
        if self.replaced_by is not None:
            data["replaced_by"] = self.replaced_by
        if self.due_since is not None:
            data["due_since"] = iso(self.due_since)
        if self.holder is not None:
            data["holder"] = self.holder
        return data


@dataclass(frozen=True, slots=True)
class Drift:
    """A difference between the locks and what we set, reported whether or not it is fixed."""

    device: DeviceKey
    name: str
    kind: DriftKind
    detail: str
    access_code_id: AccessCodeId | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON-safe values (never a PIN)."""
        return {
            "device": self.device,
            "name": self.name,
            "kind": str(self.kind),
            "detail": self.detail,
            "access_code_id": self.access_code_id,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """Ordered changes and drift for a set of devices at one moment."""

    now: datetime
    changes: tuple[Change, ...] = ()
    drift: tuple[Drift, ...] = ()
    pin_key: bytes | None = field(default=None, repr=False, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def due(self) -> list[Change]:
        """The writes `apply` carries out now, in order."""
        return [c for c in self.changes if c.is_due(self.now)]

    @property
    def next_due(self) -> datetime | None:
        """When the earliest deferred change falls due: the controller wakes up then."""
        times = [c.due_at for c in self.changes if c.deferred and c.due_at is not None]
        return min(times, default=None)

    @property
    def summary(self) -> dict[str, int]:
        """Counts per action; deferred writes count under `deferred`, not their action."""
        counts = Counter(map(tally, self.changes))
        return {key: counts.get(key, 0) for key in SUMMARY_KEYS}

    def refusals(self, *, max_deletes: int, max_deletes_per_device: int | None = None) -> list[str]:
        """Why `apply` must not run this plan without `--force` (empty: it may)."""
        deletes = [c for c in self.due() if c.action is Action.DELETE]
        reasons = []
        if len(deletes) > max_deletes:
            reasons.append(
                f"the plan deletes {len(deletes)} codes, more than settings.max_deletes "
                f"({max_deletes})"
            )
        if max_deletes_per_device is not None:
            per_device = Counter(c.device for c in deletes)
            for device, count in sorted(per_device.items()):
                if count > max_deletes_per_device:
                    reasons.append(
                        f"the plan deletes {count} codes on {device}, more than "
                        f"settings.max_deletes_per_device ({max_deletes_per_device})"
                    )
        for change in self.due():
            if change.guard:
                reasons.append(f"{change.device} / {change.name}: {change.guard}")
        return reasons

    @property
    def has_changes(self) -> bool:
        """Whether there is something to do now or something refused (exit 2 of
        `--detailed-exitcode`)."""
        return any(is_a_change(c, self.now) for c in self.changes)

    def to_data(self, *, show_codes: bool = False) -> dict[str, Any]:
        """The plan JSON of contract.md, PINs masked unless `show_codes`."""
        changes = [c.to_data(show_codes=show_codes) for c in self.changes]
        drift = [d.to_data() for d in self.drift]
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "now": iso(self.now),
            "changes": changes,
            "drift": drift,
            "summary": self.summary,
        }
        if self.warnings:  # e.g. a reservation feed not believed this time; not checksummed
            data["warnings"] = list(self.warnings)
        digest = Digest(self.pin_key)
        digest.changes(self.changes, None if show_codes else changes)
        digest.drift(drift)
        data["checksum"] = digest.text()
        return data

    @property
    def checksum(self) -> str:
        """A digest of what the plan would do, so a reviewer's plan can be matched with the one
        about to be applied. PINs count only through an HMAC with `pin_key` (a secret the
        plan and apply jobs share), so the checksum can be published without revealing one."""
        digest = Digest(self.pin_key)
        for start in range(0, len(self.changes), CHUNK):
            digest.changes(self.changes[start : start + CHUNK], None)
        for start in range(0, len(self.drift), CHUNK):
            digest.drift([d.to_data() for d in self.drift[start : start + CHUNK]])
        return digest.text()


SUMMARY_KEYS = ("create", "update", "delete", "noop", "deferred", "blocked")


def tally(change: Change) -> str:
    """What a change counts as in a plan's summary: a deferred write as `deferred`."""
    return "deferred" if change.deferred else str(change.action)


def is_a_change(change: Change, now: datetime) -> bool:
    """Whether `change` is due at `now` or refused: what `--detailed-exitcode` reports."""
    return change.is_due(now) or change.action is Action.BLOCKED


def from_iso(text: str | None) -> datetime | None:
    """The inverse of `iso`, for times the state store and caches kept (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, as the plan JSON writes every time."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
