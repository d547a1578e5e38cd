"""Reads for feeds: the notification log, conflicts, the booker's health, and which
published gifts are unconfirmed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from solidarity.apps.feeds.models import Conflict, Feed, Notification
from solidarity.apps.feeds.services import inbox_oldest, inbox_waiting
from solidarity.db import values_among


def notifications_list(
    *, status: str | None = None, limit: int | None = 100
) -> QuerySet[Notification]:
    """Newest first; `status` is a Notification.Status value or "flagged"; no limit: all."""
    rows = Notification.objects.select_related("feed", "donation").order_by("-id")
    if status == "flagged":
        rows = rows.filter(flagged_at__isnull=False, confirmed_at__isnull=True)
    elif status:
        rows = rows.filter(status=status)
    return rows if limit is None else rows[:limit]


def feeds_list() -> QuerySet[Feed]:
    return Feed.objects.order_by("name")


def unconfirmed_refs(*, refs: Iterable[str]) -> set[str]:
    """The public references among `refs` of gifts a bank feed booked and no statement
    confirmed within SOLIDARITY_FEED_CONFIRM_DAYS (flagged as possibly forged)."""
    refs = [r for r in refs if r]
    if not refs:
        return set()
    among, value = values_among(refs)
    sql = (
        "SELECT d.public_ref FROM feeds_notification n JOIN donations_donation d "
        "ON d.id = n.donation_id WHERE n.flagged_at IS NOT NULL AND n.confirmed_at IS NULL "
        "AND d.public_ref "
    )
    with connection.cursor() as cur:
        cur.execute(sql + among, [value])  # constant SQL, bound values
        return {ref for (ref,) in cur.fetchall()}


def conflicts_list(*, open_only: bool = False, limit: int | None = 100) -> QuerySet[Conflict]:
    """Conflicts newest first; `open_only`: those not marked resolved; no limit: all."""
    rows = Conflict.objects.select_related("notification", "donation").order_by("-id")
    if open_only:
        rows = rows.filter(resolved_at__isnull=True)
    return rows if limit is None else rows[:limit]


@dataclass(frozen=True)
class NotificationsHealth:
    """The booker's backlog: `waiting` acknowledged and not booked yet (in the database, or
    in the receivers' inbox), `failed` that will not be booked without an operator,
    `conflicts` open, and the age in seconds of the oldest waiting (0 when none waits)."""

    waiting: int
    failed: int
    conflicts: int
    oldest_waiting_seconds: float

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


def notifications_health(*, now: datetime | None = None) -> NotificationsHealth:
    """Counts for readiness checks, metrics and operators; a few indexed queries."""
    now = now or timezone.now()
    stored = Notification.objects.filter(status=Notification.Status.STORED)
    oldest = [
        t
        for t in (
            stored.order_by("id").values_list("received_at", flat=True).first(),
            inbox_oldest(),
        )
        if t is not None
    ]
    return NotificationsHealth(
        waiting=stored.count() + inbox_waiting(),
        failed=Notification.objects.filter(status=Notification.Status.FAILED).count(),
        conflicts=Conflict.objects.filter(resolved_at__isnull=True).count(),
        oldest_waiting_seconds=max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0,
    )
