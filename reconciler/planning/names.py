"""Code names that fit the lock: a feed's long guest names trimmed to each lock's limit.

Host tools export summaries such as `Jane Doe - Airbnb - 4 guests - HMABC12345`; the stay's
code is named after the guest, and some locks keep only a few characters (a Schlage keeps 9,
a Kwikset 14). A name the lock refuses would block the guest's code, so a stay's name is cut
to the lock's `name_length` limit, the same way on every run (the name is the code's identity
on the lock). Where the cut would give two codes of one lock the same name (`Bob Smith 12-18`
and `Bob Smith 12-25` on a 9-character lock), each of those keeps a short mark of its full
name instead (`Bob S 3fa`), so two guests' codes are never taken for one. Names written in
the config are left alone: there a refusal names the line.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

from reconciler.core.models import DesiredCode, DesiredDevice, DeviceId, LiveDevice


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
        names = _fitted(device.codes, limit)
        codes = tuple(
            replace(code, name=name) if name != code.name else code
            for code, name in zip(device.codes, names, strict=True)
        )
        out.append(replace(device, codes=codes))
    return tuple(out)


def _fitted(codes: Sequence[DesiredCode], limit: int) -> list[str]:
    """Each code's name on this lock: a feed stay's cut to `limit`; those whose cut name
    another code of the lock also has end in three characters of their full name's digest
    (stable from run to run: it depends on the full name alone)."""
    cut = [_from_a_feed(c.config_path) and len(c.name) > limit for c in codes]
    names = [
        c.name[:limit].rstrip() if was_cut else c.name
        for c, was_cut in zip(codes, cut, strict=True)
    ]
    seen = Counter(names)
    for index, code in enumerate(codes):
        if cut[index] and seen[names[index]] > 1:
            mark = hashlib.sha256(code.name.encode()).hexdigest()[:3]
            names[index] = f"{code.name[: max(1, limit - 4)].rstrip()} {mark}"
    return names


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
