"""The Action's job summary draws the timeline of the doors a pull request touches: a mermaid
gantt chart GitHub renders, one section per door, only the doors the change concerns, never
a PIN; the sticky comment stays the plan alone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from actionharness import NOW, CommentsStub, action, assert_no_pin
from test_action_desired_diff import on_pull_request, repository

pytest_plugins = ["actionharness"]
pytestmark = pytest.mark.timeout(180)

TITLE = "#### Timeline of the doors this change touches"


def chart(summary: str) -> list[str]:
    """The lines of the summary's one mermaid block."""
    blocks = re.findall(r"```mermaid\n(.*?)\n```", summary, re.S)
    assert len(blocks) == 1, summary
    return blocks[0].splitlines()


def sections(lines: list[str]) -> list[str]:
    return [line.split("section ", 1)[1] for line in lines if line.startswith("    section ")]


def test_the_summary_draws_the_doors_the_plan_writes(gh: dict[str, str], quickstart: Path) -> None:
    result = action("plan", gh, quickstart)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert TITLE in summary and summary.index("3 to create") < summary.index(TITLE)
    lines = chart(summary)
    assert lines[0] == "gantt" and "    todayMarker off" in lines
    assert sections(lines) == ["front-door", "back-door"]
    assert "    Guest Bob :active, 2026-12-01 15:00, 2026-12-04 11:00" in lines
    assert "```mermaid" not in CommentsStub.comments[1001]["body"]  # the comment: the plan
    assert_no_pin(summary, result.stdout, result.stderr)


def test_only_the_doors_a_pull_request_changes_are_drawn(
    gh: dict[str, str], quickstart: Path, tmp_path: Path
) -> None:
    base = (quickstart / "accesscodes.yaml").read_text()
    edited = base.replace(
        "  back-door:\n    device_id: ultraloq_back\n    codes:\n",
        "  back-door:\n    device_id: ultraloq_back\n    codes:\n"
        "      - name: Guest Carol\n"
        "        starts_at: 2026-12-02T16:00:00\n"
        "        ends_at: 2026-12-04T11:00:00\n",
    )
    assert edited != base
    (quickstart / "accesscodes.yaml").write_text(edited)
    repo, commit = repository(tmp_path, quickstart, base)
    on_pull_request(gh, commit)
    # The locks already hold the base's codes: the front door has nothing to do now.
    applied = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "-c", ".", "--now", NOW, "--auto-approve"],
        cwd=repo,
        env=gh,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    result = action("plan", gh, repo)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    lines = chart(summary)
    assert sections(lines) == ["back-door"]
    assert "    Guest Carol :active, 2026-12-02 16:00, 2026-12-04 11:00" in lines
    assert_no_pin(summary)


def test_no_door_touched_says_so(gh: dict[str, str], quickstart: Path, tmp_path: Path) -> None:
    base = (quickstart / "accesscodes.yaml").read_text()
    repo, commit = repository(tmp_path, quickstart, base)
    on_pull_request(gh, commit)
    applied = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "-c", ".", "--now", NOW, "--auto-approve"],
        cwd=repo,
        env=gh,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    result = action("plan", gh, repo)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert f"{TITLE}\n\n_No door's codes change._" in summary and "```mermaid" not in summary
