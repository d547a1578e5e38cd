"""Writes of worker heartbeats.

Contract: a worker that calls `heartbeat_start(role)` beats every BEAT_SECONDS from a thread
of its own for as long as its process lives, whatever its main loop is doing (a long
sequencer pass is still a live sequencer; whether it keeps up is measured by the lag checks,
not by the beat). A process killed stops beating at once; `/readyz` calls a role down when
its freshest beat is older than SOLIDARITY_READY_HEARTBEAT_SECONDS.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from solidarity.apps.workers.models import WorkerBeat
from solidarity.config import node_name

log = logging.getLogger("solidarity.workers")

BEAT_SECONDS = 5.0
"""Seconds between two heartbeats of a worker."""


def worker_beat(*, role: str, started_at: datetime, host: str = "", pid: int = 0) -> None:
    """Record that `role` on `host` (default this node, `config.node_name`) is alive now (one
    row per role and node, overwritten)."""
    WorkerBeat.objects.update_or_create(
        role=role,
        host=host or node_name(),
        defaults={"pid": pid or os.getpid(), "started_at": started_at, "beat_at": timezone.now()},
    )


def heartbeat_start(role: str, *, every: float = BEAT_SECONDS) -> threading.Event:
    """Beat for `role` now, then every `every` seconds from a daemon thread; set the returned
    event to stop. A failed beat (database busy or away, table not migrated) is logged and
    tried again at the next; it never stops the worker."""
    stop = threading.Event()
    started = timezone.now()

    def beat() -> None:
        try:
            close_old_connections()
            worker_beat(role=role, started_at=started)
        except DatabaseError as exc:  # the worker goes on; /readyz sees the missing beats
            log.warning("%s heartbeat failed: %s", role, exc)
            connection.close()

    def run() -> None:
        while not stop.wait(every):
            beat()
        connection.close()

    beat()

    threading.Thread(target=run, name=f"heartbeat-{role}", daemon=True).start()
    return stop
