"""The GitHub Action's one step: `python action/run.py plan|apply|drift`.

Why a script and not shell in action.yml: the size limits, the sticky comment (find by marker,
then PATCH or POST) and the multi-line-safe `GITHUB_OUTPUT` syntax are easy to get wrong in
bash and easy to test here with a fake `GITHUB_*` environment and a stub API.

Inputs come as `INPUT_*` environment variables (action.yml passes them explicitly, so
untrusted input is never interpolated into a shell). The CLI masks every PIN in its output
and in `--out` files; this script only ever forwards that masked output.

On a pull request, the plan's comment also says what the change does to the desired state
(who may open which door, when), from the config at the base commit and as checked out
(`reconciler/config/desiredchange.py`); a base that cannot be loaded is a one-line note. The
job summary also draws the timeline of the doors the pull request touches as a mermaid gantt
chart, which GitHub renders (`accesscodes timeline --format mermaid`).

Exit codes: 0 ok; 1 error, refused apply or failed change; 2 drift found (`drift` with
`fail-on-drift: true`, the default).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

MARKER = "<!-- accesscodes-plan"


def marker(config: str) -> str:
    """The hidden line that finds this config's comment again: one sticky comment per config,
    so two configs planned on one pull request keep a comment each."""
    return f"{MARKER} config={config.replace('--', '-')} -->"


COMMENT_LIMIT = 65536  # characters in an issue comment body
SUMMARY_LIMIT = 1024 * 1024  # bytes of one step's job summary
SUMMARY_CHARS = SUMMARY_LIMIT // 4  # chars that surely fit: UTF-8 takes at most 4 bytes each
INLINE_LINES = 30  # a plan longer than this goes inside <details>
CUT_NOTE = (
    "\n\n> **Plan cut here:** it is longer than GitHub allows in a {where}. "
    "The full plan is in the job's log (`accesscodes plan` output).\n"
)


@dataclass
class PlanRun:
    """One `accesscodes plan` run: its exit code, masked markdown and JSON plan."""

    code: int
    markdown: str
    error: str
    plan: dict[str, Any] | None
    plan_file: Path
    desired: str = ""  # markdown: what the change does to the desired state (pull requests)


def env(name: str, default: str = "") -> str:
    """An input or GitHub variable; empty counts as unset, as GitHub passes unset inputs."""
    return os.environ.get(name, "").strip() or default


def flag(name: str, default: bool) -> bool:
    """A boolean input: GitHub passes `true`/`false` as strings."""
    value = env(name)
    return default if not value else value.lower() in ("1", "true", "yes", "on")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with this interpreter (the one the action installed the package into).

    `ACCESSCODES_NOW` pins `--now` (tests: the quickstart has time-dependent codes).
    """
    now = env("ACCESSCODES_NOW")
    extra = ["--now", now] if now else []
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args, *extra],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        env=cli_environment(),
    )


def cli_environment() -> dict[str, str]:
    """The step's environment, with the `state` and `journal-key` inputs as the CLI's
    ACCESSCODES_STATE and ACCESSCODES_JOURNAL_KEY when given: an empty input leaves what the
    job's env set (a step-level `env:` would blank it)."""
    environment = dict(os.environ)
    for name, variable in (("INPUT_STATE", "ACCESSCODES_STATE"),
                           ("INPUT_JOURNAL_KEY", "ACCESSCODES_JOURNAL_KEY")):  # fmt: skip
        if env(name):
            environment[variable] = env(name)
    return environment


def set_output(name: str, value: str) -> None:
    """Append `name` to `$GITHUB_OUTPUT` with a random heredoc delimiter (multi-line safe)."""
    path = env("GITHUB_OUTPUT")
    if not path:
        return
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def cut(text: str, limit: int, where: str, *, nbytes: bool = False) -> str:
    """`text` within `limit` characters (or UTF-8 bytes), cut at a line end with a note."""
    size = len(text.encode()) if nbytes else len(text)
    if size <= limit:
        return text
    note = CUT_NOTE.format(where=where)
    budget = limit - (len(note.encode()) if nbytes else len(note))
    head = text.encode()[:budget].decode(errors="ignore") if nbytes else text[:budget]
    return head[: head.rfind("\n") + 1 or len(head)] + note


