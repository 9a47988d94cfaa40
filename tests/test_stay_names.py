"""A feed stay's code name cut to the lock's limit (`planning.names`): the cut never gives
two codes of one lock the same name, and it is the same on every run."""

from __future__ import annotations

from reconciler.core.models import (
    Capabilities,
    CodeConstraint,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveDevice,
)
from reconciler.planning.names import fit_stay_names

DOOR, LOCK = DeviceKey("door"), DeviceId("lock_door")
NINE = Capabilities(code_constraints=(CodeConstraint("name_length", max_length=9),))


def names_on_the_lock(*names: str) -> list[str]:
    codes = tuple(
        DesiredCode(DOOR, name, config_path=f"sources.flat.stays[{i}]")
        for i, name in enumerate(names)
    )
    wanted = (DesiredDevice(DOOR, LOCK, codes=codes),)
    live = {LOCK: LiveDevice(Device(LOCK, "Door", NINE))}
    (device,) = fit_stay_names(wanted, live)
    return [c.name for c in device.codes]


def test_a_long_name_is_cut_to_the_lock_limit() -> None:
    assert names_on_the_lock("Jane Doe - Airbnb") == ["Jane Doe"]


def test_two_stays_of_one_guest_stay_apart_when_cut() -> None:
    names = names_on_the_lock("Bob Smith 12-18", "Bob Smith 12-25", "Ann")
    assert len(set(names)) == 3 and all(len(n) <= 9 for n in names)
    assert names[2] == "Ann"
    assert names == names_on_the_lock("Bob Smith 12-18", "Bob Smith 12-25", "Ann")  # stable
