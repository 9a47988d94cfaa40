"""`accesscodes init DIR`: a starter config for the simulator, dated from today.

A demo dated by hand (the quickstart's guest arrives on 2026-12-01) shows nothing ahead once
that day is past. This one is written from the day it is run (or `--now`): a resident with an
ongoing code on two doors, a guest arriving tomorrow at 16:00 and leaving three days later at
11:00, and a weekly cleaner, so the first `plan` always shows codes created now and others
deferred to their lead time. The PINs are drawn here by the project's own rules
(`reconciler.core.rules`: valid on both simulated locks, none the start of another) until none
is weak by the default PIN policy, and written into the file: a simulator demo needs no set-up,
and the file says so at its top. Nothing printed ever holds a PIN.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.cli.commands import EXIT_OK
from reconciler.core.errors import UsageError
from reconciler.core.models import Capabilities

CONFIG_NAME = "accesscodes.yaml"
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DRAWS = 1000
# What both simulated doors (the August and Ultraloq profiles) ask of a PIN: 4-8 digits and no
# further constraint. `validate` checks the written PINs against the locks themselves.
DOORS = Capabilities()


@dataclass(frozen=True)
class Starter:
    """What the starter config holds: the zone, the guest's stay, the cleaner's day, the PINs."""

    zone: str
    today: date
    resident_pin: str
    guest_pin: str
    cleaner_pin: str

    @property
    def check_in(self) -> datetime:
        """Tomorrow at 16:00, local time (naive: the config's zone gives it its offset)."""
        tomorrow = self.today + timedelta(days=1)
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 16)

    @property
    def check_out(self) -> datetime:
        """Three days after check-in, at 11:00."""
        return (self.check_in + timedelta(days=3)).replace(hour=11)

    @property
    def cleaning_day(self) -> int:
        """The weekday of the guest's check-out (0 Monday): the cleaner comes after."""
        return self.check_out.weekday()


