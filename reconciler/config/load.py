"""Read a config file or directory into validated desired state, listing every problem found.

The pipeline: YAML with positions and `${VAR}` (`yamlsource`, by the rules of `configtrust`)
→ merge files → pydantic models, the devices one by one (`config.devices`; strict, like the
schema; on a refusal, the whole config at once and JSON Schema's
`iter_errors` lists all problems at once with clearer messages, `configmessages`) → rules the
schema cannot state, `provider.endpoint`'s host among them. Each problem is reported as
`FILE:LINE:COL: path.to.field: message`. Messages never quote a PIN or a secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.config.coderules import zone_problem
from reconciler.config.devices import NotOneByOne, device_as_read, own_devices
from reconciler.config.holders import CompiledHolders, Door, compile_holders, holder_problems
from reconciler.config.policy import Policy, load_policy
from reconciler.config.policy import check as check_policy
from reconciler.config.schema import ConfigFile, PlaceConfig, ProviderConfig, SourceConfig
from reconciler.config.stays import StayInput, compile_stays
from reconciler.config.trust import endpoint_refusal, readable_file
from reconciler.config.yamlsource import (
    PathKey,
    Position,
    SourceDocument,
    YamlProblems,
    complete_positions,
    format_path,
    load_documents,
)
from reconciler.core.collector import fewer_collections
from reconciler.core.errors import ConfigError, Problem
from reconciler.core.models import (
    DesiredDevice,
    DeviceId,
    DeviceKey,
    Holder,
)
from reconciler.core.settings import STATE_ENV, Settings, parse_duration
from reconciler.core.written import joined


@dataclass(frozen=True)
class Config:
    """A validated config: its files, provider, settings and the desired devices."""

    paths: tuple[Path, ...]
    base_dir: Path
    provider: ProviderConfig
    settings: Settings
    devices: tuple[DesiredDevice, ...]
    warnings: tuple[Problem, ...] = ()
    holders: tuple[Holder, ...] = ()
    policy: Policy | None = None
    places: Mapping[str, PlaceConfig] = field(default_factory=dict)
    stays: tuple[StayInput, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    # The state store's URL (`--state`, `ACCESSCODES_STATE`); None: the SQLite file.
    state: str | None = None

    def with_feed_stays(self, feed_stays: Sequence[StayInput]) -> Config:
        """The config with its reservation feeds' stays: they and the written stays are put
        on their doors together (one naming, one turnover), as if all had been written."""
        stays = compile_stays(
            self.places,
            {d.key: d.timezone for d in self.devices},
            [*self.stays, *feed_stays],
            self.settings.timezone,
        )
        devices = tuple(
            replace(d, codes=joined(d.codes, stays.codes.get(d.key, ()))) for d in self.devices
        )
        holders = (*self.holders, *(h for h in stays.holders if h not in self.holders))
        return replace(self, devices=devices, holders=holders)


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


def load_config(
    path: Path, *, environ: Mapping[str, str] | None = None, state: str | None = None
) -> Config:
    """Read and validate a config; raise `ConfigError` with every problem if it is not usable.
    `state`: the `--state` URL, else `ACCESSCODES_STATE`, else the SQLite file."""
    with fewer_collections():  # a config of 100,000 codes is a million objects, all kept
        return _load(path, environ, state)


def _load(path: Path, environ: Mapping[str, str] | None, state: str | None) -> Config:
    files = config_files(path)
    problems: list[Problem] = []
    try:
        documents = load_documents(files, environ=environ, complete=False, on_device=device_as_read)
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from exc
    merged = _merge(documents, problems)
    merged.environ = environ
    if problems:
        raise ConfigError(problems)
    device_problems: list[Problem] = []
    for document in documents:
        document.data = None  # (what is left of it is in merged.data, let go device by device)
    try:
        model = ConfigFile.model_validate({k: v for k, v in merged.data.items() if k != "devices"})
        own = own_devices(
            merged.data.get("devices", {}), merged, model.settings.timezone, device_problems
        )
    except (ValidationError, NotOneByOne):
        raise _refusal(_read_again(files, environ)) from None
    merged.data = {}
    doors = {d.key: Door(d.timezone, d.codes) for d in own}
    compiled = compile_holders(model, merged, doors)
    problems.extend(_rule_problems(model, merged, compiled, doors, device_problems))
    if problems:
        raise ConfigError(problems)
    base_dir = path if path.is_dir() else path.parent
    devices = tuple(
        DesiredDevice(
            key=DeviceKey(d.key),
            device_id=DeviceId(d.device_id),
            codes=joined(d.codes, compiled.codes.get(d.key, ())),
            timezone=d.timezone,
            source=d.source,
        )
        for d in own
    )
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
        holders=compiled.holders,
        policy=policy,
        places=dict(model.places),
        stays=compiled.stays if model.sources else (),
        sources=tuple(model.sources),
        state=state or (os.environ if environ is None else environ).get(STATE_ENV) or None,
    )


def _read_again(files: list[Path], environ: Mapping[str, str] | None) -> _Merged:
    """The config's data whole once more, for a refusal's messages: the devices' data was
    let go as each device was made."""
    merged = _merge(load_documents(files, environ=environ, complete=False), [])
    merged.environ = environ
    return merged


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


def _refusal(merged: _Merged) -> ConfigError:
    """Every problem pydantic finds in the whole config: JSON Schema (loaded only for a
    refusal) has the clearer messages; the models' are for what it cannot say."""
    from reconciler.config.messages import pydantic_message, schema_problems

    try:
        ConfigFile.model_validate(merged.data)
    except ValidationError as exc:
        problems = list(schema_problems(merged.data, merged))
        if problems:
            return ConfigError(problems)
        return ConfigError(
            [merged.problem(tuple(e["loc"]), pydantic_message(e)) for e in exc.errors()]
        )
    raise AssertionError("a device refused alone passes in the whole config")  # pragma: no cover


def _rule_problems(
    model: ConfigFile,
    merged: _Merged,
    compiled: CompiledHolders,
    doors: Mapping[str, Door],
    device_problems: Iterable[Problem],
) -> Iterable[Problem]:
    endpoint = model.provider.endpoint
    refusal = endpoint_refusal(endpoint, merged.environ) if endpoint is not None else None
    if refusal is not None:
        yield merged.problem(("provider", "endpoint"), refusal)
    yield from _path_problems(model, merged)
    yield from zone_problem(model.settings.timezone, ("settings", "timezone"), merged)
    yield from device_problems
    yield from holder_problems(model, merged, compiled, doors)


def _path_problems(model: ConfigFile, merged: _Merged) -> Iterable[Problem]:
    """Policy files stay in the config's folder or the working directory (the repository, in
    CI): a pull request must not make accesscodes read any other file of the machine, whose
    text a refusal could quote into a plan comment."""
    base = Path(merged.default_file).resolve().parent
    for index, name in enumerate(model.settings.policies):
        if not readable_file(base, name):
            yield merged.problem(
                ("settings", "policies", index),
                "a policy file must be inside the config's folder or the working directory",
            )


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
        backup_codes=s.backup_codes,
    )
