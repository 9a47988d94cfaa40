"""An `access_code.failed_to_set_on_device` event pulls a backup code for a stay about to
begin (issues #18 and #16): the event's run of that one lock goes through the same apply as
a full run, whose last step pulls the backup code."""

from __future__ import annotations

import asyncio
import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.controller.events import Event
from reconciler.controller.loop import Controller

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHECK_IN = T0 + timedelta(hours=2)  # beyond jit_lead (30 min): nothing is pulled at T0


def test_a_failed_to_set_event_near_check_in_pulls_one_backup_code(tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        textwrap.dedent(f"""\
            version: 1
            provider:
              kind: sim
              fleet:
                lock_1: {{fails_to_set: true}}
            settings: {{backup_codes: true}}
            devices:
              door:
                device_id: lock_1
                codes:
                  - {{name: Guest Bob, code: "736194", starts_at: {CHECK_IN.isoformat()},
                      ends_at: {(CHECK_IN + timedelta(days=3)).isoformat()}}}
            """)
    )
    now = [T0]
    records: list[dict[str, Any]] = []
    controller = Controller(
        tmp_path / "accesscodes.yaml", interval=3600, clock=lambda: now[0], emit=records.append
    )

    async def scenario() -> None:
        await controller.reconcile()  # the code goes on (native lead) and fails to set
        assert not [r for r in records if r["event"] == "backup_code"]
        state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
        (code,) = [c for c in state["devices"]["lock_1"]["codes"] if not c.get("is_backup")]
        now[0] = CHECK_IN - timedelta(minutes=20)
        failed = Event(
            "evt_1", "access_code.failed_to_set_on_device", "lock_1", code["access_code_id"]
        )
        await controller.reconcile_events([failed])
        await controller.reconcile_events([failed])  # delivered again: acted on once
        await controller.aclose()

    asyncio.run(scenario())
    pulls = [r for r in records if r["event"] == "backup_code"]
    assert [(p["name"], p["result"]) for p in pulls] == [("Guest Bob", "pulled")]
    assert "****" in pulls[0]["message"]
    assert [r["event"] for r in records].count("event_reconcile") == 1
