"""`validate`'s second half: does each code suit the lock it is for?

The config alone cannot say whether a PIN is the right length for a lock or whether an Ultraloq
knows its time zone: the provider can. These checks use the devices' capabilities only (no live
codes), so they say the same thing whatever is on the locks now, and report each problem at the
config line of the code, like every other validation problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from reconciler.config.load import Config
from reconciler.core.errors import Problem
from reconciler.core.models import Device, DeviceId, SourceRef
from reconciler.core.rules import name_violations, pin_violations, spec_violations
from reconciler.planning.schedule import device_zone, targets


def device_problems(
    config: Config, devices: Mapping[DeviceId, Device], *, now: datetime
) -> list[Problem]:
    """Every code the provider's devices would refuse, located in the config."""
    problems: list[Problem] = []
    for desired in config.devices:
        device = devices.get(desired.device_id)
        if device is None:
            problems.append(
                _problem(
                    desired.source,
                    f"devices.{desired.key}.device_id",
                    f"the provider has no device {desired.device_id}",
                )
            )
            continue
        caps = device.capabilities
        zone = device_zone(desired, caps, config.settings)
        pins = [c.code for c in desired.codes if c.code]
        seen: set[str] = set()
        for target in targets(desired, caps, config.settings, now=now):
            if target.code.name in seen:
                continue  # one report per code, not per occurrence
            seen.add(target.code.name)
            spec = target.spec
            reasons = name_violations(spec.name, caps) + spec_violations(spec, caps, zone)
            if spec.code is not None:
                others = [p for p in pins if p != spec.code]
                reasons = pin_violations(spec.code, caps, others=others) + reasons
            path = target.code.config_path or (
                f"devices.{desired.key}.codes[{desired.codes.index(target.code)}]"
            )
            if target.code.holder is not None:  # a person's or stay's: say which door
                reasons = [f"on {desired.key}: {reason}" for reason in reasons]
            problems.extend(_problem(target.source, path, reason) for reason in reasons)
    return problems


def _problem(source: SourceRef | None, path: str, message: str) -> Problem:
    if source is None:
        return Problem("<config>", 1, 1, path, message)
    return Problem(source.file, source.line, source.column, path, message)