def write_summary(text: str) -> None:
    """Append to `$GITHUB_STEP_SUMMARY`, within GitHub's 1 MiB per step."""
    path = env("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(cut(text, SUMMARY_LIMIT, "job summary", nbytes=True))


def run_plan(config: str) -> PlanRun:
    """`plan --format markdown --out FILE`: one run gives both the text and the JSON plan."""
    plan_file = Path(env("RUNNER_TEMP") or tempfile.gettempdir()) / "accesscodes-plan.json"
    plan_file.unlink(missing_ok=True)
    proc = cli(
        "plan", "-c", config, "--format", "markdown", "--out", str(plan_file), "--detailed-exitcode"
    )
    plan = json.loads(plan_file.read_text()) if proc.returncode in (0, 2) else None
    return PlanRun(proc.returncode, proc.stdout, proc.stderr.strip(), plan, plan_file)


def headline(plan: dict[str, Any]) -> str:
    """The plan's counts in one line, from the JSON summary (not from the rendered text)."""
    s = plan.get("summary", {})
    parts = [f"{s.get(k, 0)} to {k}" for k in ("create", "update", "delete")]
    parts += [f"{s.get(k, 0)} {k}" for k in ("deferred", "blocked")]
    drift = len(plan.get("drift", []))
    return ", ".join(parts) + (f", {drift} drift" if drift else "")


def plan_body(run: PlanRun, config: str, limit: int, where: str) -> str:
    """The comment / summary body: marker, counts, checksum, the plan (folded when long)."""
    if run.plan is None:
        title = f"{marker(config)}\n### accesscodes plan: `{config}` failed"
        return f"{title}\n\n```\n{run.error}\n```\n"
    checksum = run.plan["checksum"]
    head = (
        f"{marker(config)}\n### accesscodes plan: `{config}`\n\n"
        f"**{headline(run.plan)}.** Checksum `{checksum}`\n\n{run.desired}"
    )
    if run.markdown.count("\n") <= INLINE_LINES:
        return cut(head + run.markdown, limit, where)
    opening = f"<details><summary>Show plan ({run.markdown.count(chr(10))} lines)</summary>\n\n"
    closing = "\n</details>\n"
    budget = limit - len(head) - len(opening) - len(closing)
    return head + opening + cut(run.markdown, budget, where) + closing


def event() -> dict[str, Any]:
    """The event payload (`GITHUB_EVENT_PATH`); empty when there is none."""
    path = env("GITHUB_EVENT_PATH")
    if not path or not Path(path).exists():
        return {}
    payload = json.loads(Path(path).read_text())
    return payload if isinstance(payload, dict) else {}


def pr_number() -> int | None:
    """The pull request's number from the event payload; None outside a pull request."""
    payload = event()
    number = (payload.get("pull_request") or {}).get("number") or payload.get("number")
    return int(number) if number else None


def base_commit() -> str | None:
    """The pull request's base: the event's `pull_request.base.sha`, else `GITHUB_BASE_REF`
    (as `origin/<ref>`); None outside a pull request."""
    sha = ((event().get("pull_request") or {}).get("base") or {}).get("sha")
    if isinstance(sha, str) and sha:
        return sha
    ref = env("GITHUB_BASE_REF")
    return f"origin/{ref}" if ref else None


def desired_section(config: str) -> str:
    """Markdown: what the change does to the desired state, against the base commit; a
    one-line note when the base cannot be loaded; nothing outside a pull request. Never an
    error: the plan is the job, this is a reading aid."""
    commit = base_commit()
    if commit is None:
        return ""
    title = "#### What this change does to the desired state\n\n"
    try:
        from reconciler.config import desiredchange

        try:
            return title + desiredchange.markdown(commit, Path(config))
        except desiredchange.BaseUnavailable as exc:
            return f"{title}_Not shown: {exc}._\n\n"
    except Exception as exc:  # a reading aid must not fail the plan job
        return f"{title}_Not shown: it could not be worked out ({type(exc).__name__})._\n\n"


TIMELINE_DOORS = 12  # doors drawn in the job summary's timeline; the rest are counted


def touched_doors(run: PlanRun, config: str) -> list[str]:
    """The doors a pull request touches, in the plan's order: those with a write due now or a
    blocked code in its plan, and those whose desired codes differ from the base commit's (a
    code removed with `prune: false` changes no lock, but the door's timeline does). A write
    deferred by the schedule is time passing, not the pull request."""
    plan = run.plan or {}
    doors = [
        c["device"]
        for c in plan.get("changes", [])
        if c.get("action") == "blocked"
        or (c.get("action") in WRITE_ACTIONS and c.get("due_at") is None)
    ]
    commit = base_commit()
    if commit is not None:
        try:
            from reconciler.config import desiredchange
            from reconciler.config.load import load_config

            key = os.urandom(32)  # for this comparison only
            head = desiredchange.outline(load_config(Path(config)), key)
            with tempfile.TemporaryDirectory(prefix="accesscodes-base-") as scratch:
                at = desiredchange.resolve(commit, Path(config))
                base_config = desiredchange.load_config_at(at, Path(config), scratch=Path(scratch))
            base = desiredchange.outline(base_config, key)
            doors += [door for door in head if base.get(door) != head[door]]
        except Exception:  # a reading aid: the plan's doors are enough
            pass
    return list(dict.fromkeys(doors))


def timeline_section(run: PlanRun, config: str) -> str:
    """Markdown for the job summary: a mermaid gantt chart (`accesscodes timeline --format
    mermaid`) of the doors the pull request touches; a note when there are none or it fails."""
    title = "#### Timeline of the doors this change touches\n\n"
    doors = touched_doors(run, config)
    if not doors:
        return title + "_No door's codes change._\n\n"
    shown = doors[:TIMELINE_DOORS]
    proc = cli("timeline", "-c", config, "--format", "mermaid", *(f"--device={d}" for d in shown))
    if proc.returncode != 0:
        return title + "_Not shown: `accesscodes timeline` failed (see the log)._\n\n"
    more = len(doors) - len(shown)
    tail = f"\n_{more} more door{'s' if more != 1 else ''} not drawn._\n" if more else ""
    legend = (
        "_Grey: ongoing codes, blue: stays, red: drift or blocked; the rest are recurring, "
        "offline and one-time codes. `accesscodes timeline --format html` draws them all._\n\n"
    )
    return title + legend + proc.stdout + tail + "\n"


def upsert_comment(body: str, number: int) -> str:
    """Update the comment carrying the body's marker (its first line) on the pull request, or
    create it: one per config, sticky."""
    tag = body.split("\n", 1)[0]
    api = env("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repo = env("GITHUB_REPOSITORY")
    headers = {
        "Authorization": f"Bearer {env('INPUT_GITHUB_TOKEN') or env('GITHUB_TOKEN')}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    with httpx.Client(headers=headers, timeout=30) as client:
        url: str | None = f"{api}/repos/{repo}/issues/{number}/comments?per_page=100"
        existing: int | None = None
        while url and existing is None:
            resp = client.get(url)
            resp.raise_for_status()
            existing = next(
                (c["id"] for c in resp.json() if c.get("body", "").startswith(tag + "\n")), None
            )
            url = resp.links.get("next", {}).get("url")
        if existing is not None:
            client.patch(
                f"{api}/repos/{repo}/issues/comments/{existing}", json={"body": body}
            ).raise_for_status()
            return "updated"
        client.post(
            f"{api}/repos/{repo}/issues/{number}/comments", json={"body": body}
        ).raise_for_status()
        return "created"


def cmd_plan(config: str) -> int:
    """Plan; summary and sticky PR comment get the plan; outputs has-changes, checksum."""
    run = run_plan(config)
    print(run.markdown or run.error)
    pictured = ""
    if run.plan is not None:
        run.desired = desired_section(config)
        pictured = timeline_section(run, config)
    write_summary(plan_body(run, config, SUMMARY_CHARS - len(pictured), "job summary") + pictured)
    if run.plan is not None:
        set_output("has-changes", str(run.code == 2).lower())
        set_output("plan-checksum", run.plan["checksum"])
        set_output("plan-file", str(run.plan_file))
    number = pr_number()
    if number and flag("INPUT_COMMENT", True):
        try:
            what = upsert_comment(plan_body(run, config, COMMENT_LIMIT, "comment"), number)
            print(f"Pull request comment {what}.")
        except httpx.HTTPError as exc:  # e.g. a fork's read-only token: the summary still has it
            print(f"::warning::could not write the pull request comment: {exc}")
    return 0 if run.plan is not None else 1


UNREVIEWED = (
    "no reviewed plan checksum was given (input `plan-checksum` is empty): nothing applied. "
    "An apply without review fails closed, so a failed or missing look-up of the pull "
    "request's plan comment cannot push unreviewed codes to the locks.\n\n"
    "To proceed, either:\n"
    "- merge the change through a pull request, so its plan is reviewed in the plan comment and "
    "the apply workflow passes that comment's checksum;\n"
    "- review the plan below and run the apply again with `plan-checksum: {checksum}` "
    "(the plan as it is now);\n"
    "- or opt in to applying without review with `allow-unreviewed: true` (the delete guards "
    "stay on)."
)


def refuse(config: str, message: str, details: str = "") -> int:
    """Fail the step: an `::error::` line for the log; why, and how to go on, in the summary."""
    print(f"::error::{message.splitlines()[0]} The job summary says how to proceed.")
    write_summary(f"### accesscodes apply: `{config}` refused\n\n{message}\n{details}")
    return 1


def cmd_apply(config: str) -> int:
    """Apply the reviewed plan only: re-plan, compare checksums, then `apply FILE`.

    Fails closed: without a reviewed checksum nothing is applied unless `allow-unreviewed` is
    true. `apply FILE` plans once more and refuses if anything moved, keeps the delete guards
    on (no `--force`) and exits 1 on any failed change, which fails the job.
    """
    run = run_plan(config)
    if run.plan is None:
        print(f"::error::{run.error}")
        write_summary(plan_body(run, config, SUMMARY_CHARS, "job summary"))
        return 1
    checksum = run.plan["checksum"]
    set_output("plan-checksum", checksum)
    set_output("has-changes", str(run.code == 2).lower())
    reviewed = env("INPUT_PLAN_CHECKSUM")
    if not reviewed and not flag("INPUT_ALLOW_UNREVIEWED", False):
        body = plan_body(run, config, SUMMARY_CHARS // 2, "job summary")
        body = body.replace(marker(config) + "\n", "")
        return refuse(config, UNREVIEWED.format(checksum=checksum), "\n" + body)
    if reviewed and reviewed != checksum:
        message = (
            f"the plan now ({checksum}) is not the reviewed one ({reviewed}): the config or "
            "the locks changed since review; nothing applied. Re-run the plan and review it."
        )
        return refuse(config, message)
    if run.code == 0:
        print("Nothing to apply now.")
        write_summary(f"### accesscodes apply: `{config}`\n\nNothing to apply now.\n")
        return 0
    return apply_plan(config, run, checksum, reviewed)


def apply_plan(config: str, run: PlanRun, checksum: str, reviewed: str) -> int:
    """`apply FILE` of the compared plan; the log goes to the summary; 1 on any failure."""
    proc = cli("apply", "-c", config, str(run.plan_file))
    print(proc.stdout + proc.stderr)
    status = "applied" if proc.returncode == 0 else "failed"
    log = cut(proc.stdout + proc.stderr, SUMMARY_LIMIT // 2, "job summary", nbytes=True)
    review = " (reviewed)" if reviewed else " (unreviewed: allow-unreviewed is true)"
    write_summary(
        f"### accesscodes apply: `{config}` {status}\n\nChecksum `{checksum}`{review}\n\n"
        f"```\n{log}\n```\n"
    )
    if proc.returncode != 0:
        print("::error::accesscodes apply failed; see the log above")
    return 1 if proc.returncode != 0 else 0


WRITE_ACTIONS = ("create", "update", "delete")


def drift_findings(plan: dict[str, Any]) -> list[str]:
    """What in the plan JSON says the locks no longer match the config, one line each, with why.

    Drift is: any `drift` entry (a code missing, changed or added at the keypad...); any
    `blocked` change (the locks cannot be made to match); any write due now that the schedule
    did not bring (`due_at` null and no `due_since`). A write with `due_since` fell due because
    time passed (a lead time passed, a window ended): that is the schedule, not drift, and so
    are deferred writes.
    """
    found = [
        f"`{d.get('kind', '?')}` {d.get('device', '')} / {d.get('name', '')}: {d.get('detail', '')}"
        for d in plan.get("drift", [])
    ]
    seen = {(d.get("device"), d.get("name")) for d in plan.get("drift", [])}
    for change in plan.get("changes", []):
        action = change.get("action")
        where = f"{change.get('device', '')} / {change.get('name', '')}"
        why = "; ".join(change.get("reasons", [])) or "no reason given"
        if action == "blocked":
            found.append(f"`blocked` {where}: the locks cannot be made to match ({why})")
        elif (
            action in WRITE_ACTIONS
            and change.get("due_at") is None
            and change.get("due_since") is None
            and (change.get("device"), change.get("name")) not in seen
        ):
            found.append(f"`{action}` {where}: due now, not brought by the schedule ({why})")
    return found


def cmd_drift(config: str) -> int:
    """Drift from the plan JSON (`drift_findings`), not from the exit code: a code falling due
    at its lead time is not drift, and drift that changes nothing (an unmanaged code added at
    the keypad) still is."""
    run = run_plan(config)
    print(run.markdown or run.error)
    if run.plan is None:
        print(f"::error::{run.error}")
        write_summary(plan_body(run, config, SUMMARY_CHARS, "job summary"))
        return 1
    findings = drift_findings(run.plan)
    drifted = bool(findings)
    set_output("drift", str(drifted).lower())
    set_output("drift-findings", "\n".join(findings))
    set_output("plan-checksum", run.plan["checksum"])
    set_output("has-changes", str(run.code == 2).lower())
    title = "drift: the locks no longer match the config" if drifted else "no drift"
    listed = "".join(f"- {line}\n" for line in findings)
    print(f"accesscodes {title}" + "".join(f"\n  {line}" for line in findings))
    body = plan_body(run, config, SUMMARY_CHARS, "job summary").replace(marker(config) + "\n", "")
    write_summary(f"## accesscodes {title}\n\n{listed}\n{body}")
    if drifted and flag("INPUT_FAIL_ON_DRIFT", True):
        print("::error::drift: the locks no longer match the config")
        return 2
    return 0


def main(argv: list[str]) -> int:
    """Dispatch on the `command` input (argument or `INPUT_COMMAND`)."""
    command = argv[1] if len(argv) > 1 else env("INPUT_COMMAND", "plan")
    config = env("INPUT_CONFIG", "accesscodes.yaml")
    commands = {"plan": cmd_plan, "apply": cmd_apply, "drift": cmd_drift}
    if command not in commands:
        print(f"::error::unknown command {command!r}: use plan, apply or drift")
        return 1
    return commands[command](config)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
