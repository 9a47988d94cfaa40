"""PIN policy: rules about the PINs people choose, beyond what any one lock accepts.

A weak or shared PIN lets a stranger in; the lock itself will happily take `1234`. The policy
files (`policies/default.yaml`, on by default, plus `settings.policies`) set each rule to
`error` (the config is refused, as any invalid config is) or `warn`. Violations point at the
config line and never quote a PIN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.config.pinowners import PinSightings, shared_pins
from reconciler.config.yamlsource import YamlProblems, format_path, load_document
from reconciler.core.errors import ConfigError, Problem
from reconciler.core.models import DesiredCode, DesiredDevice
from reconciler.core.rules import is_straight_sequence
from reconciler.core.settings import DURATION_PATTERN, parse_duration

DEFAULT_POLICY = Path(__file__).with_name("default_policy.yaml")
Level = Literal["error", "warn", "off"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Level = "error"


class _ValueRule(_Rule):
    value: int = Field(4, ge=1)


class _DurationRule(_Rule):
    value: str = Field("90d", pattern=DURATION_PATTERN)


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weak_pin: _Rule | None = None
    min_length: _ValueRule | None = None
    same_pin_twice_on_device: _Rule | None = None
    pin_prefix_on_device: _Rule | None = None
    pin_shared_across_people: _Rule | None = None
    max_duration: _DurationRule | None = None
    recurring_without_pin: _Rule | None = None


class PolicyFile(BaseModel):
    """One policy file; later files override the rules they name."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    rules: _Rules = Field(default_factory=_Rules)
    common_pins: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Violation:
    """One code breaking one rule."""

    rule: str
    level: Level
    problem: Problem


@dataclass
class Policy:
    """The merged rules in force."""

    levels: dict[str, Level]
    min_length: int = 4
    max_duration: timedelta = timedelta(days=90)
    common_pins: frozenset[str] = frozenset()


def load_policy(paths: Iterable[Path]) -> Policy:
    """Merge the default policy and the named files, in order."""
    policy = Policy(levels={})
    for path in (DEFAULT_POLICY, *paths):
        try:
            document = load_document(path, environ={})
        except YamlProblems as exc:
            raise ConfigError(exc.problems) from exc
        try:
            parsed = PolicyFile.model_validate(document.data)
        except ValidationError as exc:
            raise ConfigError(
                [
                    _located(document.values, tuple(e["loc"]), str(path), e["msg"])
                    for e in exc.errors()
                ]
            ) from exc
        for name, rule in parsed.rules:
            if rule is None:
                continue
            policy.levels[name] = rule.level
            if isinstance(rule, _ValueRule):
                policy.min_length = rule.value
            if isinstance(rule, _DurationRule):
                policy.max_duration = parse_duration(rule.value)
        policy.common_pins |= frozenset(parsed.common_pins)
    return policy


def _located(values: dict, path: tuple, file: str, message: str) -> Problem:
    for end in range(len(path), -1, -1):
        if path[:end] in values:
            where = values[path[:end]]
            return Problem(where.file, where.line, where.column, format_path(path), message)
    return Problem(file, 1, 1, format_path(path), message)


Finding = tuple[str, str]  # (rule, message) for one code


@dataclass
class _Report:
    """The violations found so far, each located at its code's `code:` line; rules whose
    level is `off` are dropped here, so each rule check stays a plain question."""

    policy: Policy
    devices: Sequence[DesiredDevice]
    found: list[Violation] = field(default_factory=list)
    _by_key: dict[str, DesiredDevice] | None = None  # made at the first violation

    def position(self, code: DesiredCode) -> int:
        """Where `code` is in its device's list: by its name and line (a device's codes are
        made each time they are read, `core.written`, so not by identity)."""
        if self._by_key is None:
            self._by_key = {d.key: d for d in self.devices}
        for index, written in enumerate(self._by_key[code.device].codes):
            if written.name == code.name and written.source == code.source:
                return index
        raise LookupError(code.name)  # pragma: no cover (a code is its device's)

    def add(self, code: DesiredCode, findings: Iterable[Finding]) -> None:
        """Record the rules `code` breaks, at the levels the policy gives them."""
        for rule, message in findings:
            level = self.policy.levels.get(rule, "off")
            if level == "off":
                continue
            source = code.source
            path = (
                f"{code.config_path}.code"
                if code.config_path
                else (f"devices.{code.device}.codes[{self.position(code)}].code")
            )
            problem = (
                Problem(source.file, source.line, source.column, path, message)
                if source
                else Problem("<config>", 1, 1, path, message)
            )
            violation = Violation(rule, level, problem)
            if violation not in self.found:  # a person's PIN is checked on each of their doors
                self.found.append(violation)


