"""Public reads on a streaming replica (DATABASE_REPLICA_URL), never anything else.

`PublicReadMiddleware` marks GET and HEAD requests of the public read paths (a campaign's
pages: its page, statement search, exports, receipts; short receipt links); while one is
served, `ReplicaRouter` sends reads to the "replica" database, provided `replica_usable()`:
the replica answered within REPLICA_CONNECT_TIMEOUT seconds and its last replayed
transaction is at most SOLIDARITY_REPLICA_MAX_LAG seconds behind (pg_last_xact_replay_timestamp,
or none to replay). Otherwise, and for every write, every migration and every other request,
the primary ("default") is used. The verdict is kept REPLICA_CHECK_SECONDS per process, so a
replica that is down costs one failed connection per interval, not one per request.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger("solidarity.replica")

REPLICA = "replica"
REPLICA_CHECK_SECONDS = 2.0
REPLICA_CONNECT_TIMEOUT = 1
PUBLIC_READ = re.compile(r"^(/[a-z]{2}(-[a-z]{2})?)?/(c/[-\w]+/|r/[^/]+$)")
"""Paths of the public reads a replica may serve (with or without a language prefix)."""

_public_read: contextvars.ContextVar[bool] = contextvars.ContextVar("public_read", default=False)
_verdict: dict[str, float | bool] = {"at": -1e9, "ok": False}
_lock = threading.Lock()

_LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def replica_lag() -> float:
    """Seconds the replica is behind the primary (0 when it has replayed all it received)."""
    with connections[REPLICA].cursor() as cur:
        cur.execute(_LAG_SQL)
        row = cur.fetchone()
    return float(row[0]) if row else 1e9


def replica_usable() -> bool:
    """Whether public reads may go to the replica now (see the module contract)."""
    if not replica_configured():
        return False
    now = time.monotonic()
    if now - float(_verdict["at"]) < REPLICA_CHECK_SECONDS:
        return bool(_verdict["ok"])
    with _lock:
        if now - float(_verdict["at"]) < REPLICA_CHECK_SECONDS:
            return bool(_verdict["ok"])
        try:
            lag = replica_lag()
            ok = lag <= float(getattr(settings, "SOLIDARITY_REPLICA_MAX_LAG", 5.0))
            if not ok:
                log.warning("replica %.1f s behind: public reads go to the primary", lag)
        except DatabaseError as exc:
            log.warning("replica unavailable (%s): public reads go to the primary", exc)
            connections[REPLICA].close()
            ok = False
        _verdict.update(at=time.monotonic(), ok=ok)
        return ok


def replica_forget() -> None:
    """Check the replica again at the next public read (tests, after a fail-over)."""
    _verdict.update(at=-1e9, ok=False)


class ReplicaRouter:
    """Reads of public read requests to the replica when usable; everything else primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return REPLICA if _public_read.get() and replica_usable() else "default"

    def db_for_write(self, model: type, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"


class PublicReadMiddleware:
    """Marks the public read requests (GET/HEAD on PUBLIC_READ paths) for ReplicaRouter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        public = request.method in ("GET", "HEAD") and bool(PUBLIC_READ.match(request.path))
        token = _public_read.set(public)
        try:
            return self.get_response(request)
        finally:
            _public_read.reset(token)
