"""Code names that fit the lock: a feed's long guest names trimmed to each lock's limit.

Host tools export summaries such as `Jane Doe - Airbnb - 4 guests - HMABC12345`; the stay's
code is named after the guest, and some locks keep only a few characters (a Schlage keeps 9,
a Kwikset 14). A name the lock refuses would block the guest's code, so a stay's name is cut
to the lock's `name_length` limit, the same way on every run (the name is the code's identity
on the lock). Names written in the config are left alone: there a refusal names the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from reconciler.core.models import DesiredDevice, DeviceId, LiveDevice


def fit_stay_names(
    devices: Sequence[DesiredDevice], live: Mapping[DeviceId, LiveDevice]
) -> tuple[DesiredDevice, ...]:
    """The devices with each feed stay's code name cut to its lock's name limit."""
    out = []
    for device in devices:
        lock = live.get(device.device_id)
        limit = _name_limit(lock)
        if limit is None:
            out.append(device)
            continue
        codes = tuple(
            replace(code, name=code.name[:limit].rstrip())
            if _from_a_feed(code.config_path) and len(code.name) > limit
            else code
            for code in device.codes
        )
        out.append(replace(device, codes=codes))
    return tuple(out)


def _from_a_feed(config_path: str | None) -> bool:
    return config_path is not None and config_path.startswith("sources.")


def _name_limit(lock: LiveDevice | None) -> int | None:
    if lock is None:
        return None
    limits = [
        c.max_length
        for c in lock.device.capabilities.code_constraints
        if c.kind == "name_length" and c.max_length is not None
    ]
    return min(limits, default=None)
