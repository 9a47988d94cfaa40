"""Choosing a person's or stay's PIN once the locks' rules are known (`planning.pins`).

Plain values in, plain values out: each scenario is one of the ways a PIN used to rotate or
collide in the rental tools' trackers (an unreachable lock, a lost state, a shared entrance).
"""

from __future__ import annotations

from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    CodeConstraint,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    Holder,
    LiveCode,
    LiveDevice,
)
from reconciler.core.rules import pin_violations
from reconciler.planning.pins import assign_pins

ALICE = Holder("person:Alice", "Alice", "person")
BOB = Holder("stay:unit-a/Bob", "Bob", "stay")
GENERIC = Capabilities(native_scheduling=True)
NUKI = Capabilities(
    manufacturer="nuki",
    supported_code_lengths=(6,),
    code_constraints=(CodeConstraint("no_zeros"), CodeConstraint("cannot_start_with_12")),
)


def door(key: str, *holders: Holder) -> DesiredDevice:
    codes = tuple(DesiredCode(DeviceKey(key), h.label, holder=h) for h in holders)
    return DesiredDevice(DeviceKey(key), DeviceId(f"lock_{key}"), codes=codes)


def lock(key: str, caps: Capabilities = GENERIC, *codes: tuple[str, str]) -> LiveDevice:
    device_id = DeviceId(f"lock_{key}")
    live = tuple(
        LiveCode(AccessCodeId(f"ac_{key}_{i}"), device_id, name, pin)
        for i, (name, pin) in enumerate(codes)
    )
    return LiveDevice(Device(device_id, key, caps), codes=live)


def pins_of(devices: tuple[DesiredDevice, ...], label: str) -> dict[str, str | None]:
    return {d.key: c.code for d in devices for c in d.codes if c.holder and c.holder.label == label}


def test_a_generated_pin_is_valid_on_every_door_of_the_person() -> None:
    devices = [door("front", ALICE), door("garage", ALICE)]
    live = {
        d.device_id: lock(d.key, caps) for d, caps in zip(devices, (GENERIC, NUKI), strict=True)
    }
    for _ in range(50):
        result = assign_pins(devices, [ALICE], live, stored={})
        (pin,) = set(pins_of(result.devices, "Alice").values())
        assert (
            pin is not None and not pin_violations(pin, NUKI) and not pin_violations(pin, GENERIC)
        )
        assert result.keep == {"person:Alice": pin} and result.generated == {"person:Alice"}
        assert all(c.new_pin for d in result.devices for c in d.codes)


def test_a_kept_pin_is_reused_even_when_one_door_could_not_be_read() -> None:
    devices = [door("front", ALICE), door("garage", ALICE)]
    live = {DeviceId("lock_front"): lock("front")}  # garage: not read this time
    result = assign_pins(devices, [ALICE], live, stored={"person:Alice": "583920"})
    assert pins_of(result.devices, "Alice") == {"front": "583920", "garage": "583920"}
    assert result.keep == {} and result.generated == frozenset()


def test_a_lost_store_takes_the_pin_set_on_the_doors_it_can_read() -> None:
    devices = [door("front", ALICE), door("garage", ALICE)]
    live = {DeviceId("lock_front"): lock("front", GENERIC, ("Alice", "583920"))}
    result = assign_pins(devices, [ALICE], live, stored={})
    assert pins_of(result.devices, "Alice") == {"front": "583920", "garage": "583920"}
    assert result.keep == {"person:Alice": "583920"} and result.generated == frozenset()
    assert not any(c.new_pin for d in result.devices for c in d.codes)


def test_a_rotation_draws_a_pin_unlike_the_old_one_and_any_other_on_the_doors() -> None:
    devices = [door("front", ALICE, BOB)]
    live = {DeviceId("lock_front"): lock("front", GENERIC, ("Alice", "583920"), ("Bob", "740261"))}
    stored = {"person:Alice": "583920", "stay:unit-a/Bob": "740261"}
    digits = iter("583920" + "740261" + "961352")  # the old PIN, then Bob's, then a free one
    result = assign_pins(
        devices, [ALICE, BOB], live, stored=stored, rotations=frozenset({"person:Alice"}),
        choice=lambda alphabet: next(digits),
    )  # fmt: skip
    assert pins_of(result.devices, "Alice") == {"front": "961352"}
    assert pins_of(result.devices, "Bob") == {"front": "740261"}
    assert result.generated == {"person:Alice"}


