"""The config file's shape, as pydantic models; the committed JSON Schema is generated from them.

`schemas/accesscodes.schema.json` is `config_json_schema()` written out (`accesscodes schema`);
a test fails when the two drift apart. Rules the schema cannot say (unique names, windows in
order, valid cron and zones) live in `config.py`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from reconciler.config.trust import VARIABLE_NAME
from reconciler.core.models import Schedule
from reconciler.core.settings import DURATION_PATTERN, calendar_days, parse_duration

PIN_PATTERN = r"^[0-9]+$"
SimProfileName = Literal[
    "generic",
    "august",
    "ultraloq",
    "igloohome",
    "lockly",
    "dormakaba_oracode",
    "kwikset",
    "nuki",
    "schlage",
    "ttlock",
]


def _written_time(value: Any) -> Any:
    """A time must be written as one (`2026-12-01T15:00:00`), not as a number of seconds."""
    if isinstance(value, int | float):
        raise ValueError("must be a date and time such as 2026-12-01T15:00:00")
    return value


# Strict, like the JSON Schema: a config the models accept is one the schema accepts, so the
# schema (slow on large fleets, but with the better messages) only runs on a config they refuse.
# Times alone are parsed from their text.
LocalTime = Annotated[datetime, Field(strict=False), BeforeValidator(_written_time)]


def _written_day_or_time(value: Any) -> Any:
    """A stay's check-in or check-out: a date (`2026-12-01`, the place's time that day) or a
    date and time (`2026-12-01T15:00:00`, kept as written)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date (2026-12-01) or a date and time (2026-12-01T15:00:00)")
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "must be a date (2026-12-01) or a date and time (2026-12-01T15:00:00)"
        ) from None


LocalDayOrTime = Annotated[date | datetime, BeforeValidator(_written_day_or_time)]
HOUR_MINUTE = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ScheduleConfig(_Strict):
    """A recurring window: each cron match opens the code for `duration`."""

    cron: str = Field(description="Five-field cron expression for each start, in local time.")
    duration: str = Field(pattern=DURATION_PATTERN, description="How long each window lasts.")
    timezone: str | None = Field(None, description="IANA zone of the cron; else the device's.")

    def compiled(self) -> Schedule:
        """The schedule the planner expands, its duration split as RFC 5545 says."""
        return Schedule(
            cron=self.cron,
            duration=parse_duration(self.duration),
            timezone=self.timezone,
            days=calendar_days(self.duration),
        )


class CodeConfig(_Strict):
    """One access code on one device; `name` is its identity on that device."""

    name: str = Field(min_length=1, description="Unique per device: the code's identity.")
    code: str | None = Field(
        None,
        pattern=PIN_PATTERN,
        repr=False,
        description="The PIN, digits only; generated for the device if omitted. ${VAR} may "
        "read any variable but accesscodes' own secrets.",
    )
    starts_at: LocalTime | None = Field(None, description="Window start; no offset = device zone.")
    ends_at: LocalTime | None = Field(None, description="Window end; needs starts_at.")
    schedule: ScheduleConfig | None = None
    offline: bool = Field(False, description="An offline (algorithmic) code: cannot be revoked.")
    one_time_use: bool = Field(False, description="An offline code valid 24 h from starts_at.")
    prefer_native_scheduling: bool | None = Field(
        None, description="false: program just in time instead of the lock's own schedule."
    )
    protected: bool = Field(False, description="Never deleted by a plan.")
    revoke: bool = Field(
        False, description="Take this code off the lock now, even inside its window."
    )


class TurnoverConfig(_Strict):
    """Who turns a place over between stays: access from each check-out to the next check-in
    (at most `max` after the last one), with one PIN like a person."""

    name: str = Field(min_length=1, description="The code's name on each door of the place.")
    code: str | None = Field(None, pattern=PIN_PATTERN, repr=False)
    max: str = Field(
        "1d", pattern=DURATION_PATTERN, description="The longest window, after the last stay."
    )


