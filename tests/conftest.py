"""Shared fixtures: real files in a temp dir, the CLI as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pgserver import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    """What a CLI run printed and returned."""

    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


CliRunner = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    """Run `python -m reconciler ARGS` in `tmp_path` (or `cwd`), stdin not a terminal."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=cwd or tmp_path,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A private copy of examples/quickstart, without any simulator state."""
    target = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", target, ignore=shutil.ignore_patterns(".accesscodes"))
    return target


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a YAML config (dedented) into tmp_path and return its path."""

    def write(text: str, name: str = "accesscodes.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session, started on first use."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Run the test once on each state store: the SQLite file (None), then PostgreSQL (its
    URL, also in ACCESSCODES_STATE, which every CLI run of the test inherits)."""
    if request.param == "sqlite":
        monkeypatch.delenv("ACCESSCODES_STATE", raising=False)
        return None
    url = str(request.getfixturevalue("pg_url"))
    monkeypatch.setenv("ACCESSCODES_STATE", url)
    return url
