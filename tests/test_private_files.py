"""Files that hold PINs or keys are the owner's only (0600 in a 0700 folder), written whole."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLES, CliRunner

from reconciler.state.journal import Journal, load_key
from reconciler.state.privatefile import create_private, private_dir, write_private

NOW = "2026-11-23T15:00:00Z"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask (files 0644, folders 0755): what the modes must not follow."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_write_private_replaces_a_wider_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "pins.env"
    target.write_text("OLD=1\n")
    target.chmod(0o644)
    write_private(target, "BOB_PIN=736194\n")
    assert target.read_text() == "BOB_PIN=736194\n" and mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pins.env"]  # no temp file left


def test_write_private_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    link = tmp_path / "out.yaml"
    link.symlink_to(elsewhere)
    write_private(link, "version: 1\n")
    assert elsewhere.read_text() == "keep me\n"
    assert not link.is_symlink() and link.read_text() == "version: 1\n"


def test_create_private_keeps_the_file_another_process_wrote_first(tmp_path: Path) -> None:
    target = tmp_path / "journal.key"
    assert create_private(target, b"a" * 32) == b"a" * 32
    assert create_private(target, b"b" * 32) == b"a" * 32
    assert target.read_bytes() == b"a" * 32 and mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["journal.key"]


def test_private_dir_creates_0700_and_tightens_an_existing_folder(tmp_path: Path) -> None:
    fresh = private_dir(tmp_path / "a" / ".accesscodes")
    assert mode(fresh) == 0o700 and mode(fresh.parent) == 0o755  # only the folder itself
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    private_dir(old)
    assert mode(old) == 0o700


def _load(directory: str) -> bytes:
    return load_key(Path(directory) / "journal.key")


def test_processes_racing_to_create_the_journal_key_agree(tmp_path: Path) -> None:
    os.environ.pop("ACCESSCODES_JOURNAL_KEY", None)
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        keys = pool.map(_load, [str(tmp_path / "state")] * 12)
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert (tmp_path / "state" / "journal.key").read_bytes() == keys[0]


def _quickstart(tmp_path: Path) -> Path:
    target = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", target, ignore=shutil.ignore_patterns(".accesscodes"))
    return target


def test_the_state_folder_and_its_files_are_private(cli: CliRunner, tmp_path: Path) -> None:
    config = _quickstart(tmp_path)
    state = config / ".accesscodes"
    state.mkdir(mode=0o755)  # left by an older version
    (state / "state.db").touch(mode=0o644)
    result = cli("apply", "-c", str(config), "--now", NOW, "--auto-approve")
    assert result.code == 0, result.output
    assert mode(state) == 0o700
    names = {"sim.json", "state.db", "journal.key"}
    assert names <= {p.name for p in state.iterdir()}
    assert {name: mode(state / name) for name in names} == dict.fromkeys(names, 0o600)


def test_the_journal_database_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    state = tmp_path / ".accesscodes"
    state.mkdir(mode=0o755)
    (state / "state.db-shm").touch(mode=0o644)  # left wider by an older version
    journal = Journal(state / "state.db", key=b"k" * 32)
    try:
        journal.start_run(command="apply", plan_checksum=None, now=datetime.now(UTC))
        files = ["state.db", "state.db-wal", "state.db-shm"]
        assert {name: mode(state / name) for name in files} == dict.fromkeys(files, 0o600)
        assert mode(state) == 0o700
    finally:
        journal.close()


def test_the_simulator_and_the_apply_lock_make_their_folders_private(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = _quickstart(tmp_path)
    text = (config / "accesscodes.yaml").read_text()
    text = text.replace("  prune: false\n", "  prune: false\n  state_db: ../journal/state.db\n")
    (config / "accesscodes.yaml").write_text(text)
    result = cli("apply", "-c", str(config), "--now", NOW, "--auto-approve")
    assert result.code == 0, result.output
    assert {p.name for p in (config / ".accesscodes").iterdir()} == {"sim.json"}
    assert mode(config / ".accesscodes") == 0o700
    assert mode(config / ".accesscodes" / "sim.json") == 0o600
    assert (tmp_path / "journal" / "apply.lock").exists()
    assert mode(tmp_path / "journal") == 0o700


@pytest.mark.parametrize("where", ["file", "environment"])
def test_a_short_journal_key_is_refused(cli: CliRunner, tmp_path: Path, where: str) -> None:
    config = _quickstart(tmp_path)
    env = {}
    if where == "file":
        (config / ".accesscodes").mkdir()
        (config / ".accesscodes" / "journal.key").write_bytes(b"too-short-key")
    else:
        env["ACCESSCODES_JOURNAL_KEY"] = "too-short-key"
    result = cli("apply", "-c", str(config), "--now", NOW, "--auto-approve", env=env)
    assert result.code == 1
    assert "journal key" in result.err and "13 bytes" in result.err
    assert "at least 32" in result.err
    assert "too-short-key" not in result.output
    assert "Apply complete" not in result.out


def test_import_writes_its_files_0600_even_over_a_wider_one(cli: CliRunner, tmp_path: Path) -> None:
    config = _quickstart(tmp_path)
    assert cli("apply", "-c", str(config), "--now", NOW, "--auto-approve").code == 0
    out = tmp_path / "out"  # not in the config's folder: -c reads every YAML file there
    out.mkdir()
    env_file = out / "pins.env"
    env_file.write_text("STALE=1\n")
    env_file.chmod(0o644)
    imported = cli(
        "import", "-c", str(config), "--out", "imported.yaml", "--env-file", "pins.env", cwd=out
    )
    assert imported.code == 0, imported.output
    assert mode(env_file) == 0o600 and "STALE" not in env_file.read_text()
    # Alice (resident) has one PIN on both doors: one person, one variable
    assert "ALICE_RESIDENT_PIN=482913" in env_file.read_text().splitlines()
    assert mode(out / "imported.yaml") == 0o600
    literal = cli("import", "-c", str(config), "--out", "literal.yaml", "--show-codes", cwd=out)
    assert literal.code == 0, literal.output
    assert "482913" in (out / "literal.yaml").read_text()
    assert mode(out / "literal.yaml") == 0o600
