"""What a config change does to the desired state: who may open which door, and when.

A pull request's plan says what would be written to the locks now; a reviewer also wants to
know what the edit itself means ("Carol gets the front door for her stay, Bob stays a day
longer, the cleaner loses the back door"), deferred codes and all. The GitHub Action loads the
config at the pull request's base commit (`load_config_at`: `git archive` of the config's
folder into a temporary one) and as checked out, turns each into a plain outline
`{door: {code name: {window, schedule, flags, "code": digest}}}` (`outline`), and
`changed_lines` renders `deepdiff.DeepDiff` of the two as a few lines:

    + Guest Carol on front-door 2026-12-10 16:00 -> 2026-12-12 11:00
    ~ Guest Bob on front-door: ends_at 2026-12-04 11:00 -> 2026-12-05 11:00
    - Cleaner on back-door

A PIN is only ever a keyed digest in the outline (a key made for the one comparison), shown as
"PIN changed"; times are shown as written (no offset: the door's zone). deepdiff is imported
inside the function that needs it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.config.load import Config, load_config
from reconciler.core.errors import ConfigError
from reconciler.core.models import DesiredCode
from reconciler.core.settings import format_duration

Outline = dict[str, dict[str, dict[str, Any]]]
COMMIT = re.compile(r"[0-9a-f]{7,64}")
GIT_TIMEOUT = 60  # seconds for one git command: an archive of a config folder is small
FLAGS = (("offline", "offline"), ("one_time_use", "one-time"), ("protected", "protected"))
SHOWN_LINES = 20  # lines in a pull request's comment; the rest are counted
LINE_CHARS = 200  # a longer line (a long code name) is cut


class BaseUnavailable(Exception):
    """The config at the base commit cannot be had; the message says why, in one line."""


def outline(config: Config, key: bytes) -> Outline:
    """The desired state as plain values, per door and code name; `code` is an HMAC of the
    PIN with `key` (or `generated`), so two outlines show a PIN change but hold no PIN."""
    return {
        device.key: {code.name: _code(code, key) for code in device.codes}
        for device in config.devices
    }


def _code(code: DesiredCode, key: bytes) -> dict[str, Any]:
    pin = code.code
    digest = hmac.new(key, pin.encode(), hashlib.sha256).hexdigest() if pin else "generated"
    schedule = None
    if code.schedule is not None:
        schedule = {
            "cron": code.schedule.cron,
            "duration": format_duration(code.schedule.duration),
            "timezone": code.schedule.timezone,
        }
    return {
        "code": digest,
        "starts_at": _when(code.starts_at),
        "ends_at": _when(code.ends_at),
        "schedule": schedule,
        "offline": code.offline,
        "one_time_use": code.one_time_use,
        "protected": code.protected,
        "revoke": code.revoke,
        "prefer_native_scheduling": code.prefer_native_scheduling,
    }


def _when(moment: datetime | None) -> str | None:
    """`2026-12-04 11:00` as written (seconds and an offset only when given)."""
    if moment is None:
        return None
    text = moment.strftime("%Y-%m-%d %H:%M" + (":%S" if moment.second else ""))
    offset = moment.strftime("%z")
    if not offset:
        return text
    return text + (" UTC" if offset == "+0000" else f" {offset[:3]}:{offset[3:]}")


def changed_lines(base: Outline, head: Outline) -> list[str]:
    """`+` for a code the change adds, `-` for one it removes, `~` with what moved for one it
    changes; in the order of the doors and codes in the config (the head's, then the base's)."""
    from deepdiff import DeepDiff

    tree = DeepDiff(base, head, view="tree", threshold_to_diff_deeper=0)
    moved: dict[tuple[str, str], list[str]] = {}
    for level in (level for levels in tree.values() for level in levels):
        path = level.path(output_format="list")
        door = str(path[0])
        if len(path) == 1:
            names = head.get(door) or base.get(door) or {}
            for name in names:
                moved.setdefault((door, name), [])
        elif len(path) == 2:
            moved.setdefault((door, str(path[1])), [])
        else:
            what = _field_change(path[2:], base[door][path[1]], head[door][path[1]])
            moved.setdefault((door, str(path[1])), []).append(what)
    order = _order(head, base)
    return [
        _line(door, name, base, head, fields)
        for (door, name), fields in sorted(moved.items(), key=lambda item: order[item[0]])
    ]


def _order(*outlines: Outline) -> dict[tuple[str, str], int]:
    order: dict[tuple[str, str], int] = {}
    for each in outlines:
        for door, codes in each.items():
            for name in codes:
                order.setdefault((door, name), len(order))
    return order


def _line(door: str, name: str, base: Outline, head: Outline, fields: list[str]) -> str:
    was, now = base.get(door, {}).get(name), head.get(door, {}).get(name)
    if was is None and now is not None:
        return f"+ {name} on {door}{_window(now)}"
    if now is None:
        return f"- {name} on {door}"
    return f"~ {name} on {door}: {', '.join(dict.fromkeys(fields))}"


def _field_change(path: list[Any], was: dict[str, Any], now: dict[str, Any]) -> str:
    field = str(path[0])
    if field == "code":
        return "PIN changed"
    if field == "schedule" and len(path) > 1 and was["schedule"] and now["schedule"]:
        part = str(path[1])
        old, new = was["schedule"][part], now["schedule"][part]
        return f"schedule.{part} {_shown(old)} -> {_shown(new)}"
    return f"{field} {_shown(was[field])} -> {_shown(now[field])}"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):  # a schedule
        zone = f" ({value['timezone']})" if value.get("timezone") else ""
        return f"{value['cron']} for {value['duration']}{zone}"
    return str(value)


def _window(code: Mapping[str, Any]) -> str:
    """How a new code's window reads after its name (nothing for an always-valid code)."""
    starts, ends, schedule = code["starts_at"], code["ends_at"], code["schedule"]
    if schedule:
        text = f" schedule {_shown(schedule)}"
    elif starts and ends:
        text = f" {starts} -> {ends}"
    elif starts:
        text = f" from {starts}"
    elif ends:
        text = f" until {ends}"
    else:
        text = ""
    flags = [word for field, word in FLAGS if code[field]] + (["revoke"] if code["revoke"] else [])
    return text + (f" ({', '.join(flags)})" if flags else "")


