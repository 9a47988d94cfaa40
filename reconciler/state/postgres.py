"""The state store on PostgreSQL (`--state postgresql://...`), through psycopg 3 and its pool.

One pool per URL and process (`shared_pool`), opened on first call with the schema migrated
(`state.pgschema`); connections are checked when taken from the pool, so a database that went
away and came back is used again without a restart. Every failure of the database, the pool
or the network is raised as `StateUnavailable`, with the URL shown without its password
(`display_dsn`): callers never see psycopg's own errors.

Statements come in the stores' shared dialect (`?` placeholders) and are turned into psycopg's
(`%s`). Outside `transaction()` each call takes a connection from the pool and commits on its
own; inside it, the block's calls share one connection and one transaction (per thread).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from reconciler.core.errors import StateUnavailable
from reconciler.state.database import Row

CONNECT_TIMEOUT = 5  # seconds to reach the database before a call counts as failed
POOL_MAX = 4  # the journal and the lease keeper; a few more for a burst of webhooks
_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def display_dsn(url: str) -> str:
    """The URL as logs and messages show it: user, host, port and database, no password."""
    try:
        parts = conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://****"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def unavailable(url: str, exc: BaseException) -> StateUnavailable:
    """One error for every way the database can fail, naming it without its password."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if url and url in reason:
        reason = reason.replace(url, display_dsn(url))
    return StateUnavailable(f"the state database {display_dsn(url)}: {reason}")


def connect(url: str, *, application_name: str = "accesscodes") -> psycopg.Connection:
    """A connection of its own (not from the pool), in autocommit: for what must keep its
    session, the apply lock's advisory lock."""
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name[:63],
        )
    except psycopg.Error as exc:
        raise unavailable(url, exc) from exc


def shared_pool(url: str) -> ConnectionPool:
    """This process' pool for `url`, opened (and the schema migrated) on first use."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            pool = _open_pool(url)
            _pools[url] = pool
        return pool


def _open_pool(url: str) -> ConnectionPool:
    from reconciler.state.pgschema import migrate

    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_MAX,
        kwargs={"connect_timeout": CONNECT_TIMEOUT, "application_name": "accesscodes"},
        check=ConnectionPool.check_connection,
        timeout=CONNECT_TIMEOUT,
        open=False,
        name="accesscodes-state",
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        with pool.connection() as connection:
            migrate(connection)
    except BaseException as exc:  # a newer schema too: no pool left behind, none cached
        pool.close()
        if isinstance(exc, psycopg.Error | PoolTimeout):
            raise unavailable(url, exc) from exc
        raise
    return pool


class PostgresDatabase:
    """The shared state store: calls in the stores' dialect, run through the pool."""

    dialect = "postgresql"
    same = "IS NOT DISTINCT FROM"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows."""
        with self._connection() as connection:
            cursor = connection.execute(_dialect(sql), params)
            return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per row, all or nothing."""
        with self._connection() as connection, connection.cursor() as cursor:
            cursor.executemany(_dialect(sql), list(rows))

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT; the new row's id."""
        rows = self.execute(f"{sql} RETURNING id", params)
        return int(rows[0][0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The block's calls on one connection, committed together (nested: one block)."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        with self._connection() as connection:
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None

    def close(self) -> None:
        """Nothing to close: the pool is the process' and outlives one store."""

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        held = getattr(self._local, "connection", None)
        if held is not None:
            yield held
            return
        pool = shared_pool(self.url)  # raises StateUnavailable while the database is away
        try:
            with pool.connection() as connection:
                yield connection
        except (psycopg.Error, PoolTimeout) as exc:
            raise unavailable(self.url, exc) from exc


def _dialect(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
