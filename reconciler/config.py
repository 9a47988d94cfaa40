"""Read a config file or directory into validated desired state, listing every problem found.

The pipeline: YAML with positions and `${VAR}` (`yamlsource`) → merge files → pydantic models
(strict, like the schema; on a refusal, JSON Schema's `iter_errors` lists all problems at once
with clearer messages) → rules the schema cannot state. Each
problem is reported as `FILE:LINE:COL: path.to.field: message`. Messages never quote a PIN.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
from croniter import croniter
from pydantic import ValidationError

from reconciler.configschema import CodeConfig, ConfigFile, ProviderConfig, config_json_schema
from reconciler.errors import ConfigError, Problem
from reconciler.models import DesiredCode, DesiredDevice, DeviceId, DeviceKey, Schedule, SourceRef
from reconciler.policy import check as check_policy
from reconciler.policy import load_policy
from reconciler.settings import Settings, parse_duration
from reconciler.yamlsource import (
    PathKey,
    Position,
    SourceDocument,
    YamlProblems,
    complete_positions,
    format_path,
)
from reconciler.yamlsource import load_document as load_yaml

DEFAULT_CONFIG = Path("accesscodes.yaml")


@dataclass(frozen=True)
class Config:
    """A validated config: its files, provider, settings and the desired devices."""

    paths: tuple[Path, ...]
    base_dir: Path
    provider: ProviderConfig
    settings: Settings
    devices: tuple[DesiredDevice, ...]
    warnings: tuple[Problem, ...] = ()


@dataclass
class _Merged:
    data: dict[str, Any]
    values: dict[PathKey, Position]
    keys: dict[PathKey, Position]
    default_file: str
    documents: list[SourceDocument] = field(default_factory=list)
    environ: Mapping[str, str] | None = None

    def at(self, path: PathKey, *, key: bool = False) -> Position:
        """The position of the value (or key) at `path`, else of its nearest ancestor."""
        found = self._exact(path, key=key)
        if found is None and not all(d.complete for d in self.documents):
            self._complete()
            found = self._exact(path, key=key)
        if found is not None:
            return found
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return Position(self.default_file, 1, 1)

    def _exact(self, path: PathKey, *, key: bool) -> Position | None:
        if key and path in self.keys:
            return self.keys[path]
        return None if key else self.values.get(path)

    def _complete(self) -> None:
        """Parse the files' text again, keeping every position: a problem needs one."""
        for index, document in enumerate(self.documents):
            full = complete_positions(document, self.environ)
            self.documents[index] = full
            self.values.update(full.values)
            self.keys.update(full.keys)

    def problem(self, path: PathKey, message: str, *, key: bool = False) -> Problem:
        where = self.at(path, key=key)
        return Problem(where.file, where.line, where.column, format_path(path), message)


def config_files(path: Path) -> list[Path]:
    """The files a `-c PATH` names: the file itself, or every *.yaml / *.yml in a directory."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise ConfigError([Problem(str(path), 1, 1, "", "no *.yaml or *.yml file here")])
        return files
    if not path.exists():
        raise ConfigError([Problem(str(path), 1, 1, "", "no such config file (use -c PATH)")])
    return [path]


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config; raise `ConfigError` with every problem if it is not usable."""
    files = config_files(path)
    documents: list[SourceDocument] = []
    problems: list[Problem] = []
    for file in files:
        try:
            documents.append(load_yaml(file, environ=environ, complete=False))
        except YamlProblems as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    merged = _merge(documents, problems)
    merged.environ = environ
    if problems:
        raise ConfigError(problems)
    try:
        model = ConfigFile.model_validate(merged.data)
    except ValidationError as exc:
        # The schema's messages are the clearer ones; the models' are for what it cannot say.
        problems.extend(_schema_problems(merged))
        if problems:
            raise ConfigError(problems) from exc
        raise ConfigError(
            [merged.problem(tuple(e["loc"]), _pydantic_message(e)) for e in exc.errors()]
        ) from exc
    problems.extend(_rule_problems(model, merged))
    if problems:
        raise ConfigError(problems)
    base_dir = path if path.is_dir() else path.parent
    devices = tuple(_devices(model, merged))
    policy = load_policy(base_dir / p for p in model.settings.policies)
    violations = check_policy(devices, policy)
    errors = [v.problem for v in violations if v.level == "error"]
    if errors:
        raise ConfigError(errors)
    return Config(
        paths=tuple(files),
        base_dir=base_dir,
        provider=model.provider,
        settings=_settings(model),
        devices=devices,
        warnings=tuple(v.problem for v in violations if v.level == "warn"),
    )