class PlaceConfig(_Strict):
    """A property or site: a named group of doors, and the local times of its stays."""

    doors: list[str] = Field(min_length=1, description="Device keys; a door may be in several.")
    timezone: str | None = Field(None, description="IANA zone for this place's stays' times.")
    check_in: str = Field("16:00", pattern=HOUR_MINUTE, description="A stay's default start.")
    check_out: str = Field("11:00", pattern=HOUR_MINUTE, description="A stay's default end.")
    early_check_in: str = Field(
        "0s", pattern=DURATION_PATTERN, description="Each stay's codes start this much earlier."
    )
    late_check_out: str = Field(
        "0s", pattern=DURATION_PATTERN, description="Each stay's codes end this much later."
    )
    turnover: TurnoverConfig | None = Field(
        None, description="A person (the cleaner) who gets access from each check-out on."
    )


class PersonConfig(_Strict):
    """One person with one PIN on every door they may open (their places' and their own)."""

    name: str = Field(min_length=1, description="The code's name on each door.")
    code: str | None = Field(
        None,
        pattern=PIN_PATTERN,
        repr=False,
        description="The PIN on all their doors; else one is generated once, valid on every "
        "one of them, and kept in the state store.",
    )
    places: list[str] = Field(default_factory=list, description="Every door of these places.")
    doors: list[str] = Field(default_factory=list, description="And these single doors.")
    pin_per_door: bool = Field(
        False, description="Let each door have its own PIN (a lock that picks its own)."
    )
    starts_at: LocalTime | None = None
    ends_at: LocalTime | None = None
    schedule: ScheduleConfig | None = None
    prefer_native_scheduling: bool | None = None
    protected: bool = False
    revoke: bool = False


class StayConfig(_Strict):
    """A guest's stay at a place, from check-in to check-out, with one PIN on its doors."""

    guest: str = Field(min_length=1, description="The code's name on each door.")
    place: str = Field(min_length=1)
    check_in: LocalDayOrTime = Field(description="A date takes the place's check_in time.")
    check_out: LocalDayOrTime = Field(description="A date takes the place's check_out time.")
    id: str | None = Field(
        None,
        min_length=1,
        description="The stay's identity (e.g. a reservation code): keeps its PIN when the "
        "guest's name or dates change; default: the guest's name at the place.",
    )
    code: str | None = Field(None, pattern=PIN_PATTERN, repr=False)
    pin_per_door: bool = False
    prefer_native_scheduling: bool | None = None
    protected: bool = False
    revoke: bool = False


class SourceConfig(_Strict):
    """A reservation calendar (iCal) whose bookings become stays at one place; it is read,
    never written, and a feed that fails never takes a guest's code away."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="The source's name.")
    ical: str = Field(
        min_length=1,
        repr=False,
        description="An https:// URL (its token via ${VAR}: masked in every output) or a "
        "file, relative to the config.",
    )
    place: str = Field(min_length=1)
    code: Literal["generated", "phone_last4"] = Field(
        "generated",
        description="generated: one PIN per reservation, kept; phone_last4: the guest's "
        "phone digits (Airbnb), else generated.",
    )
    closed_are_stays: bool = Field(
        False, description="Booking.com: its CLOSED - Not available events are bookings."
    )
    confirm_drop_after: str = Field(
        "30m",
        pattern=DURATION_PATTERN,
        description="A calendar that loses most of its stays is believed only after giving "
        "the same answer this long (or `accesscodes sources accept`).",
    )
    timeout: str = Field("20s", pattern=DURATION_PATTERN)
    max_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="Larger answers are refused.")


class DeviceConfig(_Strict):
    """A lock: the provider's id and the codes it should hold."""

    device_id: str = Field(min_length=1)
    timezone: str | None = Field(None, description="IANA zone for times without an offset.")
    codes: list[CodeConfig] = Field(default_factory=list)


class SimDeviceConfig(_Strict):
    """How the simulator should build a lock the first time it sees its device_id."""

    profile: SimProfileName = "generic"
    timezone: str | None = None
    name: str | None = None
    programming_delay: str = Field(
        "0s",
        pattern=DURATION_PATTERN,
        description="How long a new code stays `setting` before it is `set`.",
    )
    fails_to_set: bool = Field(False, description="New codes fail: failed_to_set_on_device.")


