"""Run-wide settings (`settings:` in the config), each with its unit and why its default.

Kept as one frozen dataclass so the planner, applier and controller receive them explicitly
instead of reaching for globals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

DURATION_PATTERN = r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """Read `14d`, `4h`, `1h30m`: the compact form config files use for spans of time."""
    if not text or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 4h, 1h30m, 14d)")
    parts = re.findall(r"(\d+)([wdhms])", text)
    return timedelta(**{_UNITS[unit]: int(n) for n, unit in parts})


def calendar_days(text: str) -> int:
    """The whole days (a week is 7) written in a duration: RFC 5545 counts them on the
    calendar (same wall time), and the hours, minutes and seconds as elapsed time, so `24h`
    is 24 real hours while `1d` is the next day at the same time."""
    return sum(int(n) * (7 if unit == "w" else 1) for n, unit in re.findall(r"(\d+)([wd])", text))


def format_duration(span: timedelta) -> str:
    """The inverse of `parse_duration`, for messages and plans."""
    seconds = int(span.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"


# Where the state lives when not in the SQLite file beside the config (`--state URL`).
STATE_ENV = "ACCESSCODES_STATE"


@dataclass(frozen=True)
class Settings:
    """How a plan is made and applied.

    - `timezone`: zone for times written without an offset when neither the device entry nor
      the provider names one. UTC by default: it never shifts with DST, so a mistake is visible.
    - `horizon`: how far ahead recurring schedules are expanded. 14 days covers two weekly
      occurrences and the 72 h native-scheduling lead with room to spare.
    - `prune`: delete managed codes on listed devices that the config lacks. Off by default
      (octoDNS's lesson): deleting a code can lock a person out.
    - `max_deletes` / `max_deletes_per_device`: a plan deleting more refuses to apply without
      `--force`. A lock holds a handful of codes, so the numbers are absolute, not percentages.
    - `concurrency`: devices read or written at once (two requests each when reading). From the
      default of 32 up, the Seam client starts with twice as many requests in flight and grows
      to 256 while the API's latency holds (halved on a 429, a 5xx or a timeout): 1,000 locks
      plan in about 2 s at 100 ms a request (bench/). A smaller value is kept exactly.
    - `native_lead` / `jit_lead`: how long before `starts_at` a time-bound code is programmed on
      a lock that schedules natively (72 h, Seam's preload) and on one that does not (30 min,
      the seed documents' figure; Seam's current docs say 60 min).
    - `send_at_lead_time`: hold a time-bound code back until its lead time (default), or send
      it at once and let the provider schedule it (`send_codes: at_once`). Holding back keeps
      the plan equal to what is on the lock and frees slots until they are needed.
    - `state_db`: the journal (SQLite), relative to the config's folder.
    - `self_heal`: what the controller does about drift: `restore` (recreate missing or failed
      codes, fix changed PINs, never delete: the safe default), `full` (also delete extraneous
      codes, within the delete guards), `report` (change nothing).
    - `webhook_url`: where the controller POSTs a JSON message (Slack-compatible `text`) when
      new drift appears or a change fails; `${VAR}` keeps a secret URL out of the file. It is
      a secret (it usually embeds a token): out of the repr, like PINs.
    - `plan_ttl`: how old a saved plan may be when `apply FILE` runs it (24 h: a review
      usually lands the same day; older plans are re-made and reviewed again).
    - `backup_codes`: on locks with a backup pool (seed 001), create codes with the pool on
      and pull a backup code when a stay's code fails to set before check-in. Off by default:
      a backup code is a second PIN the guest must be told.
    """

    timezone: str = "UTC"
    horizon: timedelta = timedelta(days=14)
    prune: bool = False
    max_deletes: int = 10
    max_deletes_per_device: int | None = None
    concurrency: int = 32
    native_lead: timedelta = timedelta(hours=72)
    jit_lead: timedelta = timedelta(minutes=30)
    send_at_lead_time: bool = True
    state_db: str = ".accesscodes/state.db"
    plan_ttl: timedelta = timedelta(hours=24)
    self_heal: str = "restore"
    webhook_url: str | None = field(default=None, repr=False)  # often holds a token
    policies: tuple[str, ...] = field(default=())
    backup_codes: bool = False
