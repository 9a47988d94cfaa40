"""What a lock accepts: PIN and name checks per device, and PIN generation that passes them.

The planner runs these before any write, so a PIN the lock would reject is refused at plan time
with the config line, rather than failing on the lock. Generated PINs satisfy every constraint
the device lists, plus our own floor (no single repeated digit, no straight sequence), and never
equal or prefix another PIN on the same lock, since keypads accept a code as soon as it matches.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Collection, Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from reconciler.core.models import Capabilities, CodeSpec

_MAX_GENERATION_TRIES = 10_000


def is_straight_sequence(pin: str) -> bool:
    """1234 or 9876: the first PINs a stranger tries."""
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    return len(pin) > 1 and steps in ({1}, {-1})


def _has_triple_consecutive(pin: str) -> bool:
    for i in range(len(pin) - 2):
        a, b, c = (int(d) for d in pin[i : i + 3])
        if b - a == c - b and abs(b - a) == 1:
            return True
    return False


_PIN_CONSTRAINTS: dict[str, tuple[Callable[[str], bool], str]] = {
    "no_zeros": (lambda p: "0" not in p, "must not contain 0"),
    "cannot_start_with_12": (lambda p: not p.startswith("12"), "must not start with 12"),
    "no_triple_consecutive_ints": (
        lambda p: not _has_triple_consecutive(p),
        "must not contain three consecutive digits (123, 321)",
    ),
    "no_ascending_or_descending_sequence": (
        lambda p: not is_straight_sequence(p),
        "must not be an ascending or descending sequence",
    ),
    "at_least_three_unique_digits": (
        lambda p: len(set(p)) >= 3,
        "must have at least three different digits",
    ),
    "cannot_contain_089": (lambda p: not set(p) & set("089"), "must not contain 0, 8 or 9"),
    "cannot_contain_0789": (lambda p: not set(p) & set("0789"), "must not contain 0, 7, 8 or 9"),
    "no_all_same_digits": (lambda p: len(set(p)) > 1, "must not be one digit repeated"),
}


def pin_violations(
    pin: str, capabilities: Capabilities, *, others: Collection[str] = ()
) -> list[str]:
    """Every reason this device would refuse `pin`; `others` are the lock's other PINs."""
    problems = []
    if not pin.isdigit():
        problems.append("a PIN must be digits only")
    lengths = capabilities.supported_code_lengths
    if lengths and len(pin) not in lengths:
        problems.append(
            f"{capabilities.manufacturer} locks take PINs of {_describe_lengths(lengths)} digits, "
            f"not {len(pin)}"
        )
    if capabilities.has_constraint("cannot_specify_pin_code"):
        problems.append(f"{capabilities.manufacturer} locks choose their own PINs: remove code")
    for constraint in capabilities.code_constraints:
        check = _PIN_CONSTRAINTS.get(constraint.kind)
        if check is not None and pin.isdigit() and not check[0](pin):
            problems.append(f"PIN {check[1]} ({constraint.kind})")
    if capabilities.has_constraint("unique_first_four_digits") and any(
        other[:4] == pin[:4] for other in others
    ):
        problems.append("PIN must not share its first four digits with another code on this lock")
    if pin in others:
        problems.append("another code on this lock has the same PIN")
    return problems


def name_violations(
    name: str, capabilities: Capabilities, *, others: Collection[str] = ()
) -> list[str]:
    """Every reason this device would refuse a code called `name`."""
    problems = []
    for constraint in capabilities.code_constraints:
        if constraint.kind == "name_length":
            if constraint.min_length is not None and len(name) < constraint.min_length:
                problems.append(f"name must be at least {constraint.min_length} characters")
            if constraint.max_length is not None and len(name) > constraint.max_length:
                problems.append(f"name must be at most {constraint.max_length} characters")
        if constraint.kind == "name_must_be_unique" and name in others:
            problems.append("another code on this lock has the same name")
    return problems


