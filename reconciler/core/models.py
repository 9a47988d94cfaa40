"""The values everything else passes around: desired codes, live codes, devices, capabilities.

Desired codes come from the config; live codes and devices come from a provider. Both sides are
frozen dataclasses so a plan can hold them without copying and tests can compare them. A code's
identity is (device key, code name), plus the occurrence start for a recurring code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType

DeviceKey = NewType("DeviceKey", str)
"""The name a config gives a lock (`front-door`); what plans and users talk about."""

DeviceId = NewType("DeviceId", str)
"""The provider's id of a lock (`august_device_1`)."""

AccessCodeId = NewType("AccessCodeId", str)
"""The provider's id of one code on one lock."""


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a value was written in the config, so every report can point at the line."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class CodeType(StrEnum):
    """Seam's two kinds of code: active until removed, or only inside a window."""

    ONGOING = "ongoing"
    TIME_BOUND = "time_bound"


class CodeStatus(StrEnum):
    """Where a code is in the lock's programming lifecycle (Seam's `status`)."""

    UNSET = "unset"
    SETTING = "setting"
    SET = "set"
    REMOVING = "removing"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring window: a cron expression for each start and how long each one lasts.

    `days`: how much of `duration` is whole calendar days (RFC 5545 nominal time, `1d`/`1w`);
    the rest is elapsed time. None: `duration.days`, so only `24h` or more needs it set."""

    cron: str
    duration: timedelta
    timezone: str | None = None
    days: int | None = None


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a code is for when the config names a person or a stay rather than a code per
    lock: the codes of one holder carry one PIN on all their doors, kept in the state store
    under `key` (`person:Alice`, `stay:beach-house/Bob Smith`), so it never rotates by itself.
    `pin_per_door`: the holder opted out (each door its own PIN, or one the lock picks)."""

    key: str
    label: str
    kind: str
    pin_per_door: bool = False
    given_pin: bool = False
    source: SourceRef | None = field(default=None, compare=False)
    suggested_pin: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DesiredCode:
    """One code as the config wants it on one device.

    Times without an offset are kept naive: they are read in `timezone` (a place's) or else the
    device's zone, which only the planner knows once the provider has reported the device.
    A person's or stay's code has a `holder`; its PIN is filled in before planning
    (`planning.pins`): `new_pin` when it was generated for this run (stored at apply),
    `pin_problem` when no PIN fits all of the holder's doors (the code is then blocked).
    `config_path` is where the code was written (`people[0]`), for messages. `windows`: a
    code open in several given windows (a cleaner between stays), each one an occurrence like
    a schedule's.
    """

    device: DeviceKey
    name: str
    code: str | None = field(default=None, repr=False)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    schedule: Schedule | None = None
    offline: bool = False
    one_time_use: bool = False
    prefer_native_scheduling: bool | None = None
    protected: bool = False
    revoke: bool = False
    source: SourceRef | None = field(default=None, compare=False)
    holder: Holder | None = None
    timezone: str | None = None
    config_path: str | None = field(default=None, compare=False)
    pin_problem: str | None = None
    new_pin: bool = False
    windows: tuple[tuple[datetime, datetime], ...] = ()

    def may_overlap(self, other: DesiredCode) -> bool:
        """Whether the two codes' windows can be open at once. Only two windows written alike
        (in one zone, both with or both without an offset) are compared; a schedule or an
        open end counts as overlapping."""
        ours, theirs = (self.starts_at, self.ends_at), (other.starts_at, other.ends_at)
        if self.schedule or other.schedule or self.windows or other.windows:
            return True
        if self.timezone != other.timezone:
            return True
        if ours[0] is None or ours[1] is None or theirs[0] is None or theirs[1] is None:
            return True
        if len({moment.tzinfo is None for moment in (*ours, *theirs)}) > 1:
            return True
        return ours[0] < theirs[1] and theirs[0] < ours[1]


