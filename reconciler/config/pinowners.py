"""Which PINs the config gives to more than one person, found without holding every PIN.

The PIN policy's `pin_shared_across_people` asks it of the whole config. Holding each PIN
with its owner's name until the last device is read cost 120 bytes a code (the two strings
and a dict entry) on top of the codes themselves, 60 MB at 50,000 locks of 10 codes whose
PINs are their own, and it was the peak of the run: a device's codes are kept as one text
(`core.written`), so the names and PINs a dict holds are strings of their own. Here each
code leaves two hashes (16 bytes) as it is checked, kept in 64 arrays by the PIN's hash; a
PIN whose hash comes with two names' hashes is a candidate, and only candidates are looked at
again, as strings, in a second pass over the devices (none in a config without sharing).
A collision of hashes can only make a candidate that the second pass turns down.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from reconciler.core.models import DesiredCode, DesiredDevice

_BUCKETS = 64  # arrays by the PIN's hash, so the per-bucket tables stay small


@dataclass
class PinSightings:
    """Each PIN seen and the name of the code that has it, as hashes."""

    _pins: list[array[int]] = field(default_factory=lambda: [array("q") for _ in range(_BUCKETS)])
    _names: list[array[int]] = field(default_factory=lambda: [array("q") for _ in range(_BUCKETS)])

    def note(self, pin: str, name: str) -> None:
        """`name`'s code has `pin`."""
        pin_hash = hash(pin)
        bucket = pin_hash & (_BUCKETS - 1)
        self._pins[bucket].append(pin_hash)
        self._names[bucket].append(hash(name))

    def candidates(self) -> set[int]:
        """The hashes of the PINs seen with more than one name's hash."""
        found: set[int] = set()
        for pins, names in zip(self._pins, self._names, strict=True):
            first: dict[int, int] = {}
            for pin_hash, name_hash in zip(pins, names, strict=True):
                if first.setdefault(pin_hash, name_hash) != name_hash:
                    found.add(pin_hash)
        return found


def shared_pins(
    devices: Sequence[DesiredDevice], sightings: PinSightings
) -> Iterator[tuple[DesiredCode, set[str]]]:
    """Each PIN given to different people (code names), with their names, at the first code
    that has it, in the config's order."""
    candidates = sightings.candidates()
    if not candidates:
        return
    owners: dict[str, tuple[DesiredCode, set[str]]] = {}  # each candidate PIN: first code, names
    for device in devices:
        for code in device.codes:
            pin = code.code
            if pin is not None and hash(pin) in candidates:
                owners.setdefault(pin, (code, set()))[1].add(code.name)
    for first, names in owners.values():
        if len(names) > 1:
            yield first, names
