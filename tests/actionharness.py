"""The GitHub Action's test harness: a fake GITHUB_* environment, a stub comments API and
helpers that run action/run.py the way action.yml does. Test modules load it with
`pytest_plugins = ["actionharness"]` (its fixtures) and import its helpers.

PYTEST_DONT_REWRITE: they import it before pytest loads it as a plugin, so its asserts are not
rewritten (each carries its own message); the marker keeps pytest from warning about that.
"""

from __future__ import annotations

import json
import os
import re
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
WORKFLOWS = ROOT / "examples" / "github"


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
    """No configured PIN in any of the texts (the message never shows one)."""
    for number, text in enumerate(texts):
        for pin in PINS:
            assert pin not in text, f"a PIN is in text #{number}"


def tamper(env: dict[str, str], cwd: Path, *args: str) -> None:
    """`accesscodes sim tamper ARGS`: the locks drift the way real ones do."""
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "sim", "tamper", "-c", ".", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
