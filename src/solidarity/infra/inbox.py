"""The receivers' inbox: received notifications kept durably in a SQLite file of their own
until the booker moves them into the database.

Why a file of its own: SQLite lets one writer at a time into a database, and the booker (or a
statement import) holds the write lock for tens to hundreds of milliseconds per batch. A
receiver must commit before it acknowledges, so with one database every acknowledgement waited
for the booking in progress. With the inbox the receivers only wait for each other (a commit of
a few rows, under a millisecond), whatever the booker or an import is doing.

Contract:
- `put_many(items)` commits every item not already in the inbox (same `key`) before it
  returns: a process killed after it returned loses nothing. Per item, whether it was new.
- `take(limit)` returns the oldest items (id, key, record); `remove(ids)` deletes them once
  the caller has stored them elsewhere. An item taken and not removed (the taker died) is
  taken again: the caller's own store must ignore a second copy (unique key).
- Writers from any number of processes and threads queue on an exclusive `flock` on
  `<file>-gate` (as `solidarity.sqlite_gated` does for the database), not in SQLite's
  sleeping busy handler. Safe after fork (a process opens its own connection).
- Records are JSON objects; the inbox does not look inside them.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL UNIQUE,"
    " record TEXT NOT NULL)"
)


class Inbox:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pid = 0
        self._db: sqlite3.Connection | None = None
        self._gate = -1

    def _open(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            # A connection inherited through fork is never used (nor closed) by the child.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._gate = os.open(
                str(self.path) + "-gate", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
            self._pid = os.getpid()
            with self._writing(self._db):
                self._db.execute(_SCHEMA)
        return self._db

    @contextmanager
    def _writing(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on success, rolled back on error."""
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)

    def put_many(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[bool]:
        """Commit each (key, record) whose key is not in the inbox; per item, whether new."""
        encoded = [(key, json.dumps(record, separators=(",", ":"))) for key, record in items]
        with self._lock:
            db = self._open()
            with self._writing(db):
                new = []
                for key, record in encoded:
                    cur = db.execute(
                        "INSERT INTO inbox (key, record) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (key, record),
                    )
                    new.append(cur.rowcount == 1)
        return new

    def take(self, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
        """The oldest `limit` items, oldest first: (id, key, record). Nothing is removed."""
        with self._lock:
            rows = (
                self._open()
                .execute("SELECT id, key, record FROM inbox ORDER BY id LIMIT ?", (limit,))
                .fetchall()
            )
        return [(int(i), str(k), json.loads(r)) for i, k, r in rows]

    def remove(self, ids: Sequence[int]) -> None:
        """Delete the items `ids` (taken and stored elsewhere), all at once."""
        if not ids:
            return
        with self._lock:
            db = self._open()
            with self._writing(db):
                db.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in ids])

    def count(self) -> int:
        """How many items wait."""
        with self._lock:
            (count,) = self._open().execute("SELECT COUNT(*) FROM inbox").fetchone()
        return int(count)
