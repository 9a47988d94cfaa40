"""The GitHub Action: action/run.py with a fake GITHUB_* environment and a stub comments API."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from actionharness import RUN, CommentsStub, action, assert_no_pin, outputs, tamper

pytest_plugins = ["actionharness"]


def test_plan_writes_the_summary_outputs_and_one_sticky_comment(
    gh: dict[str, str], quickstart: Path
) -> None:
    first = action("plan", gh, quickstart)
    assert first.returncode == 0, first.stdout + first.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    out = outputs(gh)
    assert out["has-changes"] == "true"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", out["plan-checksum"])
    assert "3 to create" in summary and "| create | front-door | Alice (resident) |" in summary
    assert out["plan-checksum"] in summary
    assert "Pull request comment created." in first.stdout
    assert len(CommentsStub.comments) == 2
    body = CommentsStub.comments[1001]["body"]
    assert body.startswith("<!-- accesscodes-plan config=") and out["plan-checksum"] in body

    (quickstart / "accesscodes.yaml").write_text(
        (quickstart / "accesscodes.yaml").read_text().replace("Guest Bob", "Guest Carol")
    )
    second = action("plan", gh, quickstart)
    assert second.returncode == 0 and "Pull request comment updated." in second.stdout
    assert len(CommentsStub.comments) == 2  # updated in place, not duplicated
    assert "Guest Carol" in CommentsStub.comments[1001]["body"]
    assert CommentsStub.comments[1]["body"] == "LGTM"
    assert [c.split()[0] for c in CommentsStub.calls] == ["GET", "POST", "GET", "PATCH"]
    assert_no_pin(
        first.stdout,
        first.stderr,
        second.stdout,
        summary,
        Path(gh["GITHUB_OUTPUT"]).read_text(),
        *(c["body"] for c in CommentsStub.comments.values()),
    )


def test_two_configs_on_one_pull_request_keep_a_comment_each(
    gh: dict[str, str], quickstart: Path
) -> None:
    second = quickstart / "annex"
    second.mkdir()
    shutil.copy(quickstart / "accesscodes.yaml", second / "accesscodes.yaml")
    assert action("plan", gh, quickstart, config="accesscodes.yaml").returncode == 0
    assert action("plan", gh, quickstart, config="annex").returncode == 0
    assert len(CommentsStub.comments) == 3  # the reviewer's, and one per config
    again = action("plan", gh, quickstart, config="annex")
    assert "Pull request comment updated." in again.stdout
    assert len(CommentsStub.comments) == 3
    heads = sorted(c["body"].split("\n", 1)[0] for c in CommentsStub.comments.values())
    assert heads == [
        "<!-- accesscodes-plan config=accesscodes.yaml -->",
        "<!-- accesscodes-plan config=annex -->",
        "LGTM",
    ]


def test_a_bad_token_warns_but_the_summary_still_has_the_plan(
    gh: dict[str, str], quickstart: Path
) -> None:
    result = action("plan", gh, quickstart, github_token="wrong")
    assert result.returncode == 0
    assert "::warning::could not write the pull request comment" in result.stdout
    assert "3 to create" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert len(CommentsStub.comments) == 1


def test_comment_false_and_a_push_event_write_no_comment(
    gh: dict[str, str], quickstart: Path
) -> None:
    assert action("plan", gh, quickstart, comment="false").returncode == 0
    Path(gh["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))
    assert action("plan", gh, quickstart).returncode == 0
    assert CommentsStub.calls == []


def test_a_long_plan_is_folded_and_cut_within_the_size_limits() -> None:
    spec = importlib.util.spec_from_file_location("accesscodes_action_run", RUN)
    assert spec and spec.loader
    run = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = run  # dataclasses look their module up
    spec.loader.exec_module(run)

    markdown = "".join(f"| `+` | create | door | Guest {i} | code **** |\n" for i in range(5000))
    plan = run.PlanRun(2, markdown, "", {"checksum": "sha256:ab", "summary": {}}, Path("x"))
    body = run.plan_body(plan, ".", run.COMMENT_LIMIT, "comment")
    assert len(body) <= run.COMMENT_LIMIT
    assert "<details>" in body and body.endswith("</details>\n")
    assert "Plan cut here" in body and "sha256:ab" in body
    summary = run.cut("é" * run.SUMMARY_LIMIT, run.SUMMARY_LIMIT, "job summary", nbytes=True)
    assert len(summary.encode()) <= run.SUMMARY_LIMIT and "Plan cut here" in summary


def test_apply_applies_only_the_reviewed_checksum(gh: dict[str, str], quickstart: Path) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    assert action("plan", gh, quickstart).returncode == 0
    reviewed = outputs(gh)["plan-checksum"]

    refused = action("apply", gh, quickstart, plan_checksum="sha256:" + "0" * 64)
    assert refused.returncode == 1
    assert "is not the reviewed one" in refused.stdout
    assert "refused" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert not (quickstart / ".accesscodes" / "sim.json").exists()

    applied = action("apply", gh, quickstart, plan_checksum=reviewed)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert "Apply complete: 3 created" in summary and f"`{reviewed}` (reviewed)" in summary
    assert outputs(gh)["plan-checksum"] == reviewed
    assert_no_pin(applied.stdout, summary)

    assert action("plan", gh, quickstart).returncode == 0
    again = action("apply", gh, quickstart, plan_checksum=outputs(gh)["plan-checksum"])
    assert again.returncode == 0 and "Nothing to apply now." in again.stdout


def test_apply_without_a_reviewed_checksum_fails_closed(
    gh: dict[str, str], quickstart: Path
) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    for inputs in ({}, {"allow_unreviewed": "false"}, {"plan_checksum": " "}):
        refused = action("apply", gh, quickstart, **inputs)
        assert refused.returncode == 1, inputs
        assert "::error::no reviewed plan checksum was given" in refused.stdout
        summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
        assert "refused" in summary and "allow-unreviewed: true" in summary
        assert f"plan-checksum: {outputs(gh)['plan-checksum']}" in summary  # how to proceed
        assert "3 to create" in summary  # the plan to review is there
        assert not (quickstart / ".accesscodes" / "sim.json").exists()  # nothing applied
        assert_no_pin(refused.stdout, summary)

    applied = action("apply", gh, quickstart, allow_unreviewed="true")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert "Apply complete: 3 created" in summary and "(unreviewed" in summary
    assert (quickstart / ".accesscodes" / "sim.json").exists()


def test_drift_against_a_tampered_simulator(gh: dict[str, str], quickstart: Path) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    assert action("apply", gh, quickstart, allow_unreviewed="true").returncode == 0
    clean = action("drift", gh, quickstart)
    assert clean.returncode == 0 and outputs(gh)["drift"] == "false"
    assert "no drift" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()

    state = quickstart / ".accesscodes" / "sim.json"
    sim = json.loads(state.read_text())
    sim["devices"]["august_front"]["codes"][0]["code"] = "111222"  # changed on the keypad
    del sim["devices"]["ultraloq_back"]["codes"][0]  # removed in the vendor app
    state.write_text(json.dumps(sim))

    drifted = action("drift", gh, quickstart)
    assert drifted.returncode == 2  # fails the job (fail-on-drift defaults to true)
    assert outputs(gh)["drift"] == "true"
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert "drift: the locks no longer match the config" in summary
    assert "`modified_externally` front-door / Alice (resident)" in summary
    assert "`missing` back-door / Alice (resident)" in summary
    assert_no_pin(drifted.stdout, summary)
    assert "111222" not in drifted.stdout + summary

    reported = action("drift", gh, quickstart, fail_on_drift="false")
    assert reported.returncode == 0 and outputs(gh)["drift"] == "true"


def test_a_config_error_fails_the_step(gh: dict[str, str], quickstart: Path) -> None:
    (quickstart / "accesscodes.yaml").write_text("version: 1\ndevices: [\n")
    result = action("plan", gh, quickstart)
    assert result.returncode == 1
    assert "failed" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()


def test_drift_reports_an_unmanaged_code_added_at_the_keypad(
    gh: dict[str, str], quickstart: Path
) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    assert action("apply", gh, quickstart, allow_unreviewed="true").returncode == 0
    tamper(gh, quickstart, "add-unmanaged", "august_front", "Handyman")
    drifted = action("drift", gh, quickstart)
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    out = outputs(gh)
    assert out["drift"] == "true" and out["has-changes"] == "false"  # nothing to write, still drift
    assert out["drift-findings"].startswith("`unmanaged_code` front-door / Handyman: ")
    assert "`unmanaged_code` front-door / Handyman" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()


def test_drift_reports_a_code_removed_at_the_keypad_and_why(
    gh: dict[str, str], quickstart: Path
) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    assert action("apply", gh, quickstart, allow_unreviewed="true").returncode == 0
    tamper(gh, quickstart, "remove", "august_front", "Alice (resident)")
    drifted = action("drift", gh, quickstart)
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    out = outputs(gh)
    assert out["drift"] == "true"
    assert out["drift-findings"].splitlines() == [
        "`missing` front-door / Alice (resident): written by accesscodes and no longer on the lock"
    ]  # counted once: the create that puts it back is the same finding
    assert "`missing` front-door / Alice (resident)" in drifted.stdout


LEAD_TIME_CONFIG = """\
version: 1
provider:
  kind: sim
  fleet:
    august_front: {profile: august, name: Front door}
