"""`solidarity serve`: the server and its helpers (log sequencer, notification booker) start
together, and the helpers and web workers end when `serve` ends, even when only `serve` is
stopped (SIGKILL: tests/functional/test_supervise_kill.py)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from bench.feeds_load import Install, get


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`: {pid: command line}."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[1]) == pid:
            found[int(entry.name)] = command
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_helpers_start_with_the_server_and_end_with_it(tmp_path: Path):
    site = Install(tmp_path / "home").setup()
    site.start()
    assert site.server is not None
    try:
        # Given a running server
        assert get(site.port, "/healthz") == (200, b"ok")
        helpers = {
            pid: cmd for pid, cmd in children(site.server.pid).items() if "solidarity.cli" in cmd
        }
        # Then its helpers run beside it: the sequencer and the booker, and the web workers
        assert any("log sequence" in c for c in helpers.values())
        assert any("notifications process --forever" in c for c in helpers.values())
        assert any("import-jobs run --forever" in c for c in helpers.values())
        assert any("search index --forever" in c for c in helpers.values())
        (granian,) = [p for p, c in children(site.server.pid).items() if "granian" in c]
        workers = set(children(granian))
        assert len(workers) == 2
        helpers |= dict.fromkeys(workers | {granian}, "")
        # When only the server process is stopped (not its process group)
        os.kill(site.server.pid, signal.SIGTERM)
        site.server.wait(30)
        site.server = None
        # Then the helpers and the web server end too
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in helpers)
    finally:
        site.stop()
