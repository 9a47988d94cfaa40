"""PIN policy: rules about the PINs people choose, beyond what any one lock accepts.

A weak or shared PIN lets a stranger in; the lock itself will happily take `1234`. The policy
files (`policies/default.yaml`, on by default, plus `settings.policies`) set each rule to
`error` (the config is refused, as any invalid config is) or `warn`. Violations point at the
config line and never quote a PIN.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


def check(devices: Sequence[DesiredDevice], policy: Policy) -> list[Violation]:
    """Every violation of the policy by the PINs written in the config."""
    found: list[Violation] = []
    owners: dict[str, set[str]] = defaultdict(set)
    first_code: dict[str, DesiredCode] = {}
    index = {id(c): i for d in devices for i, c in enumerate(d.codes)}

    def add(rule: str, code: DesiredCode, message: str) -> None:
        level = policy.levels.get(rule, "off")
        if level == "off":
            return
        source = code.source
        path = f"devices.{code.device}.codes[{index[id(code)]}].code"
        problem = (
            Problem(source.file, source.line, source.column, path, message)
            if source
            else Problem("<config>", 1, 1, path, message)
        )
        found.append(Violation(rule, level, problem))

    for device in devices:
        pins: dict[str, DesiredCode] = {}
        for code in device.codes:
            if (
                code.ends_at
                and code.starts_at
                and (
                    code.ends_at.replace(tzinfo=None) - code.starts_at.replace(tzinfo=None)
                    > policy.max_duration
                )
            ):
                add("max_duration", code, f"open for longer than {policy.max_duration.days} days")
            pin = code.code
            if pin is None:
                if code.schedule is not None and not code.offline:
                    add(
                        "recurring_without_pin",
                        code,
                        "a recurring code needs a PIN (code:): one generated for each "
                        "occurrence would differ every time",
                    )
                continue
            if _weak(pin, policy):
                add("weak_pin", code, "weak PIN (a sequence, one digit repeated, or a common PIN)")
            if len(pin) < policy.min_length:
                add("min_length", code, f"PIN shorter than {policy.min_length} digits")
            if pin in pins and pins[pin].name != code.name:
                add(
                    "same_pin_twice_on_device", code, f"same PIN as '{pins[pin].name}' on this lock"
                )
            for other_pin, other in pins.items():
                if other_pin != pin and (other_pin.startswith(pin) or pin.startswith(other_pin)):
                    add(
                        "pin_prefix_on_device",
                        code,
                        f"PIN and the PIN of '{other.name}' start alike: one is a prefix",
                    )
            pins.setdefault(pin, code)
            owners[pin].add(code.name)
            first_code.setdefault(pin, code)
    for pin, names in owners.items():
        if len(names) > 1:
            add(
                "pin_shared_across_people",
                first_code[pin],
                f"one PIN is given to {len(names)} different people: {', '.join(sorted(names))}",
            )
    return found


def _weak(pin: str, policy: Policy) -> bool:
    return (
        len(set(pin)) == 1
        or is_straight_sequence(pin)
        or pin in policy.common_pins
        or bool(re.fullmatch(r"(\d\d)\1+", pin))
    )
