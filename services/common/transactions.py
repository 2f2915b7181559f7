"""Write transactions that serialize where they must, and inserts that tolerate an existing row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

# One lock per SQLite engine: threads of one process queue here instead of spinning in SQLite's
# busy handler (whose sleeps would add tens of milliseconds to the tail).
_sqlite_locks: WeakKeyDictionary[Engine, threading.Lock] = WeakKeyDictionary()
_locks_guard = threading.Lock()


def _process_lock(engine: Engine) -> threading.Lock:
    with _locks_guard:
        lock = _sqlite_locks.get(engine)
        if lock is None:
            lock = _sqlite_locks[engine] = threading.Lock()
        return lock


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that commits on success and rolls back on any error.

    SQLite: BEGIN IMMEDIATE takes the database's write lock before the first read, so a
    read-check-write inside is serialized against every other writer (other processes wait up to
    the engine's busy timeout). PostgreSQL: READ COMMITTED, where the callers' conditional
    UPDATEs and unique constraints do the serializing.
    """
    if engine.dialect.name == "sqlite":
        with _process_lock(engine), engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
    else:
        with engine.begin() as conn:
            yield conn


def insert_if_absent(conn: Connection, table: Table, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was inserted."""
    if conn.dialect.name == "postgresql":
        statement = postgresql.insert(table).values(values).on_conflict_do_nothing()
    elif conn.dialect.name == "sqlite":
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - the platform ships SQLite and PostgreSQL only
        raise NotImplementedError(f"no conflict-tolerant insert for {conn.dialect.name}")
    return conn.execute(statement).rowcount == 1
