"""Rendered plans, snapshot-tested: what users and PR reviewers read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.cli.render import render_json, render_markdown, render_text
from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    LiveDevice,
    SourceRef,
)
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def sample_plan():
    """Every kind of line: create, deferred create, update, delete, blocked, drift."""
    door, lock = DeviceKey("front-door"), DeviceId("august_device_1")
    src = SourceRef("accesscodes.yaml", 7, 9)
    guest_start = datetime(2026, 12, 1, 15, 0)
    codes = (
        DesiredCode(door, "Alice", "482913", source=src),
        DesiredCode(
            door,
            "Guest Bob",
            "736194",
            starts_at=guest_start,
            ends_at=guest_start + timedelta(days=3),
            source=src,
        ),
        DesiredCode(door, "Carol", "264819", source=src),
        DesiredCode(door, "Dave", "1111", source=src),
    )
    live_codes = (
        LiveCode(AccessCodeId("ac_1"), lock, "Alice", "999111"),
        LiveCode(AccessCodeId("ac_2"), lock, "Old guest", "375102"),
    )
    unmanaged = (LiveCode(AccessCodeId("ac_3"), lock, "Landlord", "8642", is_managed=False),)
    caps = Capabilities(manufacturer="august", supported_code_lengths=(6,), native_scheduling=True)
    device = DesiredDevice(door, lock, codes=codes, timezone="America/New_York")
    live = {lock: LiveDevice(Device(lock, "Front", caps), live_codes, unmanaged)}
    return plan([device], live, now=NOW, settings=Settings(prune=True))


def test_text(sample_plan, snapshot) -> None:
    assert render_text(sample_plan.to_data()) == snapshot


def test_text_with_colour_marks_lines(sample_plan) -> None:
    assert "\033[32m  + create Carol\033[0m" in render_text(sample_plan.to_data(), colour=True)


def test_json(sample_plan, snapshot) -> None:
    assert render_json(sample_plan.to_data()) == snapshot


def test_markdown(sample_plan, snapshot) -> None:
    assert render_markdown(sample_plan.to_data()) == snapshot


@pytest.mark.parametrize("render", [render_text, render_json, render_markdown])
def test_no_renderer_shows_a_pin_unless_asked(sample_plan, render) -> None:
    text = render(sample_plan.to_data())
    for pin in ("482913", "736194", "264819", "999111", "375102", "8642"):
        assert pin not in text
    assert "482913" in render(sample_plan.to_data(show_codes=True))
