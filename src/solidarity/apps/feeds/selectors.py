"""Reads for feeds: the notification log, and which published gifts are unconfirmed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet

from solidarity.apps.feeds.models import Feed, Notification, Partner
from solidarity.apps.feeds.services import inbox_oldest_received, inbox_waiting


def notifications_list(*, status: str | None = None, limit: int = 100) -> QuerySet[Notification]:
    """Newest first; `status` is a Notification.Status value or "flagged"."""
    rows = Notification.objects.select_related("feed", "donation").order_by("-id")
    if status == "flagged":
        rows = rows.filter(flagged_at__isnull=False, confirmed_at__isnull=True)
    elif status:
        rows = rows.filter(status=status)
    return rows[:limit]


@dataclass(frozen=True)
class Backlog:
    """The booker's work: acknowledged notifications not booked yet (`waiting`: in the
    receivers' inbox or stored), the oldest one's receipt time, and failed ones."""

    waiting: int
    failed: int
    oldest_waiting_at: datetime | None


def notifications_backlog() -> Backlog:
    """What the booker has not done yet (two cheap queries and a look at the inbox)."""
    stored = Notification.Status.STORED
    counts = Notification.objects.filter(status__in=(stored, Notification.Status.FAILED)).aggregate(
        stored=Count("pk", filter=Q(status=stored)),
        failed=Count("pk", filter=Q(status=Notification.Status.FAILED)),
    )
    oldest = Notification.objects.filter(status=stored).aggregate(at=Min("received_at"))["at"]
    inbox_oldest = inbox_oldest_received()
    if inbox_oldest is not None and (oldest is None or inbox_oldest < oldest):
        oldest = inbox_oldest
    return Backlog(
        waiting=counts["stored"] + inbox_waiting(),
        failed=counts["failed"],
        oldest_waiting_at=oldest,
    )


def feeds_list() -> QuerySet[Feed]:
    return Feed.objects.order_by("name")


def partners_list() -> QuerySet[Partner]:
    return Partner.objects.prefetch_related("keys").order_by("name")


def unconfirmed_refs(*, refs: Iterable[str]) -> set[str]:
    """The public references among `refs` of gifts a bank feed booked and no statement
    confirmed within SOLIDARITY_FEED_CONFIRM_DAYS (flagged as possibly forged)."""
    refs = [r for r in refs if r]
    if not refs:
        return set()
    return set(
        Notification.objects.filter(
            donation__public_ref__in=refs, flagged_at__isnull=False, confirmed_at__isnull=True
        ).values_list("donation__public_ref", flat=True)
    )
