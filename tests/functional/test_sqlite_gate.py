"""The SQLite write gate: a writer waits on `<database>-gate` until the one inside ends its
transaction (commit, rollback or close), then goes in."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from solidarity.sqlite_gated.base import DatabaseWrapper


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These tests open their own database files, not the test database."""
    with django_db_blocker.unblock():
        yield


def wrapper(path: Path, alias: str) -> Any:
    settings = {
        "ENGINE": "solidarity.sqlite_gated",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    db = DatabaseWrapper(settings, alias=alias)
    db.ensure_connection()
    return db


def gate_free(path: Path) -> bool:
    fd = os.open(str(path) + "-gate", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_second_writer_waits_at_the_gate_until_the_first_commits(tmp_path):
    path = tmp_path / "gate.sqlite3"
    first = wrapper(path, "first")
    first.cursor().execute("CREATE TABLE t (x INTEGER)")
    waiting, began, done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def second_writer() -> None:
        second = wrapper(path, "second")
        waiting.set()
        second._start_transaction_under_autocommit()
        began.set()
        second.cursor().execute("INSERT INTO t VALUES (2)")
        second.commit()
        order.append("second")
        second.close()
        done.set()

    # Given one writer inside its transaction
    first._start_transaction_under_autocommit()
    assert not gate_free(path)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    thread = threading.Thread(target=second_writer)
    thread.start()
    # When a second writer asks to begin, then it waits (at the gate, not in SQLite)
    assert waiting.wait(10)
    assert not began.wait(0.3)
    # And once the first commits it goes in, and the gate is free when both are done
    order.append("first")
    first.commit()
    assert done.wait(10)
    thread.join(10)
    assert order == ["first", "second"]
    assert [r[0] for r in first.cursor().execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    assert gate_free(path)
    first.close()


def test_rollback_and_close_open_the_gate(tmp_path):
    path = tmp_path / "gate.sqlite3"
    db = wrapper(path, "db")
    db._start_transaction_under_autocommit()
    assert not gate_free(path)
    db.rollback()
    assert gate_free(path)
    db._start_transaction_under_autocommit()
    assert not gate_free(path)
    db.close()  # a connection closed mid-transaction rolls back: the gate opens too
    assert gate_free(path)


def test_an_in_memory_database_has_no_gate(tmp_path):
    db = wrapper(Path(":memory:"), "memory")
    db._start_transaction_under_autocommit()
    db.rollback()
    assert not Path(":memory:-gate").exists()