settings:
  timezone: America/New_York
devices:
  front-door:
    device_id: august_front
    codes:
      - name: Alice (resident)
        code: "482913"
      - name: Guest Bob
        starts_at: 2026-12-01T15:00:00
        ends_at: 2026-12-04T11:00:00
"""


def test_a_code_falling_due_at_its_lead_time_is_not_drift(
    gh: dict[str, str], tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "accesscodes.yaml").write_text(LEAD_TIME_CONFIG)
    gh["GITHUB_EVENT_PATH"] = ""
    assert action("apply", gh, site, allow_unreviewed="true").returncode == 0
    assert action("plan", gh, site).returncode == 0
    assert outputs(gh)["has-changes"] == "false"  # Guest Bob waits for his lead time

    gh["ACCESSCODES_NOW"] = "2026-11-28T20:05:00Z"  # Bob's 3 days before check-in have begun
    checked = action("drift", gh, site)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = outputs(gh)
    assert out["drift"] == "false" and out["drift-findings"] == ""
    assert out["has-changes"] == "true"  # Bob's code is due: time passing, for apply to write
    assert "no drift" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()


def test_apply_with_a_shared_state_keeps_its_journal_in_postgresql(
    gh: dict[str, str], quickstart: Path, pg_url: str
) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    key = "j" * 40
    assert action("plan", gh, quickstart, state=pg_url, journal_key=key).returncode == 0
    reviewed = outputs(gh)["plan-checksum"]
    applied = action("apply", gh, quickstart, state=pg_url, journal_key=key, plan_checksum=reviewed)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not (quickstart / ".accesscodes" / "state.db").exists()  # not the job's SQLite file
    history = subprocess.run(
        [sys.executable, "-m", "reconciler", "history", "-c", str(quickstart), "--state", pg_url],
        capture_output=True,
        text=True,
        env={**os.environ, "ACCESSCODES_JOURNAL_KEY": key},
        check=True,
    )
    assert "apply  ok" in history.stdout and history.stdout.count(": create ok") == 3
    assert pg_url.split("@")[0] not in applied.stdout + Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
