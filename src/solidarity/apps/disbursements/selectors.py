"""Reads: tranches for the back office and the public, in-kind totals, the statement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.models import (
    Evidence,
    InKindGift,
    InKindTotals,
    Tranche,
    TrancheEvent,
)
from solidarity.apps.ledger.models import CampaignTotals, Posting
from solidarity.apps.transparency.models import LogEntry
from solidarity.apps.transparency.selectors import log_published_size
from solidarity.apps.transparency.services import rfc3339
from solidarity.core.money import LANGUAGE_LOCALES as BABEL_LOCALES
from solidarity.core.money import Money, money_format
from solidarity.core.report import Reconciliation
from solidarity.core.tlog.entry import entry_decode


def tranche_get(*, pk: int) -> Tranche:
    """The tranche `pk`; Tranche.DoesNotExist otherwise."""
    return Tranche.objects.select_related("campaign", "proposed_by", "log_entry").get(pk=pk)


def tranche_list(
    *, campaign: Campaign | None = None, status: str | None = None
) -> QuerySet[Tranche]:
    rows = Tranche.objects.select_related("campaign", "proposed_by").order_by("-proposed_at", "-id")
    if campaign is not None:
        rows = rows.filter(campaign=campaign)
    if status:
        rows = rows.filter(status=status)
    return rows


def approvals_count(tranche: Tranche) -> int:
    return tranche.events.filter(action=TrancheEvent.Action.APPROVED).count()


def tranche_detail(tranche: Tranche) -> dict[str, Any]:
    """Everything recorded about a tranche, JSON-ready (amounts in minor units)."""
    entry = tranche.log_entry
    published = log_published_size(campaign=tranche.campaign) if entry else 0
    return {
        "id": tranche.pk,
        "campaign": tranche.campaign.slug,
        "status": tranche.status,
        "recipient": tranche.recipient,
        "date": tranche.date.isoformat(),
        "amount_minor": tranche.amount_minor,
        "currency": tranche.currency,
        "purpose": tranche.purpose,
        "account": str(tranche.account) if tranche.account else None,
        "conversion": (
            {
                "rate": tranche.rate,
                "base": tranche.rate_base,
                "quote": tranche.currency,
                "source": tranche.rate_source,
                "on": tranche.rate_date.isoformat() if tranche.rate_date else None,
                "amount_minor": tranche.counter_minor,
                "currency": tranche.rate_base,
            }
            if tranche.rate
            else None
        ),
        "items": [
            {
                "item": line.item,
                "quantity": str(line.quantity.normalize()),
                "unit": line.unit,
                "unit_value_minor": line.unit_value_minor,
                "total_minor": line.total_minor,
            }
            for line in tranche.lines.all()
        ],
        "evidence": [
            {
                "kind": e.kind,
                "name": e.name,
                "sha256": e.sha256,
                "content_type": e.content_type,
                "size": e.size,
            }
            for e in tranche.evidence.all()
        ],
        "approvals": approvals_count(tranche),
        "approvals_required": tranche.campaign.approvals_required,
        "proposed_by": tranche.proposed_by.get_username(),
        "events": [
            {"action": ev.action, "by": ev.by.get_username(), "at": rfc3339(ev.at), "note": ev.note}
            for ev in tranche.events.select_related("by")
        ],
        "log": (
            {
                "kind": entry.kind,
                "ref": entry.ref,
                "index": entry.index if entry.index < published else None,
            }
            if entry is not None
            else None
        ),
    }


def _fmt(minor: int | None, currency: str, locale: str) -> str:
    if minor is None or not currency:
        return ""
    return money_format(Money(minor, currency), locale)


def tranches_public(campaign: Campaign, language: str = "vi") -> dict[str, Any]:
    """What the "where the money went" section shows: handed-over tranches, newest first,
    with both currencies, goods, evidence and log entry; the balance left; in-kind totals."""
    locale = BABEL_LOCALES.get(language, "vi")
    cur = campaign.currency
    totals = CampaignTotals.objects.get(campaign=campaign)
    in_kind = InKindTotals.objects.filter(campaign=campaign).first()
    committed = (
        Tranche.objects.filter(campaign=campaign, status=Tranche.Status.APPROVED).aggregate(
            s=Sum("amount_minor")
        )["s"]
        or 0
    )
    rows = []
    handed = (
        Tranche.objects.filter(campaign=campaign, status=Tranche.Status.HANDED_OVER)
        .select_related("log_entry")
        .prefetch_related("lines", "evidence")
        .order_by("-handed_over_at", "-id")
    )
    published = log_published_size(campaign=campaign)
    for t in handed:
        entry = t.log_entry
        rows.append(
            {
                "id": t.pk,
                "recipient": t.recipient,
                "date": t.date,
                "purpose": t.purpose,
                "in_kind_only": t.amount_minor == 0,
                "amount": _fmt(t.amount_minor, cur, locale) if t.amount_minor else "",
                "amount_minor": t.amount_minor,
                "counter": _fmt(t.counter_minor, t.rate_base, locale),
                "rate": t.rate,
                "rate_pair": f"{cur}/{t.rate_base}" if t.rate else "",
                "rate_source": t.rate_source,
                "rate_date": t.rate_date,
                "items": [
                    {
                        "item": line.item,
                        "quantity": line.quantity.normalize(),
                        "unit": line.unit,
                        "unit_value": _fmt(line.unit_value_minor, cur, locale),
                        "total": _fmt(line.total_minor, cur, locale),
                    }
                    for line in t.lines.all()
                ],
                "evidence": [
                    {
                        "kind": e.get_kind_display(),
                        "name": e.name,
                        "sha256": e.sha256,
                        "content_type": e.content_type,
                        "size": e.size,
                    }
                    for e in t.evidence.all()
                ],
                "log_ref": entry.ref if entry else "",
                "log_index": entry.index if entry and entry.index < published else None,
                "log_body": bytes(entry.body).decode() if entry else "",
                "handed_over_at": t.handed_over_at,
            }
        )
    return {
        "campaign": campaign,
        "tranches": rows,
        "raised": _fmt(totals.raised_minor, cur, locale),
        "disbursed": _fmt(totals.disbursed_minor, cur, locale),
        "balance": _fmt(totals.balance_minor, cur, locale),
        "balance_minor": totals.balance_minor,
        "committed": _fmt(int(committed), cur, locale),
        "committed_minor": int(committed),
        "in_kind_received": _fmt(in_kind.received_minor if in_kind else 0, cur, locale),
        "in_kind_handed_over": _fmt(in_kind.handed_over_minor if in_kind else 0, cur, locale),
        "in_kind_gifts": InKindGift.objects.filter(campaign=campaign).count(),
    }


def in_kind_totals(campaign: Campaign) -> dict[str, int]:
    row = InKindTotals.objects.filter(campaign=campaign).first()
    return {
        "received_minor": row.received_minor if row else 0,
        "handed_over_minor": row.handed_over_minor if row else 0,
    }


def evidence_for(*, campaign: Campaign, sha256: str) -> Any:
    """Evidence of a handed-over tranche of `campaign` with this hash, or None."""
    return (
        Evidence.objects.filter(
            tranche__campaign=campaign,
            tranche__status=Tranche.Status.HANDED_OVER,
            sha256=sha256,
        )
        .order_by("id")
        .first()
    )


def log_bodies(campaign: Campaign) -> list[dict[str, Any]]:
    """Every log entry of `campaign`, decoded (sequenced or not), in append order."""
    return [
        entry_decode(bytes(body))
        for body in LogEntry.objects.filter(campaign=campaign)
        .order_by("id")
        .values_list("body", flat=True)
    ]


# --- the statement ------------------------------------------------------------------------


@dataclass
class Statement:
    """A campaign's cash movements over [start, end] (dates inclusive, campaign time zone).

    Every figure is summed from ledger postings: gifts are credits to income:gifts:<slug>,
    reversals debits to it, tranches debits to expense:disbursed:<slug>.
    """

    campaign: Campaign
    start: date
    end: date
    currency: str
    opening: int
    closing: int
    gifts_by_day: list[tuple[date, int, int]] = field(default_factory=list)  # day, count, sum
    reversals_by_day: list[tuple[date, int, int]] = field(default_factory=list)
    tranches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gifts(self) -> int:
        return sum(s for _, _, s in self.gifts_by_day)

    @property
    def gift_count(self) -> int:
        return sum(n for _, n, _ in self.gifts_by_day)

    @property
    def reversals(self) -> int:
        return sum(s for _, _, s in self.reversals_by_day)

    @property
    def tranches_total(self) -> int:
        return sum(t["amount_minor"] for t in self.tranches)

    @property
    def reconciliation(self) -> Reconciliation:
        return Reconciliation(
            opening=self.opening,
            gifts=self.gifts,
            reversals=self.reversals,
            tranches=self.tranches_total,
            closing=self.closing,
        )


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = _zone()
    return (
        datetime.combine(start, time(), tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=zone),
    )


def _balance_before(campaign: Campaign, moment: datetime) -> int:
    """Raised minus disbursed from every posting that occurred before `moment`."""
    value = Posting.objects.filter(
        txn__campaign=campaign,
        txn__occurred_at__lt=moment,
        account__code__in=(f"income:gifts:{campaign.slug}", f"expense:disbursed:{campaign.slug}"),
    ).aggregate(s=Sum("amount_minor"))["s"]
    # income is credited (negative) and disbursed debited (positive): balance = −Σ
    return -int(value or 0)


def statement_build(*, campaign: Campaign, start: date, end: date) -> Statement:
    """The statement of `campaign` for the days start..end; opening/closing from postings."""
    lo, hi = _bounds(start, end)
    zone = _zone()
    income = f"income:gifts:{campaign.slug}"
    disbursed = f"expense:disbursed:{campaign.slug}"
    gifts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    reversals: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    postings = (
        Posting.objects.filter(
            txn__campaign=campaign,
            txn__occurred_at__gte=lo,
            txn__occurred_at__lt=hi,
            account__code=income,
        )
        .values_list("txn__occurred_at", "amount_minor")
        .iterator(chunk_size=5000)
    )
    for occurred, amount in postings:
        day = occurred.astimezone(zone).date()
        bucket = gifts[day] if amount < 0 else reversals[day]
        bucket[0] += 1
        bucket[1] += abs(amount)
    tranche_rows = []
    by_txn = {
        t.txn_id: t
        for t in Tranche.objects.filter(campaign=campaign, txn__isnull=False).select_related("txn")
    }
    for txn_id, occurred, amount in (
        Posting.objects.filter(
            txn__campaign=campaign,
            txn__occurred_at__gte=lo,
            txn__occurred_at__lt=hi,
            account__code=disbursed,
        )
        .order_by("txn__occurred_at", "txn_id")
        .values_list("txn_id", "txn__occurred_at", "amount_minor")
    ):
        t = by_txn.get(txn_id)
        tranche_rows.append(
            {
                "id": t.pk if t else None,
                "day": occurred.astimezone(zone).date(),
                "recipient": t.recipient if t else "",
                "purpose": t.purpose if t else "",
                "amount_minor": amount,
                "counter_minor": t.counter_minor if t else None,
                "counter_currency": t.rate_base if t else "",
                "rate": t.rate if t else "",
                "rate_source": t.rate_source if t else "",
            }
        )
    return Statement(
        campaign=campaign,
        start=start,
        end=end,
        currency=campaign.currency,
        opening=_balance_before(campaign, lo),
        closing=_balance_before(campaign, hi),
        gifts_by_day=[(d, v[0], v[1]) for d, v in sorted(gifts.items())],
        reversals_by_day=[(d, v[0], v[1]) for d, v in sorted(reversals.items())],
        tranches=tranche_rows,
    )


def campaigns_with_tranches() -> QuerySet[Campaign]:
    return Campaign.objects.filter(~Q(status=Campaign.Status.DRAFT)).order_by("slug")