# -- the config at a commit ----------------------------------------------------------------


def load_config_at(commit: str, config: Path, *, scratch: Path) -> Config:
    """The config at `commit` of the git repository holding `config` (a file or folder, as
    `-c` takes it), extracted under `scratch` with its folder (policies live there). Raises
    `BaseUnavailable` saying why when git, the commit or the config is not there, or the
    config is not valid at that commit."""
    if not COMMIT.fullmatch(commit):
        raise BaseUnavailable(f"the base commit {commit[:40]!r} is not a commit id")
    try:
        top = Path(
            _git(config if config.is_dir() else config.parent, "rev-parse", "--show-toplevel")
        )
    except BaseUnavailable as exc:
        raise BaseUnavailable(f"the config is not in a git checkout here ({exc})") from None
    try:
        relative = config.resolve().relative_to(top.resolve())
    except ValueError:
        raise BaseUnavailable(f"{config} is not inside the git repository {top}") from None
    short = commit[:7]
    try:
        _git(top, "cat-file", "-e", f"{commit}^{{commit}}")
    except BaseUnavailable:
        raise BaseUnavailable(
            f"the base commit {short} is not in this checkout (actions/checkout with "
            "fetch-depth: 0 brings it)"
        ) from None
    folder = relative if config.is_dir() else relative.parent
    archive = scratch / "base.tar"
    spec = [] if str(folder) == "." else ["--", str(folder)]
    try:
        _git(top, "archive", "--format=tar", f"--output={archive}", commit, *spec)
    except BaseUnavailable:
        raise BaseUnavailable(f"{_named(relative)} is not in the base commit {short}") from None
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(scratch / "base", filter="data")
        else:  # a tree git made from the repository: no absolute or `..` paths
            tar.extractall(scratch / "base")
    at_base = scratch / "base" / relative
    present = at_base.is_dir() and any(p.suffix in (".yaml", ".yml") for p in at_base.iterdir())
    if not (present or at_base.is_file()):
        raise BaseUnavailable(f"{_named(relative)} is not in the base commit {short}")
    try:
        return load_config(at_base)
    except ConfigError as exc:
        count = len(exc.problems)
        raise BaseUnavailable(
            f"the config at the base commit {short} is not valid "
            f"({count} problem{'s' if count != 1 else ''})"
        ) from None


def _named(relative: Path) -> str:
    return "the config" if str(relative) == "." else f"`{relative}`"


def _git(where: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BaseUnavailable(f"git could not be run ({type(exc).__name__})") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise BaseUnavailable(f"git {args[0]}: {first[:160]}")
    return done.stdout.strip()


def markdown(base: str, config: Path) -> str:
    """What the change from `base` (a commit id, or `origin/<branch>`) to the checkout does
    to the desired state, as a markdown paragraph and a `diff` block of `changed_lines` (at
    most SHOWN_LINES). Raises `BaseUnavailable` when the base cannot be loaded, and
    `ConfigError` when the checkout's config is not valid (the plan says so already)."""
    commit = resolve(base, config)
    head = load_config(config)
    key = secrets.token_bytes(32)  # for this comparison only: the digests are never shown
    with tempfile.TemporaryDirectory(prefix="accesscodes-base-") as scratch:
        at_base = load_config_at(commit, config, scratch=Path(scratch))
    lines = changed_lines(outline(at_base, key), outline(head, key))
    against = f"Against the base commit `{commit[:7]}`"
    if not lines:
        return f"{against}: no code added, removed or changed.\n\n"
    counts = {mark: sum(line.startswith(mark) for line in lines) for mark in "+-~"}
    shown = [line[:LINE_CHARS] for line in lines[:SHOWN_LINES]]
    if len(lines) > SHOWN_LINES:
        shown.append(f"... and {len(lines) - SHOWN_LINES} more")
    body = "\n".join(shown)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", body)), default=0))
    added = f"{counts['+']} code{'s' if counts['+'] != 1 else ''} added"
    return (
        f"{against}: {added}, {counts['-']} removed, {counts['~']} changed.\n\n"
        f"{fence}diff\n{body}\n{fence}\n\n"
    )


def resolve(base: str, config: Path) -> str:
    """`base` as a commit id: `origin/<branch>` (from `GITHUB_BASE_REF`) is looked up in the
    checkout; a commit id is taken as it is."""
    if COMMIT.fullmatch(base) or not base.startswith("origin/"):
        return base
    where = config if config.is_dir() else config.parent
    try:
        return _git(where, "rev-parse", "--verify", f"refs/remotes/{base}^{{commit}}")
    except BaseUnavailable:
        raise BaseUnavailable(
            f"the base branch {base} is not in this checkout (actions/checkout with "
            "fetch-depth: 0 brings it)"
        ) from None
