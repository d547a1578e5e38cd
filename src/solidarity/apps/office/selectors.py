"""What waits for each role on the office home page."""

from __future__ import annotations

from typing import Any

from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR
from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.models import Tranche
from solidarity.apps.feeds.models import Notification
from solidarity.apps.imports.models import Import


def office_waiting(*, roles: frozenset[str]) -> dict[str, Any]:
    """Counts of the work waiting for someone with `roles`; a key only for what they see."""
    waiting: dict[str, Any] = {}
    if roles & {ACCOUNTANT, ADMIN, AUDITOR}:
        waiting["review"] = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).count()
        waiting["failed_notifications"] = Notification.objects.filter(
            status=Notification.Status.FAILED
        ).count()
        waiting["imports_running"] = list(
            Import.objects.filter(status=Import.Status.RUNNING)
            .select_related("campaign")
            .order_by("-id")[:20]
        )
    if roles & {APPROVER, ADMIN, ACCOUNTANT, AUDITOR}:
        waiting["to_approve"] = list(
            Tranche.objects.filter(status=Tranche.Status.PROPOSED)
            .select_related("campaign")
            .order_by("id")[:20]
        )
        waiting["to_hand_over"] = Tranche.objects.filter(status=Tranche.Status.APPROVED).count()
    waiting["campaigns"] = list(
        Campaign.objects.exclude(status=Campaign.Status.CLOSED).order_by("-opens_at")[:20]
    )
    return waiting
