"""Goods received: the donor's privacy, evidence, the log entry, the all-or-nothing import.

Runs on SQLite and again on PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from solidarity.apps.disbursements.models import Evidence, InKindGift, InKindLine
from solidarity.apps.disbursements.selectors import (
    in_kind_gift_detail,
    in_kind_totals,
    log_bodies,
    tranches_public,
)
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    GoodsImportRefused,
    TrancheRefused,
    evidence_read,
    in_kind_gift_record,
    in_kind_gifts_import,
)
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.money import Money
from solidarity.core.tranches import ItemLine, goods_csv_parse
from tests.integration.tranche_helpers import funded_campaign, people

pytestmark = pytest.mark.django_db


@pytest.fixture
def who(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return people()


def _sugar(quantity: str = "10000") -> list[ItemLine]:
    return [ItemLine("đường", Decimal(quantity), "kg", Money(20_000, "VND"))]


@pytest.mark.parametrize(
    ("kind", "privacy", "published"),
    [
        ("organization", "anonymous", "Công ty Đường Biên Hòa"),  # organizations are named
        ("person", "named", "Công ty Đường Biên Hòa"),
        ("person", "anonymous", "anonymous"),
    ],
)
def test_the_donor_is_published_as_the_privacy_rule_says(who, kind, privacy, published):
    campaign = funded_campaign()
    gift = in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Công ty Đường Biên Hòa",
        donor_kind=kind,
        privacy=privacy,
        received_on=date(2025, 9, 1),
        items=_sugar(),
    )
    assert gift.donor == published
    (body,) = [b for b in log_bodies(campaign) if b["kind"] == "in_kind"]
    assert body["donor"] == published
    assert body["direction"] == "in"


def test_a_masked_person_never_reaches_the_log_or_the_public_page(who):
    campaign = funded_campaign()
    gift = in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Nguyễn Văn An",
        donor_kind="person",
        privacy="masked",
        received_on=date(2025, 9, 1),
        items=_sugar("1E+4"),
        evidence=[EvidenceInput("thu-tang.pdf", b"%PDF-1.4 letter from An", "other")],
    )
    entry = bytes(LogEntry.objects.get(pk=gift.log_entry_id).body).decode()
    assert "Nguyễn Văn An" not in entry
    assert gift.donor != "Nguyễn Văn An" and gift.donor_name == "Nguyễn Văn An"
    shown = tranches_public(campaign, "vi")
    (row,) = shown["goods_received"]
    assert row["donor"] == gift.donor
    assert row["items"][0]["quantity"] == "10.000"  # not 1E+4
    # a person's evidence is not published: only its hash
    (evidence,) = row["evidence"]
    assert evidence["public"] is False and evidence["name"] == ""
    assert in_kind_gift_detail(gift)["items"][0]["quantity"] == "10000"


def test_evidence_is_stored_hashed_and_named_in_the_log_entry(who):
    campaign = funded_campaign()
    gift = in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Công ty Dược ABC",
        received_on=date(2025, 9, 10),
        items=_sugar(),
        evidence=[
            EvidenceInput("phieu.pdf", b"%PDF-1.4 delivery note", "delivery_note"),
            EvidenceInput("again.pdf", b"%PDF-1.4 delivery note", "delivery_note"),
        ],
    )
    (evidence,) = Evidence.objects.filter(gift=gift)
    assert evidence_read(evidence.sha256) == b"%PDF-1.4 delivery note"
    (body,) = [b for b in log_bodies(campaign) if b["kind"] == "in_kind"]
    assert body["evidence"] == [
        {"kind": "delivery_note", "sha256": evidence.sha256, "type": "application/pdf", "size": 22}
    ]
    assert body["items"][0]["quantity"] == "10000"


def test_a_refused_gift_lists_every_reason_and_writes_nothing(who):
    campaign = funded_campaign()
    with pytest.raises(TrancheRefused) as refused:
        in_kind_gift_record(
            campaign=campaign,
            by=who["lan"],  # an approver
            donor="",
            donor_kind="organization",
            privacy="loud",
            received_on=date(2025, 9, 1),
            items=[ItemLine("", Decimal("0"), "", Money(1, "VND"))],
        )
    text = "; ".join(refused.value.errors)
    for reason in ("may not record", "privacy", "needs its name", "needs a name", "positive"):
        assert reason in text
    assert not InKindGift.objects.exists() and not InKindLine.objects.exists()


CSV = (
    "date,donor,donor_kind,item,quantity,unit,unit_value,gift,evidence\n"
    "10/09/2025,Công ty Dược ABC,organization,thuốc,10.000,hộp,150.000,A,phieu.pdf\n"
    "10/09/2025,Công ty Dược ABC,organization,khẩu trang,2.000,hộp,50.000,A,\n"
    '12/09/2025,Bà Lan,person,đường,"2,5",tấn,20.000.000,,\n'
)


def test_an_import_records_every_gift_once(who):
    campaign = funded_campaign()
    gifts, errors = goods_csv_parse(CSV, file="goods.csv", currency="VND", locale="vi")
    assert errors == []
    recorded = in_kind_gifts_import(
        campaign=campaign,
        by=who["thu"],
        file="goods.csv",
        gifts=gifts,
        evidence={"phieu.pdf": EvidenceInput("phieu.pdf", b"%PDF-1.4 note", "delivery_note")},
    )
    assert [g.total_minor for g in recorded] == [1_600_000_000, 50_000_000]
    assert in_kind_totals(campaign)["received_minor"] == 1_650_000_000
    assert [b["ref"] for b in log_bodies(campaign) if b["kind"] == "in_kind"] == [
        g.log_ref for g in recorded
    ]
    assert recorded[1].donor == "Bà L**"  # a person, masked unless they chose otherwise


def test_an_import_with_one_bad_gift_writes_nothing(who):
    campaign = funded_campaign()
    other = funded_campaign(slug="usd", currency="USD", code="USD")
    gifts, _ = goods_csv_parse(CSV, file="goods.csv", currency="VND", locale="vi")
    entries_before = LogEntry.objects.count()
    # Given a file that names evidence not supplied
    with pytest.raises(GoodsImportRefused) as refused:
        in_kind_gifts_import(campaign=campaign, by=who["thu"], file="goods.csv", gifts=gifts)
    assert [(e.line, e.field) for e in refused.value.located] == [(2, "evidence")]
    # and one whose campaign currency the second gift cannot be in
    with pytest.raises(GoodsImportRefused) as refused:
        in_kind_gifts_import(
            campaign=other,
            by=who["thu"],
            file="goods.csv",
            gifts=gifts[1:],
        )
    assert {(e.file, e.line, e.field) for e in refused.value.located} == {("goods.csv", 4, "gift")}
    assert "not USD" in str(refused.value)
    # Then nothing of either file was written
    assert not InKindGift.objects.exists()
    assert LogEntry.objects.count() == entries_before
    assert in_kind_totals(campaign)["received_minor"] == 0
