"""Rendered plans, snapshot-tested: what users and PR reviewers read."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.cli.render import plan_lines, render_json, render_markdown, render_text
from reconciler.cli.terminal import make_console, styled
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
ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def _coloured(data: dict[str, Any], *, width: int = 100) -> str:
    """The plan as a terminal gets it: a rich console forced to a terminal, fixed width."""
    out = io.StringIO()
    make_console(out, width=width).print(styled(plan_lines(data)))
    return out.getvalue()


def test_text_in_colour(sample_plan, snapshot) -> None:
    # Escape codes shown as \x1b so the snapshot file stays readable text.
    assert _coloured(sample_plan.to_data()).replace("\x1b", "\\x1b") == snapshot


def test_colour_marks_each_kind_of_line_as_terraform_does(sample_plan) -> None:
    coloured = _coloured(sample_plan.to_data())
    assert "  \x1b[32m+ create \x1b[0m\x1b[1;32mCarol\x1b[0m\n" in coloured
    assert "  \x1b[33m~ update \x1b[0m\x1b[1;33mAlice\x1b[0m\n" in coloured
    assert "  \x1b[31m- delete \x1b[0m\x1b[1;31mOld guest\x1b[0m\n" in coloured
    assert "  \x1b[1;31m! blocked \x1b[0m\x1b[1;31mDave\x1b[0m\n" in coloured
    assert "  \x1b[36m> deferred create \x1b[0m\x1b[1;36mGuest Bob\x1b[0m\n" in coloured
    assert "      \x1b[36mdue 2026-11-28 15:00 America/New_York" in coloured
    assert "  \x1b[33m? front-door / Landlord\x1b[0m: unmanaged_code:" in coloured
    assert "\x1b[1mPlan: 1 to create, 1 to update," in coloured
    # Details and reasons keep the terminal's own colour.
    assert "\n      missing on device\n" in coloured


@pytest.mark.parametrize("width", [40, 100, 200])
def test_coloured_and_plain_say_the_same_words(sample_plan, width) -> None:
    # Same lines, same order, nothing wrapped or cut by rich, whatever the terminal's width.
    data = sample_plan.to_data()
    assert ANSI.sub("", _coloured(data, width=width)) == render_text(data)


def test_no_change_plan_in_colour() -> None:
    data = plan([], {}, now=NOW, settings=Settings()).to_data()
    assert render_text(data).splitlines()[2] == "No changes. The locks match the config."
    assert "\x1b[32mNo changes. The locks match the config.\x1b[0m" in _coloured(data)


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
