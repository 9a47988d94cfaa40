"""The apply lock on PostgreSQL: one apply at a time per state database, as with SQLite.

An advisory lock held by a connection of its own, not one from the pool (a session-level lock
on a pooled connection would stay behind when the connection went back to the pool). The
database releases it when that connection ends, so an apply killed halfway never leaves it
stuck. An apply takes it exclusively; a controller replica's run takes it shared, so replicas
run side by side but never during an apply. The holder is found for a refusal through
`pg_locks` and the connection's `application_name` (pid and actor).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from reconciler.core.errors import PlanRefused
from reconciler.state.journal import actor
from reconciler.state.postgres import connect, display_dsn, unavailable

APPLY_LOCK = 0x61706C79  # "aply": the advisory lock's key (classid 0, objid this)


@contextmanager
def pg_apply_lock(
    url: str,
    *,
    wait: float,
    shared: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 0.2,
) -> Iterator[None]:
    """Hold the state database's apply lock, waiting up to `wait` seconds for it."""
    kind = "replica" if shared else "apply"
    connection = connect(url, application_name=f"accesscodes {kind}: pid {os.getpid()}, {actor()}")
    take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    try:
        deadline = time.monotonic() + wait
        while not connection.execute(f"SELECT {take}(%s)", (APPLY_LOCK,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise PlanRefused(
                    f"another apply holds the state lock in {display_dsn(url)} "
                    f"({_holder(connection)}); nothing was applied"
                )
            sleep(poll)
        yield
    except psycopg.Error as exc:
        raise unavailable(url, exc) from exc
    finally:
        connection.close()  # ending the session releases the lock


def _holder(connection: psycopg.Connection) -> str:
    rows = connection.execute(
        "SELECT a.application_name, a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND l.granted AND l.classid = 0 AND l.objid = %s AND l.pid <> pg_backend_pid()",
        (APPLY_LOCK,),
    ).fetchall()
    if not rows:
        return "holder unknown"
    return "; ".join(
        f"{name.split(': ', 1)[-1]}, since {started.isoformat()}" for name, started in rows
    )