def check(devices: Sequence[DesiredDevice], policy: Policy) -> list[Violation]:
    """Every violation of the policy by the PINs written in the config: per code, its window
    and its PIN; per lock, PINs that repeat or prefix each other; then PINs shared by people."""
    report = _Report(policy, devices)
    sightings = PinSightings()  # each PIN and who has it, as hashes (`config.pinowners`)
    judged = lru_cache(maxsize=4096)(partial(_pin_findings, policy=policy))  # a person's PIN
    for device in devices:
        pins: dict[str, DesiredCode] = {}  # each PIN on this lock and its first code
        for code in device.codes:  # (each check asked only where it can find something)
            if code.starts_at and code.ends_at:
                report.add(code, _max_duration(code, policy))
            pin = code.code
            if pin is None:
                if code.holder is None or code.holder.pin_per_door:  # else one kept PIN
                    report.add(code, _recurring_without_pin(code))
                continue
            sightings.note(pin, code.name)
            report.add(code, judged(pin))
            if pin in pins:
                report.add(code, _same_pin_twice_on_device(code, pin, pins))
            if pins:
                report.add(code, _pin_prefix_on_device(pin, pins))
            pins.setdefault(pin, code)
    for code, names in shared_pins(devices, sightings):
        message = f"one PIN is given to {len(names)} different people: {', '.join(sorted(names))}"
        report.add(code, [("pin_shared_across_people", message)])
    return report.found


def _pin_findings(pin: str, policy: Policy) -> tuple[Finding, ...]:
    """The rules `pin` breaks on its own (asked once a PIN: a person's is on each door)."""
    return (*_weak_pin(pin, policy), *_min_length(pin, policy))


def _max_duration(code: DesiredCode, policy: Policy) -> Iterator[Finding]:
    """A time-bound code open longer than the policy's `max_duration` (wall-clock span)."""
    if code.ends_at and code.starts_at:
        span = code.ends_at.replace(tzinfo=None) - code.starts_at.replace(tzinfo=None)
        if span > policy.max_duration:
            yield "max_duration", f"open for longer than {policy.max_duration.days} days"


def _recurring_without_pin(code: DesiredCode) -> Iterator[Finding]:
    """A recurring online code without a PIN: each occurrence would get a different one."""
    if code.schedule is not None and not code.offline:
        yield (
            "recurring_without_pin",
            "a recurring code needs a PIN (code:): one generated for each "
            "occurrence would differ every time",
        )


def _weak_pin(pin: str, policy: Policy) -> Iterator[Finding]:
    """A PIN a stranger would try first."""
    if is_weak(pin, policy):
        yield "weak_pin", "weak PIN (a sequence, one digit repeated, or a common PIN)"


def _min_length(pin: str, policy: Policy) -> Iterator[Finding]:
    """A PIN shorter than the policy's floor."""
    if len(pin) < policy.min_length:
        yield "min_length", f"PIN shorter than {policy.min_length} digits"


def _same_pin_twice_on_device(
    code: DesiredCode, pin: str, pins: dict[str, DesiredCode]
) -> Iterator[Finding]:
    """Another code on this lock with the same PIN whose window may overlap this one's: the
    lock cannot tell them apart. Two stays one after the other may share a PIN."""
    if pin in pins and pins[pin].name != code.name and pins[pin].may_overlap(code):
        yield "same_pin_twice_on_device", f"same PIN as '{pins[pin].name}' on this lock"


def _pin_prefix_on_device(pin: str, pins: dict[str, DesiredCode]) -> Iterator[Finding]:
    """Each earlier PIN on this lock that starts this one, or that this one starts."""
    for other_pin, other in pins.items():
        if other_pin != pin and (other_pin.startswith(pin) or pin.startswith(other_pin)):
            yield (
                "pin_prefix_on_device",
                f"PIN and the PIN of '{other.name}' start alike: one is a prefix",
            )


def is_weak(pin: str, policy: Policy) -> bool:
    """A sequence, one digit repeated, a repeated pair, or one of the policy's common PINs:
    what `weak_pin` refuses (`accesscodes init` draws its PINs until none is)."""
    return (
        len(set(pin)) == 1
        or is_straight_sequence(pin)
        or pin in policy.common_pins
        or bool(re.fullmatch(r"(\d\d)\1+", pin))
    )
