"""Restoring the receivers' inbox merges it into the live one: nothing acknowledged after the
backup is lost, nothing is stored twice."""

from __future__ import annotations

from pathlib import Path

from solidarity.backup import _inbox_merge, _sqlite_copy
from solidarity.infra.inbox import Inbox


def test_the_backed_up_inbox_is_merged_into_the_live_one(tmp_path: Path):
    # Given a backup of an inbox holding two notifications
    live = Inbox(tmp_path / "db-inbox")
    live.put_many([("feed:1", {"n": 1}), ("feed:2", {"n": 2})])
    _sqlite_copy(tmp_path / "db-inbox", tmp_path / "backup-inbox")
    # And, after it, one moved to the database and a third one acknowledged
    (first, *_rest) = live.take(1)
    live.remove([first[0]])
    live.put_many([("feed:3", {"n": 3})])
    # When the backup's inbox is restored
    out = _inbox_merge(tmp_path / "backup-inbox", tmp_path / "db-inbox")
    # Then the live inbox keeps the third and gets the first back (the booker's unique key
    # stores it once), and the second is not doubled
    assert out == "inbox: 1 of 2 backed-up notifications put back"
    assert sorted(k for _, k, _ in Inbox(tmp_path / "db-inbox").take(10)) == [
        "feed:1", "feed:2", "feed:3",
    ]  # fmt: skip
