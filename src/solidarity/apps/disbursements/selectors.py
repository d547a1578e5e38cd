"""Reads: tranches for the back office and the public, in-kind totals, the statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
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
from solidarity.core.ledger import account_code
from solidarity.core.money import LANGUAGE_LOCALES as BABEL_LOCALES
from solidarity.core.money import Money, money_format
from solidarity.core.report import Reconciliation, day_format, quantity_format
from solidarity.core.tlog.entry import entry_decode, rfc3339
from solidarity.core.tranches import decimal_text


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
        "items": _lines_json(tranche.lines.all()),
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
                "index": _published_index(entry, published),
            }
            if entry is not None
            else None
        ),
    }


def _fmt(minor: int | None, currency: str, locale: str) -> str:
    if minor is None or not currency:
        return ""
    return money_format(Money(minor, currency), locale)


def _lines_shown(lines: Iterable[Any], currency: str, locale: str) -> list[dict[str, str]]:
    """Goods lines as pages show them: quantities and amounts written for `locale`."""
    return [
        {
            "item": line.item,
            "quantity": quantity_format(line.quantity, locale),
            "unit": line.unit,
            "unit_value": _fmt(line.unit_value_minor, currency, locale),
            "total": _fmt(line.total_minor, currency, locale),
        }
        for line in lines
    ]


def _lines_json(lines: Iterable[Any]) -> list[dict[str, Any]]:
    """Goods lines JSON-ready: exact quantities, amounts in minor units."""
    return [
        {
            "item": line.item,
            "quantity": decimal_text(line.quantity),
            "unit": line.unit,
            "unit_value_minor": line.unit_value_minor,
            "total_minor": line.total_minor,
        }
        for line in lines
    ]


def _published_index(entry: LogEntry | None, published: int) -> int | None:
    """The log index of `entry` once a published checkpoint (of `published` entries) covers
    it; None before, and without an entry."""
    return entry.index if entry is not None and entry.index < published else None


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
                "items": _lines_shown(t.lines.all(), cur, locale),
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
                "log_index": _published_index(entry, published),
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
        "in_kind_received_minor": in_kind.received_minor if in_kind else 0,
        "in_kind_handed_over_minor": in_kind.handed_over_minor if in_kind else 0,
        "in_kind_gifts": InKindGift.objects.filter(campaign=campaign).count(),
        "goods_received": goods_received_public(campaign, locale, published),
    }


def goods_received_public(
    campaign: Campaign, locale: str, published: int, limit: int = 200
) -> list[dict[str, Any]]:
    """Goods given to the campaign, newest first, as the public sees them: the donor as
    published, the goods with quantities as people write them, evidence of organizations'
    gifts (a person's files may carry their name: only their hashes are shown), log entry."""
    cur = campaign.currency
    rows = []
    gifts = (
        InKindGift.objects.filter(campaign=campaign)
        .select_related("log_entry")
        .prefetch_related("lines", "evidence")
        .order_by("-received_on", "-id")[:limit]
    )
    for g in gifts:
        entry = g.log_entry
        public_files = g.donor_kind == InKindGift.DonorKind.ORGANIZATION
        rows.append(
            {
                "id": g.pk,
                "donor": g.donor,
                "date": g.received_on,
                "total": _fmt(g.total_minor, cur, locale),
                "total_minor": g.total_minor,
                "items": _lines_shown(g.lines.all(), cur, locale),
                "evidence": [
                    {
                        "kind": e.get_kind_display(),
                        "name": e.name if public_files else "",
                        "sha256": e.sha256,
                        "public": public_files,
                        "size": e.size,
                    }
                    for e in g.evidence.all()
                ],
                "log_ref": entry.ref if entry else "",
                "log_index": _published_index(entry, published),
            }
        )
    return rows


def in_kind_gift_list(*, campaign: Campaign | None = None) -> QuerySet[InKindGift]:
    """Goods received, newest first (the back office and `solidarity goods list`)."""
    rows = (
        InKindGift.objects.select_related("campaign", "recorded_by", "log_entry")
        .prefetch_related("lines", "evidence")
        .order_by("-received_on", "-id")
    )
    return rows.filter(campaign=campaign) if campaign is not None else rows


def in_kind_gift_detail(gift: InKindGift) -> dict[str, Any]:
    """Everything recorded about goods received, JSON-ready (amounts in minor units)."""
    entry = gift.log_entry
    published = log_published_size(campaign=gift.campaign) if entry else 0
    return {
        "id": gift.pk,
        "campaign": gift.campaign.slug,
        "received_on": gift.received_on.isoformat(),
        "donor": gift.donor,
        "donor_kind": gift.donor_kind,
        "donor_privacy": gift.donor_privacy,
        "donor_name": gift.donor_name,
        "total_minor": gift.total_minor,
        "currency": gift.currency,
        "note": gift.note,
        "recorded_by": gift.recorded_by.get_username(),
        "recorded_at": rfc3339(gift.recorded_at),
        "items": _lines_json(gift.lines.all()),
        "evidence": [
            {"kind": e.kind, "name": e.name, "sha256": e.sha256, "size": e.size}
            for e in gift.evidence.all()
        ],
        "log": {
            "kind": entry.kind if entry else "",
            "ref": gift.log_ref,
            "index": _published_index(entry, published),
        },
    }


def in_kind_totals(campaign: Campaign) -> dict[str, int]:
    row = InKindTotals.objects.filter(campaign=campaign).first()
    return {
        "received_minor": row.received_minor if row else 0,
        "handed_over_minor": row.handed_over_minor if row else 0,
    }


def evidence_for(*, campaign: Campaign, sha256: str) -> Any:
    """Evidence of a handed-over tranche, or of goods an organization gave, of `campaign`
    with this hash, or None."""
    return (
        Evidence.objects.filter(
            Q(tranche__campaign=campaign, tranche__status=Tranche.Status.HANDED_OVER)
            | Q(gift__campaign=campaign, gift__donor_kind=InKindGift.DonorKind.ORGANIZATION),
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


@dataclass(frozen=True, slots=True)
class GoodsLine:
    item: str
    quantity: Decimal
    unit: str
    unit_value_minor: int
    total_minor: int


@dataclass(frozen=True, slots=True)
class GoodsMovement:
    """Goods received from a donor (`party` as published) or handed over to a recipient."""

    day: date
    party: str
    ref: str
    total_minor: int
    lines: tuple[GoodsLine, ...]


@dataclass
class Statement:
    """A campaign's movements over [start, end] (dates inclusive, campaign time zone).

    Each movement is dated the day it happened: a gift or reversal on its booking day, a
    tranche on its handover day (`Tranche.date`), not the day it was recorded. Cash figures
    are summed from ledger postings: gifts are credits to income:gifts:<slug>, reversals
    debits to it, tranches debits to expense:disbursed:<slug>. Goods (in kind) are listed
    with their stated values and never enter the cash balance.
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
    goods_in: list[GoodsMovement] = field(default_factory=list)
    goods_out: list[GoodsMovement] = field(default_factory=list)

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
    def reversal_count(self) -> int:
        return sum(n for _, n, _ in self.reversals_by_day)

    @property
    def tranches_total(self) -> int:
        return sum(t["amount_minor"] for t in self.tranches)

    @property
    def goods_in_total(self) -> int:
        return sum(g.total_minor for g in self.goods_in)

    @property
    def goods_out_total(self) -> int:
        return sum(g.total_minor for g in self.goods_out)

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


def _raised_before(campaign: Campaign, moment: datetime) -> int:
    """Gifts minus reversals booked before `moment`, from the income postings."""
    value = Posting.objects.filter(
        txn__campaign=campaign,
        txn__occurred_at__lt=moment,
        account__code=account_code("gifts", campaign.slug),
    ).aggregate(s=Sum("amount_minor"))["s"]
    return -int(value or 0)  # income is credited (negative)


def _disbursements(campaign: Campaign) -> list[tuple[date, int, Tranche | None]]:
    """Every posting to expense:disbursed:<slug> as (day it happened, amount, tranche).

    The day is the tranche's handover date; a posting no tranche claims keeps the day it was
    booked. Tranches are few (tens per campaign), so this reads them all.
    """
    zone = _zone()
    by_txn = {
        t.txn_id: t
        for t in Tranche.objects.filter(campaign=campaign, txn__isnull=False).prefetch_related(
            "lines"
        )
    }
    rows = []
    for txn_id, occurred, amount in (
        Posting.objects.filter(
            txn__campaign=campaign, account__code=account_code("disbursed", campaign.slug)
        )
        .order_by("txn__occurred_at", "txn_id")
        .values_list("txn_id", "txn__occurred_at", "amount_minor")
    ):
        t = by_txn.get(txn_id)
        rows.append((t.date if t else occurred.astimezone(zone).date(), int(amount), t))
    rows.sort(key=lambda r: (r[0], r[2].pk if r[2] else 0))
    return rows


def _goods_lines(lines: Any) -> tuple[GoodsLine, ...]:
    return tuple(
        GoodsLine(
            item=line.item,
            quantity=line.quantity.normalize(),
            unit=line.unit,
            unit_value_minor=line.unit_value_minor,
            total_minor=line.total_minor,
        )
        for line in lines
    )


def goods_movements(
    *, campaign: Campaign, start: date | None = None, end: date | None = None
) -> tuple[list[GoodsMovement], list[GoodsMovement]]:
    """Goods received (in-kind gifts, by day received) and goods handed over (tranches of
    goods only, by handover day) within [start, end] when given, oldest first."""
    gifts = InKindGift.objects.filter(campaign=campaign).prefetch_related("lines")
    out = Tranche.objects.filter(
        campaign=campaign, status=Tranche.Status.HANDED_OVER, amount_minor=0
    ).prefetch_related("lines")
    if start is not None:
        gifts = gifts.filter(received_on__gte=start)
        out = out.filter(date__gte=start)
    if end is not None:
        gifts = gifts.filter(received_on__lte=end)
        out = out.filter(date__lte=end)
    received = [
        GoodsMovement(g.received_on, g.donor, g.log_ref, g.total_minor, _goods_lines(g.lines.all()))
        for g in gifts.order_by("received_on", "id")
    ]
    handed = []
    for t in out.order_by("date", "id"):
        lines = _goods_lines(t.lines.all())
        handed.append(
            GoodsMovement(t.date, t.recipient, t.log_ref, sum(x.total_minor for x in lines), lines)
        )
    return received, handed


def statement_build(*, campaign: Campaign, start: date, end: date) -> Statement:
    """The statement of `campaign` for the days start..end; opening/closing from postings,
    each movement on the day it happened (see `Statement`)."""
    lo, hi = _bounds(start, end)
    zone = _zone()
    income = account_code("gifts", campaign.slug)
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
    disbursed = _disbursements(campaign)
    tranche_rows = [
        {
            "id": t.pk if t else None,
            "day": day,
            "recipient": t.recipient if t else "",
            "purpose": t.purpose if t else "",
            "amount_minor": amount,
            "counter_minor": t.counter_minor if t else None,
            "counter_currency": t.rate_base if t else "",
            "rate": t.rate if t else "",
            "rate_source": t.rate_source if t else "",
            "recorded": t.handed_over_at.astimezone(zone).date()
            if t and t.handed_over_at
            else None,
            "lines": _goods_lines(t.lines.all()) if t else (),
        }
        for day, amount, t in disbursed
        if start <= day <= end
    ]
    goods_in, goods_out = goods_movements(campaign=campaign, start=start, end=end)
    return Statement(
        campaign=campaign,
        start=start,
        end=end,
        currency=campaign.currency,
        opening=_raised_before(campaign, lo) - sum(a for d, a, _ in disbursed if d < start),
        closing=_raised_before(campaign, hi) - sum(a for d, a, _ in disbursed if d <= end),
        gifts_by_day=[(d, v[0], v[1]) for d, v in sorted(gifts.items())],
        reversals_by_day=[(d, v[0], v[1]) for d, v in sorted(reversals.items())],
        tranches=tranche_rows,
        goods_in=goods_in,
        goods_out=goods_out,
    )


def campaigns_with_tranches() -> QuerySet[Campaign]:
    return Campaign.objects.filter(~Q(status=Campaign.Status.DRAFT)).order_by("slug")


def in_kind_goods_office(gifts: Any, locale: str) -> list[dict[str, Any]]:
    """Goods received as the back office lists them: amounts, quantities and dates written
    for `locale`, the donor as published and as given, evidence files, the log entry."""
    rows = []
    published: dict[int, int] = {}
    for g in gifts:
        cur = g.currency
        if g.campaign_id not in published:
            published[g.campaign_id] = log_published_size(campaign=g.campaign)
        entry = g.log_entry
        rows.append(
            {
                "id": g.pk,
                "campaign": g.campaign,
                "date": day_format(g.received_on, locale),
                "iso_date": g.received_on.isoformat(),
                "donor": g.donor,
                "donor_name": g.donor_name,
                "donor_kind": g.donor_kind,
                "total": _fmt(g.total_minor, cur, locale),
                "items": _lines_shown(g.lines.all(), cur, locale),
                "evidence": [
                    {"name": e.name, "sha256": e.sha256, "kind": e.get_kind_display()}
                    for e in g.evidence.all()
                ],
                "note": g.note,
                "recorded_by": g.recorded_by.get_username(),
                "log_ref": g.log_ref,
                "log_index": _published_index(entry, published[g.campaign_id]),
            }
        )
    return rows
