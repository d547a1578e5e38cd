"""Leases: one holder at a time for a role across every node of an installation.

A lease is a row (`Lease`: name, holder, expiry). `lease_take` takes or renews it in one
conditional UPDATE in its own short transaction: it succeeds when the row is free, expired,
or already ours, and pushes the expiry LEASE_SECONDS ahead. On PostgreSQL the expiry is
computed by the database's clock, so nodes whose clocks differ still agree. Nothing is held
by the database session, so leases work through PgBouncer in transaction pooling mode, and a
holder that dies (SIGKILL, lost node) simply stops renewing: another takes the lease once it
expires, at most LEASE_SECONDS + LEASE_SECONDS / 3 later.

A lease is a liveness tool, not the safety of the log: a holder paused past its expiry may
still believe it holds the lease for a moment. What such a holder could write conflicts by
construction (the checkpoint is replaced only by compare-and-set; bookings are idempotent).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from solidarity.apps.workers.models import Lease

log = logging.getLogger("solidarity.workers")


def lease_seconds() -> float:
    """How long a lease lasts without renewal (SOLIDARITY_LEASE_SECONDS, default 6)."""
    return float(getattr(settings, "SOLIDARITY_LEASE_SECONDS", 6.0))


def holder_name(role: str = "") -> str:
    """A holder name unique to this process and call: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}:{secrets.token_hex(4)}"[:200]


def _now() -> object:
    # The database's clock where many hosts share it; SQLite serves one host.
    return Now() if connection.vendor == "postgresql" else timezone.now()


def _later(seconds: float) -> object:
    if connection.vendor == "postgresql":
        return ExpressionWrapper(
            Now() + Value(timedelta(seconds=seconds)), output_field=DateTimeField()
        )
    return timezone.now() + timedelta(seconds=seconds)


LOCK_TIMEOUT = "1s"
"""How long a lease statement may wait for a row lock before it counts as not taken."""


def lease_take(*, name: str, holder: str, seconds: float | None = None) -> bool:
    """Take or renew the lease `name` for `holder` for `seconds`; whether it is now held.

    Never waits long: a row another transaction is changing counts as not taken now.
    """
    seconds = lease_seconds() if seconds is None else seconds
    postgres = connection.vendor == "postgresql"
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if postgres and outermost:
            with connection.cursor() as cur:
                cur.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        if not Lease.objects.filter(name=name).exists():
            Lease.objects.bulk_create(
                [Lease(name=name, holder="", expires_at=timezone.now(), taken_at=timezone.now())],
                ignore_conflicts=True,
            )
        if postgres and not list(
            Lease.objects.select_for_update(skip_locked=True).filter(name=name).values("name")
        ):
            return False
        now = _now()
        done = (
            Lease.objects.filter(name=name)
            .filter(Q(holder=holder) | Q(expires_at__lt=now))
            .update(
                holder=holder,
                expires_at=_later(seconds),
                taken_at=Case(When(holder=holder, then=F("taken_at")), default=now),
            )
        )
    return done == 1


def _dead_here(holder: str) -> bool:
    """Whether `holder` names a process of this host that no longer exists."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_take_over_dead(*, name: str, holder: str, seconds: float | None = None) -> bool:
    """Take the lease at once when its holder is a dead process of this host (a restarted
    sequencer need not wait for its predecessor's lease to expire); whether it is now held."""
    current = Lease.objects.filter(name=name).values_list("holder", flat=True).first()
    if not current or current == holder or not _dead_here(current):
        return False
    with transaction.atomic():
        Lease.objects.filter(name=name, holder=current).update(holder="", expires_at=_now())
    return lease_take(name=name, holder=holder, seconds=seconds)


def lease_release(*, name: str, holder: str) -> None:
    """Give the lease up at once, if `holder` still holds it."""
    with transaction.atomic():
        Lease.objects.filter(name=name, holder=holder).update(holder="", expires_at=_now())


def lease_holder(*, name: str) -> str | None:
    """Who holds the lease now (None when free or expired)."""
    return (
        Lease.objects.filter(name=name, expires_at__gte=_now())
        .exclude(holder="")
        .values_list("holder", flat=True)
        .first()
    )


class LeaseKeeper:
    """Keeps trying to take, then renews, one lease from a daemon thread of its own.

    `held` is true only while the last successful take is younger than the lease minus a
    margin, so a keeper whose renewals fail (database away) stops claiming the role before
    the lease can pass to someone else.
    """

    def __init__(self, name: str, *, holder: str | None = None, seconds: float | None = None):
        self.name = name
        self.holder = holder or holder_name(name)
        self.seconds = lease_seconds() if seconds is None else seconds
        self._stop = threading.Event()
        self._held_until = 0.0
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return time.monotonic() < self._held_until

    def try_once(self) -> bool:
        """One take or renewal, now, from the calling thread."""
        started = time.monotonic()
        try:
            got = lease_take(
                name=self.name, holder=self.holder, seconds=self.seconds
            ) or lease_take_over_dead(name=self.name, holder=self.holder, seconds=self.seconds)
        except DatabaseError as exc:
            log.warning("lease %s: %s", self.name, exc)
            connection.close()
            got = False
        was = self.held
        self._held_until = started + self.seconds * 2 / 3 if got else 0.0
        if got and not was:
            log.info("lease %s taken by %s", self.name, self.holder)
        return got

    def start(self) -> LeaseKeeper:
        def run() -> None:
            try:
                while not self._stop.wait(self.seconds / 3):
                    self.try_once()
            finally:
                connection.close()

        self.try_once()
        self._thread = threading.Thread(target=run, name=f"lease-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, release: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._held_until = 0.0
        if release:
            try:
                lease_release(name=self.name, holder=self.holder)
            except DatabaseError:
                connection.close()
