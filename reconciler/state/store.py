"""Where the state lives: the SQLite file beside the config (the default) or the PostgreSQL
database `--state` / `ACCESSCODES_STATE` names; and the apply lock that goes with each.

Both keep the journal key outside the database (`ACCESSCODES_JOURNAL_KEY`, else the
`journal.key` file in the state folder). On PostgreSQL several machines share the rows, so
they must share the key too: the database keeps a keyed check value of the key it was first
written with (`state_meta`), and a process with another key is refused at once, before its
fingerprints could call every code drifted or its PINs fail to decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.core.errors import UsageError
from reconciler.core.settings import STATE_ENV
from reconciler.state.journal import Journal, load_key
from reconciler.state.lock import apply_lock

if TYPE_CHECKING:
    from reconciler.state.postgres import PostgresDatabase

KEY_CHECK = "journal_key_check"
_keys_checked: set[tuple[str, str]] = set()  # (url, check value): a process checks once


def is_postgres_url(url: str | None) -> bool:
    """Whether a `--state` value names a PostgreSQL database."""
    return bool(url) and str(url).startswith(("postgresql://", "postgres://"))


def check_state_url(url: str | None) -> str | None:
    """The `--state` value, refused at once when it is neither empty nor a PostgreSQL URL."""
    if not url:
        return None
    if not is_postgres_url(url):
        raise UsageError(
            f"--state / {STATE_ENV} takes a postgresql://... URL (the default, without it, is "
            "the SQLite file in .accesscodes/), not "
            f"{url.split('://', 1)[0] + '://...' if '://' in url else repr(url)}"
        )
    return url


def open_state(url: str | None, sqlite_path: Path, *, create: bool) -> Journal | None:
    """The journal: in PostgreSQL when `url` names one, else the SQLite file (None when it
    does not exist and `create` is false: a plan never creates it)."""
    if check_state_url(url):
        assert url is not None
        from reconciler.state.postgres import PostgresDatabase  # psycopg: only when used

        database = PostgresDatabase(url)
        key = load_key(sqlite_path.parent / "journal.key")
        _check_key(database, key, url)
        return Journal.on(database, key)
    if not create and not sqlite_path.exists():
        return None
    return Journal(sqlite_path)


def _check_key(database: PostgresDatabase, key: bytes, url: str) -> None:
    mark = hmac.new(key, b"accesscodes journal key check", hashlib.sha256).hexdigest()
    if (url, mark) in _keys_checked:
        return
    database.execute(
        "INSERT INTO state_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (KEY_CHECK, mark),
    )
    rows = database.execute("SELECT value FROM state_meta WHERE name = ?", (KEY_CHECK,))
    if not rows or not hmac.compare_digest(rows[0][0], mark):
        from reconciler.state.postgres import display_dsn

        raise UsageError(
            f"the journal key here is not the one the state database {display_dsn(url)} was "
            "written with: give every machine and replica the same ACCESSCODES_JOURNAL_KEY. "
            "Nothing was read or written."
        )
    _keys_checked.add((url, mark))


@contextmanager
def state_lock(
    url: str | None,
    directory: Path,
    *,
    wait: float,
    shared: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> Iterator[None]:
    """The apply lock of this state: one apply at a time (`shared`: a controller replica's
    run, which excludes applies but not the other replicas). Raises `PlanRefused`."""
    if check_state_url(url):
        from reconciler.state.pglock import pg_apply_lock

        assert url is not None
        with pg_apply_lock(url, wait=wait, shared=shared, **_sleep(sleep)):
            yield
        return
    with apply_lock(directory, wait=wait, **_sleep(sleep)):
        yield


def _sleep(sleep: Callable[[float], None] | None) -> dict[str, Callable[[float], None]]:
    return {} if sleep is None else {"sleep": sleep}
