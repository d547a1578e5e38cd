"""The demo campaign's books beyond its gifts: goods received, a tranche handed over in money
(with its USD conversion) and one in kind, so that every public page and report of
`solidarity demo` has something to show. Booked through the same services as the back office."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction
from PIL import Image, ImageDraw

from solidarity.apps.accounts.roles import ACCOUNTANT, APPROVER
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.disbursements.models import Evidence, InKindGift, Tranche
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    RateInput,
    in_kind_gift_record,
    tranche_approve,
    tranche_handover,
    tranche_propose,
)
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.core.money import Money
from solidarity.core.tranches import ItemLine

# Demo people: no usable password, so nobody can log in as them; they only sign the demo's
# tranches the way two approvers and an accountant would.
DEMO_ACCOUNTANT = "demo-ke-toan"
DEMO_APPROVERS = ("demo-duyet-1", "demo-duyet-2")
HANDED_OVER = date(2025, 9, 1)  # the 2025 campaign's first tranche was handed over that day
USD_RATE = Decimal(26_370)  # VND per USD on that day (demo figure)


def _person(username: str, role: str) -> User:
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
    return user


def _handover_note_png(text: str) -> bytes:
    """A small PNG standing in for a scanned handover record."""
    image = Image.new("RGB", (480, 160), "white")
    ImageDraw.Draw(image).text((16, 64), text, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def demo_handovers(*, campaign: Campaign) -> None:
    """Once per campaign (nothing when it has tranches or goods already): goods received from
    an organization, a cash tranche of about 60% of the balance handed over on 1 September
    2025 with its USD conversion, and a tranche of goods (milk powder, sugar) handed over."""
    if Tranche.objects.filter(campaign=campaign).exists():
        return
    if InKindGift.objects.filter(campaign=campaign).exists():
        return
    accountant = _person(DEMO_ACCOUNTANT, ACCOUNTANT)
    approvers = [_person(name, APPROVER) for name in DEMO_APPROVERS]
    vnd = campaign.currency
    with transaction.atomic():
        in_kind_gift_record(
            campaign=campaign,
            by=accountant,
            donor="Công ty Dược phẩm Trung ương (demo)",
            donor_kind="organization",
            received_on=date(2025, 8, 28),
            items=[
                ItemLine("Khẩu trang y tế", Decimal(100_000), "cái", Money(2_000, vnd)),
                ItemLine("Thuốc hạ sốt", Decimal(5_000), "hộp", Money(45_000, vnd)),
            ],
        )
    totals = CampaignTotals.objects.get(campaign=campaign)
    cash = (totals.raised_minor - totals.disbursed_minor) * 6 // 10 // 1_000_000 * 1_000_000
    tranches = []
    if cash > 0:
        tranches.append(
            tranche_propose(
                campaign=campaign,
                by=accountant,
                recipient="Hội Chữ thập đỏ Cuba (demo)",
                amount_minor=cash,
                currency=vnd,
                date=HANDED_OVER,
                purpose="Đợt 1: tiền mặt cho lương thực và thuốc men",
                rate=RateInput(rate=USD_RATE, base="USD", source="Vietcombank", on=HANDED_OVER),
            )
        )
    tranches.append(
        tranche_propose(
            campaign=campaign,
            by=accountant,
            recipient="Hội Chữ thập đỏ Cuba (demo)",
            amount_minor=0,
            currency=vnd,
            date=HANDED_OVER,
            purpose="Đợt 1: hàng hoá",
            items=[
                ItemLine("Sữa bột", Decimal(10_000), "hộp", Money(250_000, vnd)),
                ItemLine("Đường", Decimal("2.5"), "tấn", Money(20_000_000, vnd)),
            ],
        )
    )
    for proposed in tranches:
        approved = proposed
        for approver in approvers:
            approved = tranche_approve(tranche=approved, by=approver)
        tranche_handover(
            tranche=approved,
            by=accountant,
            handed_over_on=HANDED_OVER,
            evidence=[
                EvidenceInput(
                    "bien-ban-ban-giao.png",
                    _handover_note_png(f"Demo handover record, tranche {approved.pk}"),
                    Evidence.Kind.HANDOVER_MINUTES,
                )
            ],
        )
