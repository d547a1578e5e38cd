"""`solidarity serve` under SIGKILL: its sequencer, its booker and the server itself killed at
random instants while SePay notifications arrive without pause and statements are imported
(SQLite, own SOLIDARITY_HOME).

Each worker killed comes back by itself and /readyz answers 503 meanwhile, then 200; after the
server is killed nothing of it keeps running or holds the port, and a new `serve` (what
systemd's Restart=always does) takes over. In the end every acknowledged notification is
booked exactly once, every imported gift once, and the published log holds them all.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from bench.feeds_load import Install, get, notification, send_until_acknowledged
from bench.gen_statement import statement_write

from solidarity.web.server import port_check
from tests.functional.test_serve import alive, children

HELPERS = {"sequencer": "log sequence", "booker": "notifications process --forever"}
SENDERS = 4
PAUSE = 0.05  # seconds between two notifications of one sender


def readyz(port: int) -> int | None:
    try:
        return get(port, "/readyz")[0]
    except OSError:
        return None


def wait_for(port: int, status: int, seconds: float) -> bool:
    """Poll /readyz until it answers `status`; whether it did in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if readyz(port) == status:
            return True
        time.sleep(0.05)
    return False


def family(pid: int) -> set[int]:
    """`pid`'s children and their children (the web workers are grandchildren)."""
    found = set(children(pid))
    for child in list(found):
        found |= set(children(child))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_killed_workers_and_server_come_back_and_lose_nothing(tmp_path: Path):
    site = Install(tmp_path / "home").setup()
    site.start()
    assert wait_for(site.port, 200, 60), "never ready after start"
    rng = random.Random(1509)
    stop = threading.Event()
    numbers = itertools.count(1)
    acknowledged: list[int] = []
    reports: list[dict[str, int]] = []
    deadline = time.monotonic() + 400

    def sender() -> None:
        # A provider: each notification retried until acknowledged, then the next one
        while not stop.is_set():
            n = next(numbers)
            send_until_acknowledged(site.port, notification(n), deadline=deadline)
            acknowledged.append(n)
            time.sleep(PAUSE)

    def importer() -> None:
        # An accountant importing one statement after another
        for seed in itertools.count(1):
            if stop.is_set():
                return
            path = tmp_path / f"statement-{seed}.csv"
            statement_write(path, rows=1500, seed=seed, days=3)
            out = site.sol("import", str(path), "--json")
            reports.append(json.loads(out)["files"][0])

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    threads.append(threading.Thread(target=importer))
    for t in threads:
        t.start()
    victims = [*HELPERS, "serve"] * 2
    rng.shuffle(victims)
    try:
        for victim in victims:
            time.sleep(rng.uniform(0.2, 2.0))
            assert site.server is not None
            if victim == "serve":
                # When the server process alone is killed
                processes = family(site.server.pid)
                os.kill(site.server.pid, signal.SIGKILL)
                site.server.wait()
                site.server = None
                # Then none of its processes lives on, and the port is free
                until = time.monotonic() + 15
                while any(alive(p) for p in processes) and time.monotonic() < until:
                    time.sleep(0.05)
                assert not [p for p in processes if alive(p)], f"{victim}: survivors"
                port_check("127.0.0.1", site.port)  # raises PortInUse
                assert readyz(site.port) is None
                # And a new server (as systemd restarts it) becomes ready by itself
                site.start()
                assert wait_for(site.port, 200, 90), "not ready after the server restarted"
            else:
                # When a worker is killed
                pid = next(
                    p for p, cmd in children(site.server.pid).items() if HELPERS[victim] in cmd
                )
                os.kill(pid, signal.SIGKILL)
                # Then /readyz says so, and is ready again once the worker is back
                assert wait_for(site.port, 503, 30), f"{victim} killed, /readyz still 200"
                assert wait_for(site.port, 200, 90), f"{victim} killed, never ready again"
                assert pid not in children(site.server.pid)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=300)
    # Then, once the backlogs are worked off, every acknowledged notification is booked once
    assert wait_for(site.port, 200, 90)
    site.stop()
    site.sol("notifications", "process")
    rows = json.loads(site.sol("notifications", "list", "--json", "--limit", "1000000"))
    assert sorted(int(r["provider_id"]) for r in rows) == sorted(acknowledged)
    assert {r["status"] for r in rows} == {"booked"}
    assert len({r["gift"] for r in rows}) == len(rows)
    # And every imported gift once, the books balanced, and all of it in the signed log
    assert reports and acknowledged
    totals = json.loads(site.sol("campaign", "totals", "cuba", "--json"))
    assert totals["donation_count"] == len(acknowledged) + sum(r["booked"] for r in reports)
    assert json.loads(site.sol("ledger", "check", "--json"))["ok"]
    site.sol("log", "sequence", "--once")
    vkey = site.sol("log", "vkey", "cuba").strip()
    log = site.home / "log" / "cuba"
    verified = json.loads(site.sol("verify", str(log), "--vkey", vkey, "--json"))
    assert verified["kinds"]["donation"] == totals["donation_count"]


@pytest.mark.slow
def test_a_second_server_on_a_port_in_use_is_refused(tmp_path: Path):
    site = Install(tmp_path / "home").setup()
    site.start()
    try:
        # When another `serve` is started on the same port
        second = subprocess.run(
            [sys.executable, "-m", "solidarity.cli", "serve", "--port", str(site.port)],
            env=site.env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        # Then it refuses, saying why, and the first one still answers
        assert second.returncode == 2
        assert f"127.0.0.1:{site.port} is already in use" in second.stderr
        assert get(site.port, "/healthz") == (200, b"ok")
    finally:
        site.stop()