def _merge(documents: list[SourceDocument], problems: list[Problem]) -> _Merged:
    merged = _Merged({}, {}, {}, documents[0].file, documents)
    devices: dict[str, Any] = {}
    for doc in documents:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(
                Problem(doc.file, 1, 1, "", "the file must be a mapping (version:, devices:, ...)")
            )
            continue
        merged.values.update(doc.values)
        merged.keys.update(doc.keys)
        for key, value in doc.data.items():
            if key == "devices" and isinstance(value, dict):
                for device_key, device in value.items():
                    if device_key in devices:
                        first = devices[device_key]
                        where = doc.keys[("devices", device_key)]
                        problems.append(
                            Problem(
                                where.file,
                                where.line,
                                where.column,
                                f"devices.{device_key}",
                                f"device key defined twice (first in {first.file}:{first.line})",
                            )
                        )
                        continue
                    devices[device_key] = doc.keys[("devices", device_key)]
                    merged.data.setdefault("devices", {})[device_key] = device
                continue
            if key in merged.data and not (key == "version" and merged.data[key] == value):
                first = merged.keys.get((key,))
                where = doc.keys[(key,)]
                before = f" (first in {first.file}:{first.line})" if first else ""
                problems.append(
                    Problem(
                        where.file,
                        where.line,
                        where.column,
                        str(key),
                        f"set in more than one file{before}",
                    )
                )
                continue
            merged.data.setdefault(key, value)
    merged.values[()] = Position(documents[0].file, 1, 1)
    return merged


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = config_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _schema_problems(merged: _Merged) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(merged.data):
        problems.extend(_explain(error, merged))
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))


