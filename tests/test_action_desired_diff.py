"""The Action's plan comment says what the pull request does to the desired state.

A real git repository in tmp_path (the base commit, then the pull request's), the Action run
as action.yml runs it, the comment read from the stub comments API. A base that cannot be
loaded is a one-line note, and the plan job still succeeds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from actionharness import CommentsStub, action, assert_no_pin

from reconciler.config.desiredchange import changed_lines

pytest_plugins = ["actionharness"]
pytestmark = pytest.mark.timeout(120)

TITLE = "#### What this change does to the desired state"
NEW_PIN = "905172"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Reviewer", "-c", "user.email=r@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def repository(tmp_path: Path, quickstart: Path, base_config: str | None) -> tuple[Path, str]:
    """A repository whose base commit holds `base_config` (None: no config yet) and whose
    second commit, checked out, holds the quickstart's config; returns it and the base."""
    repo = tmp_path / "site"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("doors\n")
    if base_config is not None:
        (repo / "accesscodes.yaml").write_text(base_config)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD")
    shutil.copy(quickstart / "accesscodes.yaml", repo / "accesscodes.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "--allow-empty", "-m", "the pull request")
    return repo, base


def on_pull_request(gh: dict[str, str], base: str) -> None:
    """The event of a pull request whose base commit is `base`."""
    Path(gh["GITHUB_EVENT_PATH"]).write_text(
        json.dumps({"number": 7, "pull_request": {"number": 7, "base": {"sha": base}}})
    )


def the_comment(gh: dict[str, str], repo: Path) -> str:
    """Run the plan step; it succeeds and writes one comment: its body."""
    result = action("plan", gh, repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pull request comment created." in result.stdout
    body = CommentsStub.comments[1001]["body"]
    assert "3 to create" in body  # the plan is there, whatever the section says
    assert_no_pin(body, Path(gh["GITHUB_STEP_SUMMARY"]).read_text())
    assert NEW_PIN not in body
    return body


def edited_by_the_pull_request(quickstart: Path) -> str:
    """Edit the quickstart's config as the pull request does (Bob stays a day longer, Alice
    gets a new PIN at the front door, Carol comes, the cleaner loses the back door); returns
    the config as it was before, the base's."""
    text = (quickstart / "accesscodes.yaml").read_text()
    quickstart_after = (
        text.replace("ends_at: 2026-12-04T11:00:00", "ends_at: 2026-12-05T11:00:00")
        .replace('code: "482913"', f'code: "{NEW_PIN}"', 1)
        .replace(
            "  back-door:\n",
            "      - {name: Guest Carol, starts_at: 2026-12-10T16:00:00, "
            "ends_at: 2026-12-12T11:00:00}\n  back-door:\n",
        )
        .rsplit("      - name: Cleaner\n", 1)[0]
    )
    (quickstart / "accesscodes.yaml").write_text(quickstart_after)
    return text


def test_the_comment_says_who_gains_loses_or_moves_which_door(
    gh: dict[str, str], tmp_path: Path, quickstart: Path
) -> None:
    base_config = edited_by_the_pull_request(quickstart)
    repo, base = repository(tmp_path, quickstart, base_config)
    on_pull_request(gh, base)
    body = the_comment(gh, repo)
    section = body.split(TITLE + "\n\n", 1)[1].split("\n\n", 2)
    assert (
        section[0] == f"Against the base commit `{base[:7]}`: 1 code added, 1 removed, 2 changed."
    )
    assert section[1] == (
        "```diff\n"
        "~ Alice (resident) on front-door: PIN changed\n"
        "~ Guest Bob on front-door: ends_at 2026-12-04 11:00 -> 2026-12-05 11:00\n"
        "+ Guest Carol on front-door 2026-12-10 16:00 -> 2026-12-12 11:00\n"
        "- Cleaner on back-door\n"
        "```"
    )
    assert body.index(TITLE) < body.index("| create |")  # before the plan itself
    assert TITLE in Path(gh["GITHUB_STEP_SUMMARY"]).read_text()

    Path(gh["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))
    pushed = action("plan", gh, repo)  # a push: no base to compare with, no section
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    summary = Path(gh["GITHUB_STEP_SUMMARY"]).read_text()
    assert "3 to create" in summary and TITLE not in summary


def test_a_pull_request_that_leaves_the_codes_alone_says_so(
    gh: dict[str, str], tmp_path: Path, quickstart: Path
) -> None:
    repo, base = repository(tmp_path, quickstart, (quickstart / "accesscodes.yaml").read_text())
    on_pull_request(gh, base)
    assert (
        f"Against the base commit `{base[:7]}`: no code added, removed or changed."
        in the_comment(gh, repo)
    )


@pytest.mark.parametrize(
    ("case", "note"),
    [
        ("new in the pull request", "_Not shown: the config is not in the base commit {short}._"),
        ("invalid at base", "_Not shown: the config at the base commit {short} is not valid (1 "),
        ("base not fetched", "_Not shown: the base commit 0000000 is not in this checkout"),
        ("not a git checkout", "_Not shown: the config is not in a git checkout here (git "),
        ("no git at all", "_Not shown: the config is not in a git checkout here (git could not"),
    ],
)
def test_a_base_that_cannot_be_loaded_is_a_note_and_the_plan_goes_on(
    gh: dict[str, str], tmp_path: Path, quickstart: Path, case: str, note: str
) -> None:
    base_config = "version: 1\ndevices: [\n" if case == "invalid at base" else None
    repo, base = repository(tmp_path, quickstart, base_config)
    if case == "base not fetched":
        base = "0" * 40
    if case == "not a git checkout":
        shutil.rmtree(repo / ".git")
    if case == "no git at all":
        gh["PATH"] = str(tmp_path / "empty")  # git is not found; the CLI runs by its full path
    on_pull_request(gh, base)
    body = the_comment(gh, repo)
    assert f"{TITLE}\n\n{note.format(short=base[:7])}" in body
    line = body.split(TITLE + "\n\n", 1)[1].split("\n", 1)[0]
    assert line.startswith("_Not shown: ") and line.endswith("._")


def test_schedules_flags_and_doors_read_as_lines() -> None:
    def code(**values: object) -> dict[str, object]:
        plain: dict[str, object] = {
            "code": "d1",
            "starts_at": None,
            "ends_at": None,
            "schedule": None,
            "offline": False,
            "one_time_use": False,
            "protected": False,
            "revoke": False,
            "prefer_native_scheduling": None,
        }
        return {**plain, **values}

    weekly = {"cron": "0 10 * * TUE", "duration": "4h", "timezone": None}
    base = {"back": {"Cleaner": code(schedule=weekly)}, "shed": {"Ann": code()}}
    head = {
        "back": {"Cleaner": code(schedule={**weekly, "cron": "0 10 * * WED"}, revoke=True)},
        "gate": {"Parcel": code(starts_at="2026-12-02 09:00", offline=True, one_time_use=True)},
    }
    assert changed_lines(base, head) == [
        "~ Cleaner on back: schedule.cron 0 10 * * TUE -> 0 10 * * WED, revoke no -> yes",
        "+ Parcel on gate from 2026-12-02 09:00 (offline, one-time)",
        "- Ann on shed",
    ]
