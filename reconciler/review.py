"""Reviewed-plan apply: apply exactly the plan a person saw, or nothing.

`plan --out FILE` saves the plan JSON (no PINs) with its checksum. `apply FILE` plans again and
refuses when the new plan is not the saved one: the locks or the config moved, a schedule
boundary was crossed (a deferred change fell due, a window opened or closed), or the saved plan
is older than `settings.plan_ttl`. The checksum covers PINs only through an HMAC with a shared
secret (`ACCESSCODES_PLAN_KEY`, else `SEAM_API_KEY`, else the journal key), so a PIN changed in
the config is caught too while the checksum itself reveals nothing.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.errors import PlanRefused, UsageError
from reconciler.plan import FORMAT_VERSION, Plan


def pin_key(state_dir: Path) -> bytes | None:
    """The secret that folds PINs into checksums; None when there is none to share."""
    for name in ("ACCESSCODES_PLAN_KEY", "SEAM_API_KEY"):
        if os.environ.get(name):
            return os.environ[name].encode()
    key_file = state_dir / "journal.key"
    return key_file.read_bytes() if key_file.exists() else None


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
    """Refuse unless `fresh` (planned now) is the plan that was saved and reviewed."""
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
        moved = _differences(saved, fresh)
        detail = f" ({'; '.join(moved)})" if moved else ""
        raise PlanRefused(
            "the locks or the config changed since the plan was saved: the plan now differs "
            f"from the reviewed one{detail}; plan again"
        )


def _differences(saved: dict[str, Any], fresh: Plan) -> list[str]:
    def keyed(changes: list[dict[str, Any]]) -> dict[tuple[str, str, Any], str]:
        return {(c["device"], c["name"], c.get("occurrence")): c["action"] for c in changes}

    before = keyed(saved.get("changes", []))
    after = keyed(fresh.to_data()["changes"])
    out = []
    for key in sorted(set(before) | set(after), key=str):
        if before.get(key) != after.get(key):
            out.append(f"{key[0]} / {key[1]}: {before.get(key, 'none')} → {after.get(key, 'none')}")
    return out[:5]


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"
