"""Exactly once under SIGKILL: `solidarity serve` killed (whole process group) during a burst
of SePay notifications while the sender retries; after a restart every notification is
booked exactly once (SQLite, own SOLIDARITY_HOME)."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bench.feeds_load import Install, notification, send_until_acknowledged


@pytest.mark.slow
def test_server_killed_during_a_burst_books_each_notification_once(tmp_path: Path):
    site = Install(tmp_path / "home").setup()
    site.start()
    count = 240
    deadline = time.monotonic() + 90
    sent = threading.Semaphore(0)
    try:
        # Given senders that retry each notification until it is acknowledged
        with ThreadPoolExecutor(max_workers=12) as pool:

            def one(n: int) -> int:
                attempts = send_until_acknowledged(site.port, notification(n), deadline=deadline)
                sent.release()
                return attempts

            futures = [pool.submit(one, n) for n in range(1, count + 1)]
            # When the server is SIGKILLed mid-burst and started again
            for _ in range(count // 3):
                sent.acquire()
            site.kill()
            time.sleep(random.Random(7).uniform(0.2, 0.6))
            site.start()
            attempts = [f.result() for f in futures]
        # Then every notification is booked exactly once (the sweeper books stored leftovers)
        assert max(attempts) >= 1
        site.sol("notifications", "process")
        rows = json.loads(site.sol("notifications", "list", "--json", "--limit", "1000"))
        assert len(rows) == count
        assert {r["status"] for r in rows} == {"booked"}
        assert len({r["gift"] for r in rows}) == count
        totals = json.loads(site.sol("campaign", "totals", "cuba", "--json"))
        assert totals["donation_count"] == count
        assert totals["raised_minor"] == sum(10_000 + n for n in range(1, count + 1))
        assert json.loads(site.sol("ledger", "check", "--json"))["ok"]
    finally:
        site.stop()
