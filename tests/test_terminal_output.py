"""Colour, tables and progress bars on a terminal, plain text everywhere else.

The CLI runs for real: under a pseudo-terminal made by util-linux `script` (stdout and stderr
are then a terminal, as for a person typing), and piped (as for scripts and CI). The child's
environment starts without CI, NO_COLOR and FORCE_COLOR, since CI itself runs with CI=true.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from reconciler.apply.inventory import read_live
from reconciler.cli import terminal
from reconciler.core.errors import TemporaryProviderError
from reconciler.core.models import DeviceId, LiveCode
from reconciler.providers.sim import SimProvider

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="util-linux script"),
]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NOW = "2026-11-30T12:00:00Z"
_UNSET = ("CI", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")


def _accesscodes() -> str:
    """The installed `accesscodes` command (`python -m reconciler` where it is not installed)."""
    found = shutil.which("accesscodes", path=str(Path(sys.executable).parent))
    found = found or shutil.which("accesscodes")
    return shlex.quote(found) if found else f"{shlex.quote(sys.executable)} -m reconciler"


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env["TERM"] = "xterm-256color"  # a real terminal's, whatever the test runner has
    env.update(extra)
    return env


def under_pty(args: str, cwd: Path, **extra: str) -> str:
    """Run `accesscodes ARGS` under `script`: stdout and stderr are a terminal. Returns what
    the terminal received, `\\r\\n` line ends made `\\n`."""
    proc = subprocess.run(
        ["script", "-qec", f"{_accesscodes()} {args}", "/dev/null"],
        cwd=cwd,
        env=_env(extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Bytes, not text=True: universal newlines would turn the bar's lone \r into \n.
    return proc.stdout.decode("utf-8").replace("\r\n", "\n")


def piped(args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `accesscodes ARGS` with stdout and stderr pipes."""
    proc = subprocess.run(
        [*shlex.split(_accesscodes()), *shlex.split(args)],
        cwd=cwd,
        env=_env(extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


# --- the one rule ---------------------------------------------------------------------------


@pytest.fixture
def tty() -> Iterator[io.TextIOWrapper]:
    """A real terminal (the secondary end of a pseudo-terminal) opened as a text stream."""
    primary, secondary = os.openpty()
    stream = open(secondary, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    try:
        yield stream
    finally:
        stream.close()
        os.close(primary)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, True),
        ({"TERM": "xterm-256color", "CI": "false"}, True),
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": ""}, False),  # set, even empty: no-color.org
        ({"CI": "true"}, False),
        ({"CI": "1"}, False),
        ({"TERM": "dumb"}, False),
        ({"CI": "true", "FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, True),  # empty FORCE_COLOR forces nothing
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins
    ],
)
def test_use_colour_on_a_terminal(tty: io.TextIOWrapper, environ: dict[str, str], expected: bool):
    assert terminal.use_colour(tty, environ) is expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"CI": "true"}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),
    ],
)
def test_use_colour_on_a_pipe_and_a_file(
    tmp_path: Path, environ: dict[str, str], expected: bool
) -> None:
    read_end, write_end = os.pipe()
    with open(write_end, "w") as pipe, open(tmp_path / "out.txt", "w") as file:
        os.close(read_end)
        assert terminal.use_colour(pipe, environ) is expected
        assert terminal.use_colour(file, environ) is expected
    assert terminal.use_colour(io.StringIO(), {}) is False


def test_progress_only_above_the_threshold_and_only_where_colour_is(
    tty: io.TextIOWrapper,
) -> None:
    many = terminal.PROGRESS_THRESHOLD + 1
    with terminal.progress(terminal.PROGRESS_THRESHOLD, "x", stream=tty, environ={}) as tick:
        assert tick is terminal._nothing
    with terminal.progress(many, "x", stream=tty, environ={"CI": "true"}) as tick:
        assert tick is terminal._nothing
    with terminal.progress(many, "x", stream=io.StringIO(), environ={}) as tick:
        assert tick is terminal._nothing


# --- plan -----------------------------------------------------------------------------------


def test_plan_on_a_terminal_is_coloured(quickstart: Path) -> None:
    shown = under_pty(f"plan -c . --now {NOW}", quickstart)
    assert "\x1b[32m+ create \x1b[0m\x1b[1;32mGuest Bob\x1b[0m" in shown
    assert "\x1b[36m> deferred create \x1b[0m" in shown
    assert "\x1b[1mPlan: 4 to create," in shown
    # The words are those of the plain plan, in the same order.
    assert ANSI.sub("", shown) == piped(f"plan -c . --now {NOW}", quickstart).stdout


@pytest.mark.parametrize(
    "extra", [{"NO_COLOR": "1"}, {"NO_COLOR": ""}, {"CI": "true"}, {"TERM": "dumb"}]
)
def test_plan_on_a_terminal_is_plain_when_asked(quickstart: Path, extra: dict[str, str]) -> None:
    shown = under_pty(f"plan -c . --now {NOW}", quickstart, **extra)
    assert "\x1b" not in shown
    assert shown == piped(f"plan -c . --now {NOW}", quickstart).stdout


def test_plan_piped_is_plain_unless_forced(quickstart: Path) -> None:
    plain = piped(f"plan -c . --now {NOW}", quickstart)
    assert "\x1b" not in plain.stdout + plain.stderr
    assert plain.stdout.startswith(f"accesscodes plan at {NOW}\n\nfront-door (august_front)\n")
    forced = piped(f"plan -c . --now {NOW}", quickstart, CI="true", FORCE_COLOR="1")
    assert "\x1b[32m+ create " in forced.stdout
    assert ANSI.sub("", forced.stdout) == plain.stdout


