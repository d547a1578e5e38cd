"""Gunicorn hooks for `solidarity serve`: run the log sequencer beside the web workers.

The master starts `solidarity log sequence` as a child process when it starts and stops it
when it exits, so gifts booked through the site reach the public log within seconds. A child
process rather than a thread in the master: the master forks workers, and a thread holding a
database connection or a lock there would be copied into every worker mid-flight. The child
also exits when the master is gone. Several `serve` processes, on one host or many, may each
run one: the per-log lock lets one work at a time and another take over when it dies.
SOLIDARITY_SEQUENCER=off starts none (run `solidarity log sequence` yourself).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from solidarity.config import env_flag

_children: list[subprocess.Popen[bytes]] = []

BOOKER_INTERVAL = 0.2
"""Seconds between two passes of the notification booker: part of acknowledgement → log."""


def on_starting(server: Any) -> None:
    if not env_flag("SOLIDARITY_SEQUENCER", default=True):
        return
    command = [sys.executable, "-m", "solidarity.cli", "log", "sequence", "--exit-with-parent"]
    _children.append(subprocess.Popen(command))  # noqa: S603 (our own interpreter and module)
    server.log.info("log sequencer started (pid %s)", _children[-1].pid)
    if env_flag("SOLIDARITY_FEED_SWEEPER", default=True):
        # The booker: books the notifications the receivers stored and acknowledged, and
        # flags feed gifts no statement confirmed (solidarity.apps.feeds).
        booker = [sys.executable, "-m", "solidarity.cli", "notifications", "process"]
        command = [*booker, "--forever", "--interval", str(BOOKER_INTERVAL), "--exit-with-parent"]
        _children.append(subprocess.Popen(command))  # noqa: S603 (our own interpreter and module)
        server.log.info("notification booker started (pid %s)", _children[-1].pid)


def on_exit(server: Any) -> None:
    for child in _children:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
