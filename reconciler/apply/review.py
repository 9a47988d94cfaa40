"""Reviewed-plan apply: apply exactly the plan a person saw, or nothing.

`plan --out FILE` saves the plan JSON (no PINs) with its checksum and a seal. `apply FILE` plans
again and refuses when the new plan is not the saved one: the locks or the config moved, a
schedule boundary was crossed (a deferred change fell due, a window opened or closed), or the
saved plan is older than `settings.plan_ttl`. The checksum covers PINs only through an HMAC with
a shared secret, the plan key (`ACCESSCODES_PLAN_KEY`, else `SEAM_API_KEY`, else the journal
key: `ACCESSCODES_JOURNAL_KEY` or `journal.key`), so a PIN changed in the config is caught too
while the checksum itself reveals nothing.

The checksum covers the plan's content only, not its `now`: the GitHub Action compares a pull
request's checksum with a later re-plan. So the file also carries a `seal`, an HMAC-SHA256
(`hmac-sha256:<hex>`) with the plan key over the canonical JSON (sorted keys, compact) of every
other field of the file. `apply FILE` checks the seal before it trusts the file: a file without one
(not written by `plan --out`, or by an older version) or whose seal does not match (edited
after it was written, e.g. a `now` moved forward to dodge the TTL or the schedule checks) is
refused. Only then are its `now` (for the TTL) and its checksum trusted. `plan --out` creates
the journal key when there is no plan key yet, so every plan file is sealed.

Refusals say what moved (plandiff.py): a stale plan names each code and field that differs
from the plan made now (`front-door / Guest Bob: after.ends_at A -> B`, or that only a PIN
changed); an edited file names the first field that differs from the plan made now. That needs
the fresh plan, so `check_seal` refuses a file without a seal (or without a key to check it)
at once, before the locks are read, and a seal that does not match is refused by
`check_saved`, first thing, before the file's `now` or checksum is looked at; both run before
anything is applied.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.apply.plandiff import capped, first_edit, moved_since_review, order_moved
from reconciler.core.errors import PlanRefused, UsageError
from reconciler.core.plan import FORMAT_VERSION, Plan

SEAL_PREFIX = "hmac-sha256:"
KEY_SOURCES = "ACCESSCODES_PLAN_KEY, SEAM_API_KEY, ACCESSCODES_JOURNAL_KEY or journal.key"


def pin_key(state_dir: Path) -> bytes | None:
    """The plan key, which folds PINs into checksums and seals plan files; None when there is
    none to share yet (never created here: a plan reads but does not write)."""
    for name in ("ACCESSCODES_PLAN_KEY", "SEAM_API_KEY", "ACCESSCODES_JOURNAL_KEY"):
        if os.environ.get(name):
            return os.environ[name].encode()
    key_file = state_dir / "journal.key"
    return key_file.read_bytes() if key_file.exists() else None


def sealing_key(state_dir: Path) -> bytes:
    """The plan key for writing a plan file: the journal key is created when there is no key
    yet, so a saved plan is always sealed (and `apply FILE` finds the same key)."""
    from reconciler.state.journal import load_key

    return pin_key(state_dir) or load_key(state_dir / "journal.key")


def seal(data: dict[str, Any], key: bytes) -> str:
    """The seal of a plan file's fields: an HMAC over their canonical JSON, so no field (its
    `now` above all) can be edited without the plan key."""
    body = {name: value for name, value in data.items() if name != "seal"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return SEAL_PREFIX + hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def sealed(data: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The plan data with its `seal` field, as `plan --out` writes it."""
    return {**data, "seal": seal(data, key)}


def check_seal(saved: dict[str, Any], path: Path, key: bytes | None) -> None:
    """Refuse a plan file that `plan --out` did not write, or whose seal cannot be checked
    here. A seal that does not match is refused by `check_saved`, which has the plan made now
    to name the field that was edited."""
    given = saved.get("seal")
    if not isinstance(given, str) or not given.startswith(SEAL_PREFIX):
        raise PlanRefused(
            f"{path} has no seal: not written by `plan --out`, or written by an older version: "
            "plan again"
        )
    if key is None:
        raise PlanRefused(
            f"cannot check the seal of {path}: no plan key ({KEY_SOURCES}) here; "
            "apply where the plan was made, or plan again"
        )


def refuse_if_edited(saved: dict[str, Any], fresh: Plan) -> None:
    """Refuse a plan file whose seal does not match, naming the first field where it differs
    from the plan made now (its `now`, checksum and seal left out: they differ anyway). With
    no such field, the seal alone says it: edited there, or sealed with another plan key."""
    given = saved.get("seal")
    if not isinstance(given, str) or fresh.pin_key is None:
        return  # `check_seal` refused the file already: no seal, or no key to check it
    if hmac.compare_digest(given, seal(saved, fresh.pin_key)):
        return
    edited = first_edit(saved, fresh.to_data(), skip=("now", "checksum", "seal"))
    if edited is not None:
        raise PlanRefused(
            f"the plan file was edited after it was written (its seal does not match): "
            f"{edited}; plan again"
        )
    raise PlanRefused(
        "the plan file was edited after it was written, or it was sealed with another plan "
        "key: its seal does not match, and no field but its now and checksum differs from "
        "the plan made now; plan again"
    )


def read_saved(path: Path) -> dict[str, Any]:
    """A plan file written by `plan --out`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read plan file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not a plan file (not JSON)") from exc
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"{path} is not a plan file of format_version {FORMAT_VERSION}")
    if not str(data.get("checksum", "")).startswith("sha256:"):
        raise UsageError(f"{path} has no checksum")
    return data


def check_saved(saved: dict[str, Any], fresh: Plan, *, ttl: timedelta) -> None:
    """Refuse unless `fresh` (planned now) is the plan that was saved and reviewed. `saved`
    must have passed `check_seal`; its seal is matched first (`refuse_if_edited`), and only
    then is its `now` trusted."""
    refuse_if_edited(saved, fresh)
    planned_at = datetime.fromisoformat(str(saved["now"]).replace("Z", "+00:00"))
    age = fresh.now - planned_at
    if age > ttl:
        raise PlanRefused(
            f"the saved plan is {_hours(age)} old, older than settings.plan_ttl ({_hours(ttl)}): "
            "plan again and review it"
        )
    for change in saved.get("changes", []):
        due = change.get("due_at")
        if due and datetime.fromisoformat(due.replace("Z", "+00:00")) <= fresh.now:
            raise PlanRefused(
                f"a schedule boundary was crossed since the plan was saved "
                f"({change['device']} / {change['name']} fell due at {due}): plan again"
            )
    if saved["checksum"] != fresh.checksum:
        moved = "; ".join(capped(_differences(saved, fresh)))
        raise PlanRefused(
            "the locks or the config changed since the plan was saved: the plan now differs "
            f"from the reviewed one ({moved}); plan again"
        )


def _differences(saved: dict[str, Any], fresh: Plan) -> list[str]:
    """What moved since review, field by field; when no field did, the checksum's keyed
    digest of the PINs did: a PIN changed (the plan holds none, so it cannot say whose)."""
    data = fresh.to_data()
    moved = moved_since_review(saved, data)
    if moved:
        return moved
    if order_moved(saved, data):
        return ["the same changes, in another order"]
    return ["the PIN changed: no field of the plan differs, only its checksum"]


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"
