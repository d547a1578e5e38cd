"""Reads of the review queue and of returns waiting for their gift, for the office and the
books check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Count

from solidarity.apps.banking.models import PendingReversal, ReviewCandidate, ReviewItem
from solidarity.core.tlog.entry import rfc3339
from solidarity.db import values_among


def review_items(
    *, status: str = "open", campaign_slug: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Review items, oldest first, with their candidate campaigns."""
    items = ReviewItem.objects.all()
    if status != "all":
        items = items.filter(status=status)
    if campaign_slug:
        items = items.filter(candidates__campaign__slug=campaign_slug)
    items = items.select_related("campaign").order_by("id")[:limit]
    rows = list(items)
    slugs: dict[int, list[str]] = {}
    for item_id, slug in ReviewCandidate.objects.filter(
        item_id__in=[r.pk for r in rows]
    ).values_list("item_id", "campaign__slug"):
        slugs.setdefault(item_id, []).append(slug)
    return [
        {
            "id": r.pk,
            "status": r.status,
            "account": f"{r.bin}:{r.number}",
            "amount_minor": r.amount_minor,
            "currency": r.currency,
            "booked_at": rfc3339(r.booked_at),
            "bank_ref": r.bank_ref,
            "memo": r.memo,
            "counterparty_name": r.counterparty_name,
            "match": r.match_kind,
            "reason": r.reason,
            "candidates": sorted(slugs.get(r.pk, [])),
            "decided_by": r.decided_by,
            "decided_at": rfc3339(r.decided_at) if r.decided_at else None,
            "decision": r.decision_reason,
            "campaign": r.campaign.slug if r.campaign else None,
        }
        for r in rows
    ]


def pending_returns(*, status: str = "open", limit: int = 200) -> list[dict[str, Any]]:
    """Returned transfers waiting for their gift ("open"), settled ones ("settled": applied
    to their gift or posted as money out), or both ("all"); oldest first."""
    rows = PendingReversal.objects.all()
    if status == "open":
        rows = rows.filter(resolved_at__isnull=True)
    elif status == "settled":
        rows = rows.filter(resolved_at__isnull=False)
    return [
        {
            "id": r.pk,
            "status": "open"
            if r.resolved_at is None
            else ("posted" if r.decided_by else "applied"),
            "account": f"{r.bin}:{r.number}",
            "amount_minor": r.amount_minor,
            "currency": r.currency,
            "booked_at": rfc3339(r.booked_at),
            "reverses_ref": r.reverses_ref,
            "memo": r.memo,
            "resolved_at": rfc3339(r.resolved_at) if r.resolved_at else None,
            "decided_by": r.decided_by,
            "decision": r.decision_reason,
            "donation_id": r.donation_id,
        }
        for r in rows.order_by("id")[:limit]
    ]


def review_open_counts() -> dict[int, int]:
    """Open review items per candidate campaign id (what `review_count` must equal)."""
    rows = (
        ReviewCandidate.objects.filter(item__status=ReviewItem.Status.OPEN)
        .values("campaign_id")
        .annotate(n=Count("id"))
    )
    return {r["campaign_id"]: r["n"] for r in rows}


def existing_refs(model: Any, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (source, source_ref) pairs among `pairs` that `model` already holds."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, ref in pairs:
        by_source[source].append(ref)
    found: set[tuple[str, str]] = set()
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        for source, refs in by_source.items():
            among, value = values_among(refs)
            # Plain SQL: the ORM spent more building these queries than running them.
            cur.execute(
                f"SELECT source_ref FROM {table} WHERE source = %s AND source_ref {among}",  # noqa: S608 (model meta)
                [source, value],
            )
            found.update((source, r) for (r,) in cur.fetchall())
    return found
