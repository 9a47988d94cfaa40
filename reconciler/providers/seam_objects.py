"""Seam's JSON objects as our models, and our specs as Seam's requests.

Kept apart from the provider's calls so the mapping of each field (capabilities from the device
object, a code's status and issues, the create body) can be read and tested on its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reconciler.core.models import (
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
from reconciler.core.plan import iso
from reconciler.core.sharedtexts import SharedTexts

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
# Seam's answers to a pull that finds no backup code to give: the pool's own error code, and
# the fake's 404 when the backup code once pulled for this code is gone.
EMPTY_POOL_ERRORS = frozenset(
    {
        "empty_backup_access_code_pool",
        "no_backup_access_code_available",
        "backup_access_code_not_found",
    }
)


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
    if spec.use_backup_pool:
        body["use_backup_access_code_pool"] = True
    return body


def same_code(code: LiveCode, spec: CodeSpec) -> bool:
    """Whether a listed code is the one a create of `spec` made: a managed code of the same
    name and start, and the same PIN when both are known."""
    return (
        code.is_managed
        and code.name == spec.name
        and code.starts_at == spec.starts_at
        and (spec.code is None or code.code is None or code.code == spec.code)
    )


def _manufacturer(raw: dict[str, Any]) -> str:
    props = raw.get("properties") or {}
    maker = props.get("manufacturer") or str(raw.get("device_type", "")).split("_")[0]
    if maker == "dormakaba" or "oracode" in str(raw.get("device_type", "")):
        return "dormakaba_oracode"
    return str(maker or "generic").lower()


_KINDS: dict[Capabilities, Capabilities] = {}  # each kind of lock seen, kept once
_MOST_KINDS = 4096


def _shared(caps: Capabilities) -> Capabilities:
    """One `Capabilities` for every lock of a kind (a model in a zone): a fleet is a few
    kinds of lock, and each lock's own copy cost 230 bytes while it waited to be planned."""
    if len(_KINDS) >= _MOST_KINDS:
        return _KINDS.get(caps, caps)
    return _KINDS.setdefault(caps, caps)


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
        backup_pool=bool(props.get("supports_backup_access_code_pool")),
    )
    return Device(
        device_id=DeviceId(raw["device_id"]),
        name=str(props.get("name") or raw.get("display_name") or raw["device_id"]),
        capabilities=_shared(caps),
        online=bool(props.get("online", True)),
        warnings=_issues(raw.get("warnings"), "warning_code"),
    )


_STATUSES = {str(status): status for status in CodeStatus}
_TEXTS = SharedTexts(16_384)  # at most 2 MB: the names and PINs many locks share come first


def code_from_seam(
    raw: dict[str, Any], *, managed: bool, device_id: DeviceId | None = None
) -> LiveCode:
    """A Seam access_code object as our `LiveCode`. `device_id`: the device it was listed
    for, when the caller checked it is the code's (one string for all of a lock's codes).
    A fleet holds many codes of one name or PIN (a person on every door): each text is kept
    once (`core.sharedtexts`), so 100,000 codes do not hold 100,000 copies of ten names."""
    listed = raw["device_id"]
    name = raw.get("name")
    pin = raw.get("code")
    starts_at, ends_at = raw.get("starts_at"), raw.get("ends_at")
    errors, warnings = raw.get("errors"), raw.get("warnings")
    return LiveCode(
        access_code_id=AccessCodeId(raw["access_code_id"]),
        device_id=device_id if device_id is not None and device_id == listed else listed,
        name=_TEXTS.kept(name) if type(name) is str else str(name or ""),
        code=_TEXTS.kept(pin) if type(pin) is str else pin,
        starts_at=_time(starts_at) if starts_at else None,
        ends_at=_time(ends_at) if ends_at else None,
        status=_STATUSES.get(raw.get("status") or "unknown", CodeStatus.UNKNOWN),
        is_managed=managed,
        is_offline=bool(raw.get("is_offline_access_code")),
        is_one_time_use=bool(raw.get("is_one_time_use")),
        is_backup=bool(raw.get("is_backup")),
        errors=_issues(errors, "error_code") if errors else (),
        warnings=_issues(warnings, "warning_code") if warnings else (),
    )


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
