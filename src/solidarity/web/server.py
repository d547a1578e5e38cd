"""`solidarity serve`: the web workers (Granian, WSGI) with the log sequencer, the
notification booker and the import worker beside them.

The helpers run as child processes of the serving process, started before it becomes the
Granian server (`exec`, same pid), so they see it as their parent and exit when it is gone
(`--exit-with-parent`): stopping or killing the server stops them. Processes rather than
threads: Granian's workers are processes of their own, and a thread holding a database
connection or a lock would not survive that. Several `serve` processes, on one host or many,
may each run helpers: the per-log lock lets one sequencer work at a time and another take over
when it dies; the booker's outcomes are idempotent.

Granian rather than a pure-Python server: measured on this project's 2-core machine, the
same Django application answered a static page 1.75x as fast, a micro-cached public page 6x
as fast, and stored signed webhooks 1.4x as fast (bench/ and README).

Granian warns at start that 16 threads per worker is many for the cores: it is meant. The
receivers' threads mostly wait for their shared commit, and 16 measured better than 8 for
webhooks at 1,000/s and the same for the public pages (README, benchmarks).

SOLIDARITY_SEQUENCER=off starts no helpers (run `solidarity log sequence` and
`solidarity notifications process --forever` yourself); SOLIDARITY_FEED_SWEEPER=off starts
the sequencer without the booker.
"""

from __future__ import annotations

import os
import subprocess
import sys

from solidarity.config import env_flag

BOOKER_INTERVAL = 0.2
"""Seconds between two passes of the notification booker: part of acknowledgement → log."""

APPLICATION = "solidarity.web.wsgi:application"


_helpers: list[subprocess.Popen[bytes]] = []  # referenced until this process becomes the server


def _helpers_start() -> None:
    if not env_flag("SOLIDARITY_SEQUENCER", default=True):
        return
    cli = [sys.executable, "-m", "solidarity.cli"]
    commands = [[*cli, "log", "sequence", "--exit-with-parent"]]
    if env_flag("SOLIDARITY_FEED_SWEEPER", default=True):
        # The booker: books the notifications the receivers stored and acknowledged, and
        # flags feed gifts no statement confirmed (solidarity.apps.feeds).
        booker = [*cli, "notifications", "process", "--forever", "--exit-with-parent"]
        commands.append([*booker, "--interval", str(BOOKER_INTERVAL)])
    # The import worker: parses and books the statements uploaded in the back office, so
    # no web worker ever reads a file (solidarity.apps.imports.jobs).
    commands.append([*cli, "import-jobs", "run", "--forever", "--exit-with-parent"])
    for command in commands:
        _helpers.append(subprocess.Popen(command))  # noqa: S603 (our own interpreter and module)


def server_argv(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> list[str]:
    """The Granian command line `serve` runs (WSGI, `threads` blocking threads per worker)."""
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi",
        "--host", host, "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads),
        "--no-ws", "--respawn-failed-workers", "--workers-kill-timeout", "10",
        "--log-level", "warning", "--access-log" if access_log else "--no-access-log",
        APPLICATION,
    ]  # fmt: skip


def server_run(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    """Start the helpers, then become the server (does not return)."""
    _helpers_start()
    argv = server_argv(
        host=host, port=port, workers=workers, threads=threads, access_log=access_log
    )
    os.execv(sys.executable, argv)  # noqa: S606 (replaces this process with the server)
