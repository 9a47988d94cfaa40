"""PINs given to more than one person, found from hashes (`config.pinowners`): a candidate is
looked at again by its strings, so a collision of hashes never makes a warning."""

from __future__ import annotations

from reconciler.config.pinowners import PinSightings, shared_pins
from reconciler.core.models import DesiredCode, DesiredDevice, DeviceId, DeviceKey


def device(key: str, *codes: tuple[str, str]) -> DesiredDevice:
    return DesiredDevice(
        key=DeviceKey(key),
        device_id=DeviceId(f"{key}_lock"),
        codes=tuple(DesiredCode(device=DeviceKey(key), name=n, code=pin) for n, pin in codes),
    )


FLEET = (
    device("a", ("Ann", "482913"), ("Cy", "573024"), ("Dee", "610375")),
    device("b", ("Ben", "482913"), ("Ann", "610375")),
    device("c", ("Ann", "610375"), ("Eve", "739146")),
)


def seen(devices: tuple[DesiredDevice, ...], sightings: PinSightings) -> PinSightings:
    for each in devices:
        for code in each.codes:
            assert code.code is not None
            sightings.note(code.code, code.name)
    return sightings


def test_a_pin_with_two_names_is_shared_and_one_name_on_many_doors_is_not() -> None:
    sightings = seen(FLEET, PinSightings())
    assert sightings.candidates() == {hash("482913"), hash("610375")}
    found = [(first.device, first.name, names) for first, names in shared_pins(FLEET, sightings)]
    assert found == [("a", "Ann", {"Ann", "Ben"}), ("a", "Dee", {"Dee", "Ann"})]


class _EveryPinACandidate(PinSightings):
    """As if every PIN's hash had collided with another name's."""

    def candidates(self) -> set[int]:
        return {hash(code.code) for each in FLEET for code in each.codes}


def test_a_candidate_from_colliding_hashes_is_turned_down_by_its_strings() -> None:
    sightings = seen(FLEET, _EveryPinACandidate())
    assert [names for _, names in shared_pins(FLEET, sightings)] == [
        {"Ann", "Ben"},
        {"Dee", "Ann"},
    ]


def test_a_config_without_sharing_is_read_once() -> None:
    class Once(tuple[DesiredDevice, ...]):
        walks = 0

        def __iter__(self):  # type: ignore[no-untyped-def]
            Once.walks += 1
            return super().__iter__()

    alone = (device("a", ("Ann", "482913")), device("b", ("Ben", "573024")))
    assert list(shared_pins(Once(alone), seen(alone, PinSightings()))) == []
    assert Once.walks == 0