def _describe_lengths(lengths: Iterable[int]) -> str:
    ordered = sorted(set(lengths))
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered))


def preferred_length(capabilities: Capabilities) -> int:
    """Six digits where the lock allows it: a million choices, still easy to type."""
    lengths = sorted(capabilities.supported_code_lengths) or [6]
    if 6 in lengths:
        return 6
    longer = [n for n in lengths if n > 6]
    return longer[0] if longer else lengths[-1]


def generate_pin(
    capabilities: Capabilities,
    *,
    taken: Collection[str] = (),
    choice: Callable[[str], str] = secrets.choice,
) -> str:
    """A random PIN this device accepts that neither equals nor prefixes another on it."""
    length = preferred_length(capabilities)
    alphabet = "0123456789"
    for kind, banned in (
        ("no_zeros", "0"),
        ("cannot_contain_089", "089"),
        ("cannot_contain_0789", "0789"),
    ):
        if capabilities.has_constraint(kind):
            alphabet = "".join(d for d in alphabet if d not in banned)
    for _ in range(_MAX_GENERATION_TRIES):
        pin = "".join(choice(alphabet) for _ in range(length))
        if len(set(pin)) < 3 or is_straight_sequence(pin):
            continue
        if any(pin.startswith(t) or t.startswith(pin) for t in taken):
            continue
        if not pin_violations(pin, capabilities, others=taken):
            return pin
    raise RuntimeError("could not generate a PIN that satisfies the lock's constraints")


def offline_rounding(spec: CodeSpec, zone: ZoneInfo) -> str:
    """`1d` (daily-bound) when an offline code starts and ends at the same local time of day,
    else `1h` (hourly-bound): the seed documents' rule."""
    if spec.starts_at is None or spec.ends_at is None:
        return "1h"
    start, end = spec.starts_at.astimezone(zone), spec.ends_at.astimezone(zone)
    return "1d" if start.time() == end.time() else "1h"


def spec_violations(spec: CodeSpec, capabilities: Capabilities, zone: ZoneInfo) -> list[str]:
    """Every reason this device would refuse a code of this kind and window, PIN aside."""
    caps, maker = capabilities, capabilities.manufacturer
    problems = []
    if spec.offline and not caps.offline_codes:
        problems.append(f"{maker} locks do not support offline codes")
    if spec.one_time_use and not caps.one_time_codes:
        problems.append(f"{maker} locks do not support one-time codes")
    if not spec.offline and not caps.online_codes:
        problems.append(f"{maker} locks take only offline codes: add offline: true")
    if spec.ends_at is not None and caps.time_bound_needs_timezone and not caps.timezone:
        problems.append("Time zone required for time-bound access codes on Ultraloq devices")
    if spec.offline and not spec.one_time_use and spec.starts_at and spec.ends_at:
        problems += _offline_window_violations(spec, caps, zone)
    return problems


def _offline_window_violations(spec: CodeSpec, caps: Capabilities, zone: ZoneInfo) -> list[str]:
    assert spec.starts_at is not None and spec.ends_at is not None
    span = spec.ends_at - spec.starts_at
    maker = caps.manufacturer
    problems = []
    if caps.offline_max_days is not None and span > timedelta(days=caps.offline_max_days):
        problems.append(f"{maker} offline codes last at most {caps.offline_max_days} days")
    if offline_rounding(spec, zone) == "1d":
        if caps.offline_daily_days is not None:
            low, high = caps.offline_daily_days
            if not timedelta(days=low) <= span <= timedelta(days=high):
                problems.append(
                    f"{maker} daily-bound offline codes last {low}-{high} days "
                    "(same start and end time of day)"
                )
    elif caps.offline_hourly_max_hours is not None and span > timedelta(
        hours=caps.offline_hourly_max_hours
    ):
        problems.append(
            f"{maker} hourly-bound offline codes last at most {caps.offline_hourly_max_hours} h; "
            "for longer, start and end at the same time of day (daily-bound)"
        )
    return problems
