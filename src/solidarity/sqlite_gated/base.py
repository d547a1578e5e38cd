"""Django's SQLite backend, with writers queued on a file lock instead of SQLite's busy sleep.

SQLite lets one writer in at a time. A connection that finds the write lock taken sleeps in
SQLite's busy handler (1, 2, 5, 10 … 100 ms steps) and retries; it is not woken when the lock
frees. Under many short writers (webhook receivers) beside a few long ones (the booker, the
sequencer, an import) that sleeping, not the work, made acknowledgements take up to a second.

Contract: every transaction this backend begins (all are `BEGIN IMMEDIATE`, i.e. writers)
first takes an exclusive `flock` on `<database>-gate`, and releases it when the transaction
commits, rolls back or its connection closes. Waiters block in the kernel and the next one
runs as soon as the gate is released. The gate only orders writers that use this backend;
SQLite's own lock still guards the data, so a writer outside it (the sqlite3 shell, a
statement in autocommit mode) is as safe as before and only waits the old way. An in-memory
database has no gate.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate_fd: int | None = None
        self._gate_held = False

    def _gate_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db() or not name:
            return None
        return name + "-gate"

    def _gate_acquire(self) -> None:
        if self._gate_held:
            return
        if self._gate_fd is None:
            path = self._gate_path()
            if path is None:
                return
            self._gate_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._gate_fd, fcntl.LOCK_EX)
        self._gate_held = True

    def _gate_release(self) -> None:
        if self._gate_held and self._gate_fd is not None:
            fcntl.flock(self._gate_fd, fcntl.LOCK_UN)
        self._gate_held = False

    def _start_transaction_under_autocommit(self) -> None:
        self._gate_acquire()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._gate_release()
            raise

    def _ending(self, end: Callable[[], None]) -> None:
        """Run `end` (commit or rollback); release the gate once no transaction is open."""
        try:
            end()
        finally:
            if self.connection is None or not self.connection.in_transaction:
                self._gate_release()

    def _commit(self) -> None:
        self._ending(super()._commit)

    def _rollback(self) -> None:
        self._ending(super()._rollback)

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._gate_release()
            if self._gate_fd is not None:
                os.close(self._gate_fd)
                self._gate_fd = None
