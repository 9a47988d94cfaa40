"""The plan JSON written by orjson, piece by piece, is the text `json.dumps` wrote before.

`plan --format json` streams the plan (`render.json_pieces`) and the checksum is fed to
SHA-256 as the changes are encoded (`core.plandigest.Digest`); both must give, byte for byte, what
`json.dumps(plan.to_data(), indent=2)` and the canonical `json.dumps(body, sort_keys=True,
separators=(",", ":"))` gave: scripts read the text, and reviewed plans are matched by the
checksum. The reference below is the code these replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.cli import render
from reconciler.core import plan as plan_module
from reconciler.core import plandigest
from reconciler.core.models import AccessCodeId, DeviceId, DeviceKey, SourceRef
from reconciler.core.plan import Action, Change, CodeState, Drift, DriftKind, Plan

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def reference_checksum(plan: Plan) -> str:
    body: dict[str, Any] = {
        "changes": [c.to_data(show_codes=False) for c in plan.changes],
        "drift": [d.to_data() for d in plan.drift],
    }
    if plan.pin_key:
        pins = [[plandigest.pin_text(state) for state in (c.before, c.after)] for c in plan.changes]
        body["pins"] = hmac.new(plan.pin_key, json.dumps(pins).encode(), hashlib.sha256).hexdigest()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def reference_data(plan: Plan, *, show_codes: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format_version": 1,
        "now": plan_module.iso(plan.now),
        "changes": [c.to_data(show_codes=show_codes) for c in plan.changes],
        "drift": [d.to_data() for d in plan.drift],
        "summary": plan.summary,
    }
    if plan.warnings:
        data["warnings"] = list(plan.warnings)
    data["checksum"] = reference_checksum(plan)
    return data


def change(index: int, name: str, *, action: Action = Action.NOOP, pin: str = "482913") -> Change:
    live = CodeState(pin, None, None, status="set")
    wanted = CodeState(pin, NOW, NOW + timedelta(days=3), new_pin=index % 7 == 3)
    return Change(
        action=action,
        device=DeviceKey(f"door-{index % 13}"),
        device_id=DeviceId(f"lock_{index % 13}"),
        name=name,
        reasons=(f"reason {name}",) if index % 2 else (),
        access_code_id=AccessCodeId(f"ac_{index}") if index % 3 else None,
        due_at=NOW + timedelta(hours=index) if index % 5 == 0 else None,
        before=live if index % 4 else None,
        after=wanted if index % 4 != 1 else None,
        changed=("code",) if action is Action.UPDATE else (),
        warnings=(f"warn {name}",) if index % 11 == 0 else (),
        occurrence=NOW if index % 6 == 0 else None,
        timezone="Europe/Lisbon",
        source=SourceRef("accesscodes.yaml", index + 1, 7) if index % 2 else None,
        holder=name if index % 9 == 0 else None,
        renamed_from="old" if index % 10 == 0 else None,
    )


def a_plan(names: list[str], *, pin_key: bytes | None, warnings: tuple[str, ...] = ()) -> Plan:
    actions = list(Action)
    changes = tuple(
        change(i, name, action=actions[i % len(actions)], pin=f"{100000 + i}")
        for i, name in enumerate(names)
    )
    drift = tuple(
        Drift(DeviceKey("door-1"), name, DriftKind.UNMANAGED_CODE, f"detail {name}", None)
        for name in names[::3]
    )
    return Plan(NOW, changes, drift, pin_key=pin_key, warnings=warnings)


def assert_same_text(plan: Plan) -> None:
    for show in (False, True):
        expected = json.dumps(reference_data(plan, show_codes=show), indent=2) + "\n"
        out = io.StringIO()
        render.write_json(plan, out, show_codes=show)
        assert out.getvalue() == expected
        assert render.render_json(plan.to_data(show_codes=show)) == expected
    assert plan.checksum == reference_checksum(plan)


def test_an_empty_plan() -> None:
    assert_same_text(Plan(NOW))
    assert_same_text(Plan(NOW, pin_key=b"k", warnings=("feed stale",)))


def test_plans_larger_than_one_piece_with_and_without_a_pin_key() -> None:
    names = [f"Person {i:03d}" for i in range(2 * plan_module.CHUNK + 17)]
    assert_same_text(a_plan(names, pin_key=None))
    assert_same_text(a_plan(names, pin_key=b"secret", warnings=("a", "b")))


def test_names_past_ascii_and_control_characters_are_escaped_as_json_dumps_does() -> None:
    names = ["José", "Zoë 🏠", "tab\there", 'quote " slash \\ /', "del \x7f", "\u2028", "\x00"]
    names.append("lone \ud800")  # orjson refuses it: json.dumps writes it
    assert_same_text(a_plan(names, pin_key=b"k"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=0, max_size=40))
def test_any_text_gives_the_same_json(names: list[str]) -> None:
    assert_same_text(a_plan(names, pin_key=b"k", warnings=tuple(names[:2])))