@dataclass(frozen=True, slots=True)
class DesiredDevice:
    """A lock named in the config, with the codes it should hold (a tuple, or the compact
    `core.written.WrittenCodes` a loaded config keeps: both are sequences of the codes)."""

    key: DeviceKey
    device_id: DeviceId
    codes: Sequence[DesiredCode] = ()
    timezone: str | None = None
    source: SourceRef | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ProviderIssue:
    """An error or warning a provider attached to a code or device (`error_code`, `message`)."""

    code: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class CodeConstraint:
    """One of Seam's `code_constraints`: a rule a PIN (or a name) must satisfy on a device."""

    kind: str
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a lock accepts, so the planner can refuse a write the lock would reject."""

    manufacturer: str = "generic"
    supported_code_lengths: tuple[int, ...] = (4, 5, 6, 7, 8)
    code_constraints: tuple[CodeConstraint, ...] = ()
    max_active_codes: int | None = None
    native_scheduling: bool = False
    online_codes: bool = True
    offline_codes: bool = False
    one_time_codes: bool = False
    timezone: str | None = None
    time_bound_needs_timezone: bool = False
    rename_in_place: bool = True
    offline_hourly_max_hours: int | None = None
    offline_daily_days: tuple[int, int] | None = None
    offline_max_days: int | None = None
    backup_pool: bool = False

    def has_constraint(self, kind: str) -> bool:
        """Whether the device lists a constraint of this kind."""
        return any(c.kind == kind for c in self.code_constraints)


@dataclass(frozen=True, slots=True)
class Device:
    """A lock as its provider reports it."""

    device_id: DeviceId
    name: str
    capabilities: Capabilities
    online: bool = True
    warnings: tuple[ProviderIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveCode:
    """A code as it is on a lock now, as the provider reports it.

    `code` is None when the provider does not reveal the PIN: that is never drift.
    """

    access_code_id: AccessCodeId
    device_id: DeviceId
    name: str
    code: str | None = field(repr=False)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: CodeStatus = CodeStatus.SET
    is_managed: bool = True
    is_offline: bool = False
    is_one_time_use: bool = False
    is_backup: bool = False
    errors: tuple[ProviderIssue, ...] = ()
    warnings: tuple[ProviderIssue, ...] = ()

    @property
    def type(self) -> CodeType:
        """Ongoing unless the code has an end."""
        return CodeType.TIME_BOUND if self.ends_at is not None else CodeType.ONGOING


@dataclass(frozen=True, slots=True)
class LiveDevice:
    """One lock and every code on it: managed ones (candidates) and unmanaged ones (never).

    `read_error` says why the lock's codes could not be read this time: its changes are then
    blocked with that reason (never planned from an empty listing) while other locks proceed.
    """

    device: Device
    codes: tuple[LiveCode, ...] = ()
    unmanaged: tuple[LiveCode, ...] = ()
    read_error: str | None = None


@dataclass(frozen=True, slots=True)
class WrittenCode:
    """What the journal remembers of a code we wrote: enough to notice it changed or vanished,
    never its PIN (`fingerprint` is a keyed digest of PIN and window). `pin_fingerprint` (the
    PIN alone) and the window in the clear let drift name the field that changed; None on a
    record an older version wrote."""

    access_code_id: AccessCodeId
    device_id: DeviceId
    name: str
    fingerprint: str
    written_at: datetime
    ends_at: datetime | None = None
    pin_fingerprint: str | None = None
    starts_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """The values a create or update writes: what the planner asks the provider to do.

    `code` None on a create asks for a PIN to be generated for the device. `time_rounding`
    (offline codes: `1d` daily-bound, `1h` hourly-bound) is chosen by the planner in the
    lock's own zone, where "the same time of day" is meant (not in UTC, which a DST change
    in the window would shift).
    """

    name: str
    code: str | None = field(repr=False)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    offline: bool = False
    one_time_use: bool = False
    prefer_native_scheduling: bool | None = None
    time_rounding: str | None = None
    use_backup_pool: bool = False
    new_pin: bool = False

    @property
    def type(self) -> CodeType:
        """Ongoing unless the code has an end."""
        return CodeType.TIME_BOUND if self.ends_at is not None else CodeType.ONGOING
