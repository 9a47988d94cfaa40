"""The one seam between the state store and its engine: a few calls both SQLite and PostgreSQL
answer the same way, so the journal, PINs, feed caches and event log are written once.

The stores write their SQL in the subset both engines read alike (`?` placeholders, `ON
CONFLICT ... DO UPDATE`, `ON CONFLICT DO NOTHING`); where the two differ, the store asks the
database (`same`: the null-safe equality; `insert_id`: the id of a new row). Every call returns
its rows at once (a list), so no cursor outlives the call and the PostgreSQL side can hand its
connection back to the pool between calls. `transaction()` keeps the calls of a block on one
connection, all or nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

Row = tuple[Any, ...]


class Database(Protocol):
    """What a store needs of its engine (`SqliteDatabase`, `state.postgres.PostgresDatabase`)."""

    dialect: str
    same: str  # the null-safe equality: `x IS ?` in SQLite, `x IS NOT DISTINCT FROM ?` in SQL

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows (empty for a statement that returns none)."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters, in one transaction."""
        ...

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with an `id` key; the new row's id."""
        ...

    def transaction(self) -> Any:
        """A context in which every call is one transaction on one connection."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...


class SqliteDatabase:
    """The local state file: one connection in autocommit, transactions where asked for."""

    dialect = "sqlite"
    same = "IS"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows."""
        return self.connection.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per row, all or nothing."""
        with self.transaction():
            self.connection.executemany(sql, rows)

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT; the new row's id."""
        return int(self.connection.execute(sql, params).lastrowid or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing (a nested block joins the outer one)."""
        if self.connection.in_transaction:
            yield
            return
        with self.connection:  # BEGIN ... COMMIT, or ROLLBACK on an error
            self.connection.execute("BEGIN")
            yield

    def close(self) -> None:
        """Close the file."""
        self.connection.close()
