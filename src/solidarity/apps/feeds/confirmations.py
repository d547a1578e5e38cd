"""The feeds' side of reconciliation with statements: bank-feed notifications as the
`banking.reconciliation.FeedCredits` the rule reads and marks. Registered with the banking
app when Django starts (`FeedsConfig.ready`); the rule itself lives in banking."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from solidarity.apps.banking.reconciliation import FeedCredit
from solidarity.apps.donations.services import RecordResult
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.providers import BANK_KINDS, transfer_of
from solidarity.core import webhooks

_HOLDING = (Notification.Status.BOOKED, Notification.Status.REVIEW)


class NotificationCredits:
    """The bank-feed notifications that booked a gift or a review line."""

    def near(
        self,
        *,
        bin_: str,
        number: str,
        lo: datetime,
        hi: datetime,
        identities: Collection[str],
        amounts: Collection[int],
    ) -> list[FeedCredit]:
        """`FeedCredits.near`: an indexed EXISTS on (number, occurred_at) over the window
        first answers "no feed saw anything here" (the common case of a statement-only
        campaign); otherwise one query fetches the candidates."""
        rows = _holding_near(bin_, number, lo, hi)
        if not rows.exists():
            return []
        fetched = (
            rows.filter(
                Q(confirmed_by__in=identities)
                | Q(amount_minor__in=amounts, confirmed_at__isnull=True, status__in=_HOLDING)
            )
            .select_related("donation", "feed")
            .order_by("occurred_at", "id")
        )
        return [_credit(n) for n in fetched]

    def any_near(self, *, bin_: str, number: str, lo: datetime, hi: datetime) -> bool:
        return _holding_near(bin_, number, lo, hi).exists()

    def confirm(self, confirmed: Sequence[tuple[FeedCredit, str]]) -> None:
        now = timezone.now()
        rows = [
            Notification(pk=credit.key, confirmed_at=now, confirmed_by=identity[:240])
            for credit, identity in confirmed
        ]
        Notification.objects.bulk_update(rows, ["confirmed_at", "confirmed_by"], batch_size=500)

    def held(self, *, gift_ids: Collection[int], identities: Collection[str]) -> set[int | str]:
        taken: set[int | str] = set()
        if gift_ids:
            taken.update(
                Notification.objects.filter(donation_id__in=gift_ids).values_list(
                    "donation_id", flat=True
                )
            )
        if identities:
            taken.update(
                Notification.objects.filter(confirmed_by__in=identities).values_list(
                    "confirmed_by", flat=True
                )
            )
        return taken


def _holding_near(bin_: str, number: str, lo: datetime, hi: datetime) -> QuerySet[Notification]:
    """The bank-feed notifications to `bin_:number` (any bin when the feed named none) in
    [lo, hi) that booked a gift or a review line."""
    rows = Notification.objects.filter(
        number=number, occurred_at__gte=lo, occurred_at__lt=hi, feed__kind__in=BANK_KINDS
    ).filter(Q(donation__isnull=False) | Q(status=Notification.Status.REVIEW))
    if bin_:
        rows = rows.filter(Q(bin=bin_) | Q(bin=""))
    return rows


NOTIFICATIONS = NotificationCredits()


def _credit(n: Notification) -> FeedCredit:
    gift = n.donation
    return FeedCredit(
        key=n.pk,
        amount_minor=n.amount_minor,
        currency=n.currency,
        occurred_at=n.occurred_at,
        bank_ref=n.bank_ref,
        confirmed_by=n.confirmed_by,
        open=n.confirmed_at is None and n.status in _HOLDING,
        gift=RecordResult(gift.pk, gift.public_ref, False) if gift else None,
        memo=lambda: _memo(n),
    )


def _memo(n: Notification) -> str | None:
    try:
        return transfer_of(n.feed, n).memo
    except webhooks.Malformed:
        return None