def test_two_stays_on_a_shared_entrance_never_get_one_pin() -> None:
    devices = [door("entrance", ALICE, BOB), door("unit-a", BOB), door("unit-b", ALICE)]
    live = {d.device_id: lock(d.key) for d in devices}
    for _ in range(50):
        result = assign_pins(devices, [ALICE, BOB], live, stored={})
        alice, bob = pins_of(result.devices, "Alice"), pins_of(result.devices, "Bob")
        assert len(set(alice.values())) == len(set(bob.values())) == 1
        a, b = alice["entrance"], bob["entrance"]
        assert a and b and a != b and not a.startswith(b) and not b.startswith(a)


def test_lengths_that_do_not_meet_block_every_door_of_the_holder_with_the_reason() -> None:
    four = Capabilities(manufacturer="old", supported_code_lengths=(4,))
    eight = Capabilities(manufacturer="new", supported_code_lengths=(8,))
    devices = [door("shed", ALICE), door("gate", ALICE)]
    live = {DeviceId("lock_shed"): lock("shed", four), DeviceId("lock_gate"): lock("gate", eight)}
    result = assign_pins(devices, [ALICE], live, stored={})
    problems = {d.key: c.pin_problem for d in result.devices for c in d.codes}
    assert problems == {
        "shed": "no one PIN fits all doors of Alice (shed, gate): their lengths do not meet "
        "(shed: 4 digits; gate: 8 digits); set pin_per_door: true to let each door have its own",
        "gate": problems["shed"],
    }
    assert result.keep == {}


def test_a_kept_pin_a_new_door_cannot_take_blocks_only_that_door() -> None:
    devices = [door("front", ALICE), door("garage", ALICE)]
    live = {DeviceId("lock_front"): lock("front"), DeviceId("lock_garage"): lock("garage", NUKI)}
    result = assign_pins(devices, [ALICE], live, stored={"person:Alice": "583920"})
    problems = {d.key: c.pin_problem for d in result.devices for c in d.codes}
    assert problems["front"] is None
    assert problems["garage"] == (
        "Alice's PIN cannot go on garage: PIN must not contain 0 (no_zeros) "
        "(pin_per_door: true lets it differ)"
    )


def test_a_holder_with_a_pin_per_door_is_left_to_each_lock() -> None:
    alone = Holder("person:Alice", "Alice", "person", pin_per_door=True)
    devices = [door("front", alone), door("garage", alone)]
    live = {d.device_id: lock(d.key) for d in devices}
    result = assign_pins(devices, [alone], live, stored={})
    assert pins_of(result.devices, "Alice") == {"front": None, "garage": None}


def test_a_drawn_pin_the_policy_calls_weak_is_drawn_again() -> None:
    devices = [door("front", ALICE)]
    live = {d.device_id: lock(d.key) for d in devices}
    digits = iter("147258" + "583920")  # a common PIN first
    result = assign_pins(
        devices, [ALICE], live, stored={}, choice=lambda alphabet: next(digits),
        weak=lambda pin: pin == "147258",
    )  # fmt: skip
    assert pins_of(result.devices, "Alice") == {"front": "583920"}


def test_a_suggested_pin_is_used_when_every_door_takes_it_else_one_is_drawn() -> None:
    guest = Holder("stay:airbnb/HM1", "HM1", "stay", suggested_pin="7391")
    devices = [door("front", guest), door("flat", guest)]
    roomy = {d.device_id: lock(d.key) for d in devices}
    result = assign_pins(devices, [guest], roomy, stored={})
    assert pins_of(result.devices, "HM1") == {"front": "7391", "flat": "7391"}
    assert result.keep == {"stay:airbnb/HM1": "7391"} and result.generated == frozenset()

    six_only = {**roomy, DeviceId("lock_flat"): lock("flat", NUKI)}  # 4 digits do not fit
    fallback = assign_pins(devices, [guest], six_only, stored={})
    (pin,) = set(pins_of(fallback.devices, "HM1").values())
    assert pin is not None and len(pin) == 6 and fallback.generated == {"stay:airbnb/HM1"}

    weak = assign_pins(devices, [guest], roomy, stored={}, weak=lambda p: p == "7391")
    assert set(pins_of(weak.devices, "HM1").values()) != {"7391"}