# --- timeline and history -------------------------------------------------------------------


def test_timeline_on_a_terminal_is_a_table(quickstart: Path, snapshot: SnapshotAssertion) -> None:
    shown = under_pty("timeline -c . --now 2026-11-23T15:00:00Z", quickstart, COLUMNS="130")
    assert shown.replace("\x1b", "\\x1b") == snapshot
    assert "──────" in shown and "\x1b[1mcode" in shown
    plain = piped("timeline -c . --now 2026-11-23T15:00:00Z", quickstart, COLUMNS="130").stdout
    assert "\x1b" not in plain and "──" not in plain
    assert "  code              programmed from" in plain  # test_timeline's snapshot has the rest
    ci = under_pty("timeline -c . --now 2026-11-23T15:00:00Z", quickstart, CI="true")
    assert ci == plain


def test_history_on_a_terminal_is_a_table(quickstart: Path) -> None:
    piped(f"apply -c . --now {NOW} --auto-approve", quickstart)
    shown = under_pty("history -c .", quickstart, COLUMNS="120")
    assert "\x1b[1mrun 1\x1b[0m" in shown and "\x1b[32mok\x1b[0m" in shown
    header = next(line for line in ANSI.sub("", shown).splitlines() if "status" in line)
    assert header.split() == ["at", "device", "code", "change", "status"]
    assert re.search(r"front-door +Guest Bob +create +ok", ANSI.sub("", shown))

    plain = piped("history -c .", quickstart).stdout
    assert "\x1b" not in plain
    assert re.match(r"run 1  \S+  \S+  apply  ok  sha256:[0-9a-f]{12}\n", plain)
    assert f"    {NOW}  front-door / Guest Bob: create ok\n" in plain
    assert under_pty("history -c .", quickstart, NO_COLOR="1") == plain


# --- progress bars --------------------------------------------------------------------------


class _SecondUnreadable(SimProvider):
    """The simulator, except that reading lock_b's codes fails as a timed-out lock's does."""

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        if device_id == "lock_b":
            raise TemporaryProviderError("lock_b timed out", code="http_504")
        return await super().list_codes(device_id)


def test_each_lock_read_is_counted_once_even_when_it_fails(tmp_path: Path) -> None:
    provider = _SecondUnreadable(tmp_path / "sim.json", clock=lambda: datetime.now(UTC))
    reads: list[None] = []
    ids = [DeviceId("lock_a"), DeviceId("lock_b"), DeviceId("lock_c")]
    live = asyncio.run(read_live(provider, ids, concurrency=2, on_read=lambda: reads.append(None)))
    assert len(reads) == 3
    assert live[DeviceId("lock_b")].read_error and not live[DeviceId("lock_a")].read_error


def _fleet(path: Path, count: int) -> Path:
    """A simulated fleet of `count` August locks, one code each."""
    lines = ["version: 1", "provider:", "  kind: sim", "  fleet:"]
    lines += [f"    lock{i}: {{profile: august, name: Lock {i}}}" for i in range(count)]
    lines += ["settings:", "  timezone: UTC", "devices:"]
    for i in range(count):
        lines += [f"  door{i}:", f"    device_id: lock{i}", "    codes:", "      - name: Alice"]
    path.mkdir()
    (path / "accesscodes.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_progress_bars_while_reading_and_writing_many_locks(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path / "fleet", terminal.PROGRESS_THRESHOLD + 1)
    many = terminal.PROGRESS_THRESHOLD + 1
    shown = under_pty(f"apply --now {NOW} --auto-approve", fleet)
    assert "Reading locks" in shown and f"{many}/{many}" in shown
    assert "Writing codes" in shown
    # Every outcome line still reaches the terminal, on a line of its own above the bar (the
    # bar's line erased first), never glued to the end of the bar.
    for i in range(many):
        assert re.search(rf"(^|\n|\r\x1b\[2K)door{i} / Alice: create ok", shown), i
    assert "Apply complete: 31 created" in shown

    quiet = under_pty(f"plan --now {NOW}", fleet, CI="true")
    assert "Reading locks" not in quiet and "\x1b" not in quiet
    assert "Reading locks" not in under_pty(f"plan --now {NOW}", fleet, NO_COLOR="1")
    result = piped(f"plan --now {NOW}", fleet)
    assert "Reading locks" not in result.stderr and "\x1b" not in result.stderr


def test_no_progress_bar_for_a_few_locks(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path / "fleet", terminal.PROGRESS_THRESHOLD)
    shown = under_pty(f"apply --now {NOW} --auto-approve", fleet)
    assert "Reading locks" not in shown and "Writing codes" not in shown
    assert "\x1b[32m+ create \x1b[0m" in shown  # still a terminal: the plan is coloured


# --- start-up -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "extra", "loaded"),
    [
        ("--help", {}, False),
        (f"plan -c . --now {NOW}", {}, False),  # piped: plain text needs no rich
        ("timeline -c . --now 2026-11-23T15:00:00Z", {}, False),
        (f"plan -c . --now {NOW}", {"FORCE_COLOR": "1"}, True),
    ],
)
def test_rich_is_imported_only_to_draw(
    quickstart: Path, args: str, extra: dict[str, str], loaded: bool
) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reconciler", *shlex.split(args)],
        cwd=quickstart,
        env=_env(extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert ("rich.console" in imported) is loaded
    assert any(name.startswith("reconciler") for name in imported)  # the probe sees imports
