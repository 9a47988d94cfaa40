"""Per-device PIN rules and generation."""

from __future__ import annotations

import random

from reconciler.core.models import Capabilities, CodeConstraint
from reconciler.core.rules import generate_pin, name_violations, pin_violations


def caps(*kinds: str, lengths: tuple[int, ...] = (4, 5, 6, 7, 8)) -> Capabilities:
    return Capabilities(
        supported_code_lengths=lengths, code_constraints=tuple(CodeConstraint(k) for k in kinds)
    )


def test_length_outside_the_supported_range_is_refused() -> None:
    assert pin_violations("123", caps()) == ["generic locks take PINs of 4-8 digits, not 3"]
    assert pin_violations("48291", caps()) == []


def test_each_constraint_is_enforced() -> None:
    cases = {
        "no_zeros": ("4029", "4829"),
        "cannot_start_with_12": ("1248", "2148"),
        "no_triple_consecutive_ints": ("41238", "41328"),
        "no_ascending_or_descending_sequence": ("4321", "4312"),
        "at_least_three_unique_digits": ("4455", "4456"),
        "cannot_contain_089": ("4819", "4615"),
        "cannot_contain_0789": ("4716", "4615"),
        "no_all_same_digits": ("7777", "7778"),
    }
    for kind, (bad, good) in cases.items():
        assert pin_violations(bad, caps(kind)), kind
        assert not pin_violations(good, caps(kind)), kind


def test_a_pin_already_on_the_lock_is_refused() -> None:
    assert pin_violations("4829", caps(), others=["4829"])


def test_name_length_constraint() -> None:
    c = Capabilities(code_constraints=(CodeConstraint("name_length", max_length=9),))
    assert name_violations("A long guest name", c)
    assert not name_violations("Guest", c)


def test_generated_pins_satisfy_every_constraint_and_avoid_prefixes() -> None:
    rng = random.Random(7)
    strict = caps(
        "no_zeros",
        "cannot_start_with_12",
        "no_all_same_digits",
        "at_least_three_unique_digits",
        lengths=(6,),
    )
    taken = {"345", "918273"}
    for _ in range(200):
        pin = generate_pin(strict, taken=taken, choice=rng.choice)
        assert not pin_violations(pin, strict, others=taken)
        assert not any(pin.startswith(t) or t.startswith(pin) for t in taken)