class ProviderConfig(_Strict):
    """Where live codes are read and written: the embedded simulator or the Seam API."""

    kind: Literal["sim", "seam"] = "sim"
    endpoint: str | None = Field(
        None,
        description="seam: API URL; else SEAM_ENDPOINT. Only a loopback or Seam host "
        "(*.getseam.com), unless ACCESSCODES_ALLOW_ENDPOINT names it: the API key is sent there.",
    )
    retries: int = Field(
        4, ge=0, le=10, description="seam: retries of a call that may pass (429, 5xx, network)."
    )
    timeout: str = Field("30s", pattern=DURATION_PATTERN, description="seam: per-request timeout.")
    pace_writes: Literal["always", "after_429"] = Field(
        "always",
        description="seam: hold each lock's writes to Seam's per-lock limits (10 creates, 10 "
        "updates, 20 deletes a minute) from the first write, or only once Seam has refused one "
        "(after_429: for servers without these limits, such as Seam's fake).",
    )
    state_file: str | None = Field(
        None, description="sim: fleet file, relative to the config; default .accesscodes/sim.json"
    )
    fleet: dict[str, SimDeviceConfig] = Field(
        default_factory=dict,
        description="sim: manufacturer profile per device_id (default: from the id's prefix).",
    )


class SettingsConfig(_Strict):
    """Run-wide settings; see `reconciler.settings.Settings` for each default's reason."""

    timezone: str = "UTC"
    horizon: str = Field("14d", pattern=DURATION_PATTERN)
    prune: bool = False
    max_deletes: int = Field(10, ge=0)
    max_deletes_per_device: int | None = Field(None, ge=0)
    concurrency: int = Field(32, ge=1, le=256)
    native_lead: str = Field("72h", pattern=DURATION_PATTERN)
    jit_lead: str = Field("30m", pattern=DURATION_PATTERN)
    send_codes: Literal["at_lead_time", "at_once"] = Field(
        "at_lead_time",
        description="Send time-bound codes at their lead time, or at once for the provider "
        "to schedule.",
    )
    policies: list[str] = Field(default_factory=list)
    self_heal: Literal["restore", "full", "report"] = Field(
        "restore", description="The controller's answer to drift."
    )
    webhook_url: str | None = Field(
        None,
        repr=False,
        description="Controller: POST drift and failures here (Slack-compatible JSON). "
        "${VAR} may read any variable but accesscodes' own secrets.",
    )
    plan_ttl: str = Field("24h", pattern=DURATION_PATTERN, description="Max age of a saved plan.")
    state_db: str = Field(
        ".accesscodes/state.db", description="The journal (SQLite), relative to the config."
    )
    backup_codes: bool = Field(
        False,
        description="On locks with a backup pool: create codes with it on, and pull a backup "
        "code when a stay's code fails to set before check-in.",
    )


class ConfigFile(_Strict):
    """A whole accesscodes config (one file, or several merged)."""

    version: Literal[1]
    variables: list[Annotated[str, Field(pattern=VARIABLE_NAME)]] = Field(
        default_factory=list,
        description="Environment variables that fields other than a code's code and "
        "settings.webhook_url may read as ${VAR} (names, device ids...). In a directory, "
        "declared in one file for all. Never accesscodes' own secrets (SEAM_API_KEY, "
        "SEAM_WEBHOOK_SECRET, GITHUB_TOKEN, ACTIONS_*_TOKEN, ACCESSCODES_*).",
    )
    provider: ProviderConfig = Field(default_factory=ProviderConfig)
    settings: SettingsConfig = Field(default_factory=SettingsConfig)
    devices: dict[str, DeviceConfig] = Field(default_factory=dict)
    places: dict[str, PlaceConfig] = Field(default_factory=dict)
    people: list[PersonConfig] = Field(default_factory=list)
    stays: list[StayConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema users' editors and `validate` check configs against."""
    schema = ConfigFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://accesscodes.dev/schemas/accesscodes.schema.json",
        **schema,
    }