def _explain(error: jsonschema.ValidationError, merged: _Merged) -> list[Problem]:
    path: PathKey = tuple(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and error.context:
        # `x: T | None` fails both branches; the branch that is not `null` says what is wrong.
        useful = [
            e for e in error.context if not (e.validator == "type" and e.validator_value == "null")
        ]
        best = jsonschema.exceptions.best_match(useful or error.context)
        if best is not None:
            return _explain(best, merged)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        out = []
        for extra in sorted(set(error.instance) - set(allowed), key=str):
            hint = difflib.get_close_matches(str(extra), allowed, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            message = f"unknown field '{extra}'{suggestion}; allowed: {', '.join(allowed)}"
            out.append(merged.problem((*path, extra), message, key=True))
        return out
    if error.validator == "required":
        return [merged.problem(path, f"missing required field: {error.message.split(' ')[0]}")]
    return [merged.problem(path, _schema_message(error, path))]


def _is_pin(path: PathKey) -> bool:
    return bool(path) and path[-1] == "code" and "codes" in path


def _schema_message(error: jsonschema.ValidationError, path: PathKey) -> str:
    kind = error.validator
    if _is_pin(path):
        if kind == "type":
            return (
                "must be a quoted string of digits (YAML reads an unquoted PIN as a number "
                "and drops leading zeros)"
            )
        if kind == "pattern":
            return "a PIN must be digits only (0-9)"
        return "is not a valid PIN"
    if (
        kind == "pattern"
        and path
        and str(path[-1]) in ("duration", "horizon", "native_lead", "jit_lead")
    ):
        return "must be a duration such as 30m, 4h, 1h30m or 14d"
    if kind == "const":
        return f"must be {error.validator_value!r}"
    if kind == "enum":
        return f"must be one of: {', '.join(map(str, error.validator_value))}"
    if kind == "type":
        return f"must be of type {error.validator_value}, not {type(error.instance).__name__}"
    return error.message


def _pydantic_message(error: Any) -> str:
    loc = tuple(error["loc"])
    if _is_pin(loc):
        return "is not a valid PIN"
    return str(error["msg"])


def _rule_problems(model: ConfigFile, merged: _Merged) -> Iterable[Problem]:
    settings_zone = model.settings.timezone
    yield from _zone_problem(settings_zone, ("settings", "timezone"), merged)
    owners: dict[str, str] = {}
    for key, device in model.devices.items():
        base: PathKey = ("devices", key)
        if device.device_id in owners:
            yield merged.problem(
                (*base, "device_id"),
                f"device_id is already used by device '{owners[device.device_id]}'",
            )
        owners.setdefault(device.device_id, key)
        if device.timezone:
            yield from _zone_problem(device.timezone, (*base, "timezone"), merged)
        first_index: dict[str, int] = {}
        for index, code in enumerate(device.codes):
            at: PathKey = (*base, "codes", index)
            if code.name in first_index:
                first = merged.at((*base, "codes", first_index[code.name], "name"))
                yield merged.problem(
                    (*at, "name"),
                    f"code name '{code.name}' is used twice on device '{key}' "
                    f"(first at line {first.line})",
                )
            else:
                first_index[code.name] = index
            zone = device.timezone or settings_zone
            yield from _code_problems(code, at, merged, zone)


def _zone_problem(name: str, path: PathKey, merged: _Merged) -> Iterable[Problem]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        yield merged.problem(
            path, f"unknown time zone '{name}' (use an IANA name such as Europe/Paris)"
        )


def _code_problems(code: CodeConfig, at: PathKey, merged: _Merged, zone: str) -> Iterable[Problem]:
    if code.starts_at is not None and code.ends_at is None and not code.one_time_use:
        yield merged.problem((*at, "starts_at"), "starts_at and ends_at go together: add ends_at")
    if code.ends_at is not None and code.starts_at is None:
        yield merged.problem((*at, "ends_at"), "starts_at and ends_at go together: add starts_at")
    if (
        code.starts_at is not None
        and code.ends_at is not None
        and _aware(code.ends_at, zone) <= _aware(code.starts_at, zone)
    ):
        yield merged.problem((*at, "ends_at"), "ends_at must be after starts_at")
    if code.schedule is not None:
        if code.starts_at is not None or code.ends_at is not None:
            yield merged.problem(
                (*at, "schedule"), "a code has a schedule or a starts_at/ends_at window, not both"
            )
        cron = code.schedule.cron
        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            yield merged.problem(
                (*at, "schedule", "cron"),
                f"invalid cron expression '{cron}' (five fields: minute hour day month weekday)",
            )
        if code.schedule.timezone:
            yield from _zone_problem(code.schedule.timezone, (*at, "schedule", "timezone"), merged)
        if parse_duration(code.schedule.duration).total_seconds() <= 0:
            yield merged.problem((*at, "schedule", "duration"), "duration must be more than zero")
    if code.offline and code.code is not None:
        yield merged.problem(
            (*at, "code"),
            "an offline code's PIN comes from the lock maker's algorithm: remove code",
        )
    if code.one_time_use and not code.offline:
        yield merged.problem(
            (*at, "one_time_use"), "one_time_use codes are offline codes: add offline: true"
        )
    if code.one_time_use and code.starts_at is None:
        yield merged.problem(
            (*at, "one_time_use"), "a one-time code needs starts_at (valid 24 h from it)"
        )


def _aware(moment: datetime, zone: str) -> datetime:
    if moment.tzinfo is not None:
        return moment
    try:
        return moment.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.replace(tzinfo=ZoneInfo("UTC"))


def _settings(model: ConfigFile) -> Settings:
    s = model.settings
    return Settings(
        timezone=s.timezone,
        horizon=parse_duration(s.horizon),
        prune=s.prune,
        max_deletes=s.max_deletes,
        max_deletes_per_device=s.max_deletes_per_device,
        concurrency=s.concurrency,
        native_lead=parse_duration(s.native_lead),
        jit_lead=parse_duration(s.jit_lead),
        send_at_lead_time=s.send_codes == "at_lead_time",
        state_db=s.state_db,
        plan_ttl=parse_duration(s.plan_ttl),
        self_heal=s.self_heal,
        webhook_url=s.webhook_url,
        policies=tuple(s.policies),
    )


def _devices(model: ConfigFile, merged: _Merged) -> Iterable[DesiredDevice]:
    for key, device in model.devices.items():
        base: PathKey = ("devices", key)
        codes = []
        for index, code in enumerate(device.codes):
            where = merged.at((*base, "codes", index))
            schedule = None
            if code.schedule is not None:
                schedule = Schedule(
                    cron=code.schedule.cron,
                    duration=parse_duration(code.schedule.duration),
                    timezone=code.schedule.timezone,
                )
            codes.append(
                DesiredCode(
                    device=DeviceKey(key),
                    name=code.name,
                    code=code.code,
                    starts_at=code.starts_at,
                    ends_at=code.ends_at,
                    schedule=schedule,
                    offline=code.offline,
                    one_time_use=code.one_time_use,
                    prefer_native_scheduling=code.prefer_native_scheduling,
                    protected=code.protected,
                    revoke=code.revoke,
                    source=SourceRef(where.file, where.line, where.column),
                )
            )
        where = merged.at(base, key=True)
        yield DesiredDevice(
            key=DeviceKey(key),
            device_id=DeviceId(device.device_id),
            codes=tuple(codes),
            timezone=device.timezone,
            source=SourceRef(where.file, where.line, where.column),
        )
