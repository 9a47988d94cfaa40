"""The state store on either engine: what one process keeps, another reads the same; the
PostgreSQL side's own rules (migrations, the shared journal key, the URL never shown whole)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from conftest import CliRunner

from reconciler.core.errors import StateUnavailable, UsageError
from reconciler.state.journal import Journal
from reconciler.state.pgschema import MIGRATIONS
from reconciler.state.postgres import display_dsn
from reconciler.state.store import open_state

NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)
KEY = b"k" * 40


def two_processes(state: str | None, folder: Path) -> tuple[Journal, Journal]:
    """Two handles on one store, as two processes (or two replicas) would have."""
    if state is None:
        return Journal(folder / "state.db", key=KEY), Journal(folder / "state.db", key=KEY)
    first = open_state(state, folder / "state.db", create=True)
    second = open_state(state, folder / "state.db", create=True)
    assert first is not None and second is not None
    return first, second


@pytest.fixture(autouse=True)
def journal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESSCODES_JOURNAL_KEY", KEY.decode())


def test_a_pin_drawn_by_two_processes_at_once_keeps_the_first(
    state: str | None, tmp_path: Path
) -> None:
    one, other = two_processes(state, tmp_path)
    one.pins.keep({"bob": "482913"}, NOW, drawn=frozenset({"bob"}))
    other.pins.keep({"bob": "771203"}, NOW, drawn=frozenset({"bob"}))  # drew too, lost
    assert other.pins.load().pins == {"bob": "482913"}
    other.pins.keep({"bob": "771203"}, NOW)  # a PIN from the config or the locks: it wins
    assert one.pins.load().pins == {"bob": "771203"}


def test_a_rotation_gives_way_to_the_pin_drawn_for_it(state: str | None, tmp_path: Path) -> None:
    one, other = two_processes(state, tmp_path)
    one.pins.keep({"bob": "482913"}, NOW)
    one.pins.rotate("bob", NOW)
    other.pins.keep({"bob": "650317"}, NOW, drawn=frozenset({"bob"}))
    assert one.pins.load().pins == {"bob": "650317"}
    assert one.pins.load().rotations == frozenset()


def test_a_run_written_by_one_process_reads_the_same_in_another(
    state: str | None, tmp_path: Path
) -> None:
    one, other = two_processes(state, tmp_path)
    run = one.start_run(command="apply", plan_checksum="abc", now=NOW)
    one.finish_run(run, "ok", NOW)
    one.events.move_cursor("seam", NOW)
    (row,) = other.history()
    assert (row.run_id, row.command, row.plan_checksum, row.run_outcome) == (
        run,
        "apply",
        "abc",
        "ok",
    )
    assert other.events.cursor("seam") == NOW


def test_the_schema_is_migrated_once_and_a_newer_one_is_refused(
    pg_url: str, tmp_path: Path
) -> None:
    open_state(pg_url, tmp_path / "state.db", create=True)
    with psycopg.connect(pg_url) as connection:
        versions = [r[0] for r in connection.execute("SELECT version FROM schema_migrations")]
        assert versions == [number for number, _, _ in MIGRATIONS]
        connection.execute(
            "INSERT INTO schema_migrations (version, description) VALUES (999, 'from the future')"
        )
    from reconciler.state.pgschema import migrate

    with psycopg.connect(pg_url) as connection, pytest.raises(StateUnavailable, match="999"):
        migrate(connection)


def test_a_machine_with_another_journal_key_is_refused(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_state(pg_url, tmp_path / "state.db", create=True)
    monkeypatch.setenv("ACCESSCODES_JOURNAL_KEY", "x" * 40)
    with pytest.raises(UsageError, match="same ACCESSCODES_JOURNAL_KEY"):
        open_state(pg_url, tmp_path / "state.db", create=True)


def test_the_state_url_is_shown_without_its_password() -> None:
    shown = display_dsn("postgresql://ops:s3cret-pw@db.example:5433/locks?sslmode=require")
    assert shown == "postgresql://ops@db.example:5433/locks"


def test_a_state_that_is_not_a_postgresql_url_is_one_clear_error(
    cli: CliRunner, quickstart: Path
) -> None:
    result = cli("plan", "-c", str(quickstart), "--state", "mysql://ops:pw@db/locks")
    assert result.code == 1
    assert "--state / ACCESSCODES_STATE takes a postgresql://" in result.err
    assert "pw" not in result.err


def test_an_unreachable_database_is_named_without_its_password(
    cli: CliRunner, quickstart: Path
) -> None:
    url = "postgresql://ops:s3cret-pw@127.0.0.1:1/locks"
    result = cli("apply", "-c", str(quickstart), "--state", url, "--auto-approve")
    assert result.code == 1
    assert "postgresql://ops@127.0.0.1:1/locks" in result.err and "s3cret" not in result.err
    assert not (quickstart / ".accesscodes" / "sim.json").exists()  # nothing was applied


def test_a_feed_kept_for_its_last_good_copy_is_sealed_and_reads_back(
    state: str | None, tmp_path: Path
) -> None:
    from reconciler.state.sourcecache import CachedFeed

    body = b"BEGIN:VCALENDAR\nDESCRIPTION:Phone (last 4): 7391\nEND:VCALENDAR\n"
    one, other = two_processes(state, tmp_path)
    one.sources.save(CachedFeed(name="flat-airbnb", body=body, held_body=body + b" "))
    back = other.sources.load()["flat-airbnb"]
    assert (back.body, back.held_body) == (body, body + b" ")
    raw = one.database.execute("SELECT body, held_body FROM source_cache")
    assert b"7391" not in bytes(raw[0][0]) and b"7391" not in bytes(raw[0][1])