def local_zone(environ: Mapping[str, str] | None = None) -> str:
    """This machine's IANA zone (`TZ`, else /etc/timezone or /etc/localtime's link), else UTC:
    the doors of a demo are where the person trying it is."""
    env = os.environ if environ is None else environ
    candidates = [env.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    target = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in target:
        name = target.split("zoneinfo/", 1)[1]
        candidates.append(name.removeprefix("posix/").removeprefix("right/"))
    for name in candidates:
        if name and _is_zone(name):
            return name
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return not name.startswith("/")


def zone_argument(text: str) -> str:
    """`--timezone`: an IANA zone name, refused when unknown."""
    if not _is_zone(text):
        raise argparse.ArgumentTypeError(f"not an IANA time zone: {text!r}")
    return text


def draw_pins(count: int, lock: Capabilities = DOORS) -> list[str]:
    """`count` PINs the `lock` accepts, none weak by the default policy, none equal to or the
    start of another (a keypad opens as soon as a code matches)."""
    from reconciler.config.policy import is_weak, load_policy
    from reconciler.core.rules import generate_pin, pin_violations

    policy = load_policy(())
    taken: list[str] = []
    for _ in range(count):
        for _ in range(_DRAWS):
            pin = generate_pin(lock, taken=taken)
            if not is_weak(pin, policy) and not pin_violations(pin, lock, others=taken):
                taken.append(pin)
                break
        else:  # pragma: no cover - a million six-digit PINs leave room for three
            raise RuntimeError("could not draw PINs for the starter config")
    return taken


def starter_text(starter: Starter) -> str:
    """The YAML of the starter config, each part explained by its comments."""
    s = starter
    check_in, check_out = s.check_in.isoformat(), s.check_out.isoformat()
    return f"""\
# A starter config for accesscodes, written by `accesscodes init` on {s.today.isoformat()}:
# two doors of the embedded simulator, a resident, a guest arriving tomorrow, a weekly cleaner.
#
# The PINs below were drawn by `accesscodes init` (valid on both locks, not weak, none the
# start of another) and are written here in plain text because this is a simulator demo.
# In a real config write `code: ${{ALICE_PIN}}` (read from the environment): no PINs in git.
version: 1
provider:
  kind: sim                     # the embedded simulator; its locks live in .accesscodes/sim.json
  fleet:                        # the simulated locks by device_id, and whose rules each follows
    august_front: {{profile: august, name: Front door, timezone: {s.zone}}}
    ultraloq_back: {{profile: ultraloq, name: Back door, timezone: {s.zone}}}
settings:
  # the doors' zone: times written below without an offset are local time there
  timezone: {s.zone}
  horizon: 14d                  # how far ahead recurring schedules are planned
  prune: false                  # never delete a code this file lacks (true: clean up)
devices:
  front-door:                   # the name plans use for this door
    device_id: august_front
    codes:
      - name: Alice (resident)  # a code's name is its identity on the lock
        code: "{s.resident_pin}"
        # no starts_at/ends_at: an ongoing code
      - name: Guest Bob
        code: "{s.guest_pin}"
        starts_at: {check_in}   # check-in: tomorrow at 16:00
        ends_at: {check_out}     # check-out: three days later at 11:00
        # put on the lock by accesscodes 30 minutes before check-in rather than 72 h ahead
        # by the lock's own scheduling: the plan shows it deferred until then
        prefer_native_scheduling: false
  back-door:
    device_id: ultraloq_back    # this lock schedules nothing itself: codes go on 30 min ahead
    codes:
      - name: Alice (resident)  # one person: the same name and PIN on every door
        code: "{s.resident_pin}"
      - name: Guest Bob
        code: "{s.guest_pin}"
        starts_at: {check_in}
        ends_at: {check_out}
      - name: Cleaner           # a recurring code needs a PIN: the same one every week
        code: "{s.cleaner_pin}"
        # every {_DAY_NAMES[s.cleaning_day]}, 12:00-15:00 (this week: after the guest leaves)
        schedule: {{cron: "0 12 * * {_DAYS[s.cleaning_day]}", duration: 3h}}
"""


def init_command(args: argparse.Namespace) -> int:
    """Write the starter config into `args.dir` (refused over an existing config unless
    `--force`), then say what was written and what to run next."""
    target: Path = args.dir
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    found = target.iterdir() if target.is_dir() else ()
    existing = sorted(p.name for p in found if p.suffix in (".yaml", ".yml"))
    if existing and not args.force:
        raise UsageError(
            f"{target} already holds a config ({', '.join(existing)}); "
            "choose another folder, or --force to write accesscodes.yaml anyway"
        )
    from reconciler.state.privatefile import write_private

    zone = args.timezone or local_zone()
    now = args.now or datetime.now(UTC)
    pins = draw_pins(3)
    starter = Starter(zone, now.astimezone(ZoneInfo(zone)).date(), *pins)
    target.mkdir(parents=True, exist_ok=True)
    write_private(target / CONFIG_NAME, starter_text(starter))
    print(_summary(target, starter, args.now))
    return EXIT_OK


def _summary(target: Path, starter: Starter, now: datetime | None) -> str:
    """What was written (never a PIN) and the next commands, with `--now` if init had one."""
    config = shlex.quote(str(target))
    when = f" --now {now.isoformat()}" if now is not None else ""
    stay = f"{starter.check_in:%Y-%m-%d %H:%M} to {starter.check_out:%Y-%m-%d %H:%M}"
    return "\n".join(
        [
            f"Wrote {target / CONFIG_NAME}: a starter config for the simulator "
            f"({starter.zone}, dated {starter.today.isoformat()}).",
            "  front-door, back-door   two simulated locks (August, Ultraloq)",
            "  Alice (resident)        an ongoing code on both doors",
            f"  Guest Bob               both doors, {stay} {starter.zone}",
            f"  Cleaner                 back door, every {_DAY_NAMES[starter.cleaning_day]}"
            " 12:00-15:00",
            "The PINs are written in the file (a simulator demo); outputs show them as ****.",
            "",
            "Next:",
            f"  accesscodes plan -c {config}{when}",
            f"  accesscodes apply -c {config}{when} --auto-approve",
            f"  accesscodes timeline -c {config}{when}",
        ]
    )
