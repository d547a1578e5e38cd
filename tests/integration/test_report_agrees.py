"""The statement (PDF, CSV, XLSX) agrees with the public pages for the same period.

A campaign with gifts on several days, a reversal, a tranche handed over inside the period
but recorded long after it, goods received and goods handed over. Every total the three
files print is compared with what the public pages and the selectors show. Runs on SQLite
and again on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.disbursements.selectors import in_kind_totals, statement_build
from solidarity.apps.disbursements.services import (
    EvidenceInput,
    RateInput,
    in_kind_gift_record,
    tranche_approve,
    tranche_handover,
)
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import (
    GiftInput,
    donation_reverse,
    donations_record_many,
)
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.core.money import Money, money_format
from solidarity.core.tranches import ItemLine
from tests.factories import OPENS, campaign_factory
from tests.integration.tranche_helpers import people, propose

pytestmark = pytest.mark.django_db

START, END = date(2025, 8, 25), date(2025, 10, 31)  # the campaign's period
TRANCHE_DAY = date(2025, 10, 15)
GIFTS = 1_234  # enough for a thousands separator in the counts


@pytest.fixture
def books(settings, tmp_path):
    """Given the books of a campaign as the issue describes them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    who = people()
    campaign = campaign_factory(slug="cuba", goal=10**13)
    # gifts over three days (booking day = received_at, Vietnam time)
    account = campaign.accounts.first()
    donations_record_many(
        campaign=campaign,
        gifts=[  # own references: the shared factory's clock is left for other tests
            GiftInput(
                amount_minor=2_000_000 + 1_000 * (i % 7),
                currency="VND",
                received_at=OPENS + timedelta(days=i % 3, minutes=i),
                channel="bank_transfer",
                source="report-test",
                source_ref=f"r{i}",
                donor_name="NGUYEN VAN AN",
                memo="NGUYEN VAN AN ung ho Cuba",
                account=account,
                sender_account=f"1{i:012d}",
            )
            for i in range(GIFTS)
        ],
    )
    # one reversal, on the second day
    donation = Donation.objects.filter(campaign=campaign).order_by("id").first()
    donation_reverse(
        donation=donation,
        source="test",
        source_ref="rev-1",
        reversed_at=OPENS + timedelta(days=1, hours=3),
    )
    # a tranche handed over on 15/10/2025 and recorded today, long after the period
    cash = propose(
        campaign,
        who["thu"],
        2_000_000_000,
        date=TRANCHE_DAY,
        recipient="Hội Chữ thập đỏ Cuba",
        rate=RateInput(Decimal("26370"), "USD", "Vietcombank", TRANCHE_DAY),
    )
    tranche_approve(tranche=cash, by=who["lan"])
    tranche_approve(tranche=cash, by=who["minh"])
    cash = tranche_handover(tranche=cash, by=who["thu"])
    assert cash.handed_over_at.date() > END
    # goods received: medicine from an organization, sugar from a person who stays masked
    in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Công ty Dược ABC",
        received_on=date(2025, 9, 10),
        items=[ItemLine("thuốc hạ sốt", Decimal("10000"), "hộp", Money(150_000, "VND"))],
        evidence=[EvidenceInput("phieu-nhap.pdf", b"%PDF-1.4 delivery note", "delivery_note")],
    )
    in_kind_gift_record(
        campaign=campaign,
        by=who["thu"],
        donor="Nguyễn Văn An",
        donor_kind="person",
        privacy="masked",
        received_on=date(2025, 9, 12),
        items=[ItemLine("đường", Decimal("2.5"), "tấn", Money(20_000_000, "VND"))],
    )
    # goods handed over: livestock, a goods-only tranche dated inside the period
    livestock = propose(
        campaign,
        who["thu"],
        0,
        date=date(2025, 10, 20),
        recipient="Bộ Nông nghiệp Cuba",
        items=[ItemLine("bò giống", Decimal("30"), "con", Money(25_000_000, "VND"))],
    )
    tranche_approve(tranche=livestock, by=who["lan"])
    tranche_approve(tranche=livestock, by=who["minh"])
    tranche_handover(tranche=livestock, by=who["thu"])
    assert ledger_check().ok
    return campaign


def _text(value: str) -> str:
    """Spaces as a PDF's text layer gives them back (no-break spaces become spaces)."""
    return re.sub(r"[\u00a0\u202f ]+", " ", value)


def _figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]+)<', html)
    assert match, element_id
    return _text(match.group(1).strip())


def _figures(html: str, label: str) -> str:
    match = re.search(rf"<dt>{re.escape(label)}</dt><dd[^>]*>([^<]+)</dd>", html)
    assert match, label
    return _text(match.group(1).strip())


def test_every_total_in_every_format_equals_the_public_page(books, tmp_path):
    campaign = books
    totals = campaign_totals(campaign=campaign)
    goods = in_kind_totals(campaign)
    # When the public pages and the three files for the campaign's period are read
    tranches_page = Client().get("/vi/c/cuba/tranches").content.decode()
    campaign_page = Client().get("/vi/c/cuba/").content.decode()
    query = f"?from={START}&to={END}&lang=vi"
    pdf = Client().get("/c/cuba/report.pdf" + query).content
    (tmp_path / "report.pdf").write_bytes(pdf)
    csv_body = Client().get("/c/cuba/report.csv" + query).content.decode("utf-8-sig")
    xlsx = Client().get("/c/cuba/report.xlsx" + query).content
    statement = statement_build(campaign=campaign, start=START, end=END)

    # Then the statement itself: the tranche is on its handover day, the books reconcile
    assert [t["day"] for t in statement.tranches] == [TRANCHE_DAY]
    assert statement.opening == 0
    assert statement.reconciliation.ok
    assert statement.closing == totals["balance_minor"]
    assert statement.gifts - statement.reversals == totals["raised_minor"]
    assert statement.tranches_total == totals["disbursed_minor"] == 2_000_000_000
    assert statement.goods_in_total == goods["received_minor"] == 1_550_000_000
    assert statement.goods_out_total == goods["handed_over_minor"] == 750_000_000
    assert statement.gift_count - statement.reversal_count == totals["donation_count"]

    # the public pages, as formatted for a Vietnamese reader
    public = {
        "raised": _figure(campaign_page, "raised"),
        "gifts": _figure(campaign_page, "gifts"),
        "disbursed": _figures(tranches_page, "Đã bàn giao"),
        "balance": _figure(tranches_page, "balance"),
        "goods_in": _figures(tranches_page, "Hiện vật đã nhận"),
        "goods_out": _figures(tranches_page, "Hiện vật đã bàn giao"),
    }

    def vnd(minor: int) -> str:
        return _text(money_format(Money(minor, "VND"), "vi"))

    assert public == {
        "raised": vnd(totals["raised_minor"]),
        "gifts": f"{totals['donation_count']:,}".replace(",", "."),
        "disbursed": vnd(2_000_000_000),
        "balance": vnd(statement.closing),
        "goods_in": vnd(1_550_000_000),
        "goods_out": vnd(750_000_000),
    }

    # PDF: every figure of the public page, counts and dates written the Vietnamese way
    pypdfium2 = pytest.importorskip("pypdfium2")
    document = pypdfium2.PdfDocument(pdf)
    text = _text("\n".join(page.get_textpage().get_text_range() for page in document))
    for name in ("raised", "disbursed", "balance", "goods_in", "goods_out"):
        if name == "raised":
            # raised = gifts − reversals: both printed, and the closing balance follows
            assert vnd(statement.gifts) in text
            assert vnd(statement.reversals) in text
            continue
        assert public[name] in text, name
    assert "1.234" in text  # the gift count, as vi writes it
    assert "1,234" not in text
    assert "15/10/2025" in text  # the tranche, on its handover day
    assert "10.000 hộp" in text and "2,5 tấn" in text and "30 con" in text
    assert "1E+4" not in text
    assert "Công ty Dược ABC" in text
    assert "Nguyễn Văn An" not in text  # the person chose a masked name
    assert "Người lập" in text and "Người duyệt" in text  # prepared by / approved by
    # the first page renders and is not blank
    image = document[0].render(scale=1).to_pil().convert("L")
    image.save(tmp_path / "report-page-1.png")
    low, high = image.getextrema()
    assert high - low > 200
    dark = sum(image.histogram()[:128])
    assert dark > image.size[0] * image.size[1] // 200

    # CSV: the same figures in minor units
    rows = list(csv.reader(io.StringIO(csv_body)))
    by_label = {r[0]: r for r in rows if r[1] == "" and r[4]}
    assert int(by_label["Số dư cuối kỳ"][4]) == totals["balance_minor"]
    assert int(by_label["Lượt ủng hộ"][4]) - int(by_label["Hoàn trả"][4]) == totals["raised_minor"]
    assert int(by_label["Các đợt đã bàn giao"][4]) == totals["disbursed_minor"]
    assert int(by_label["Hiện vật đã nhận"][4]) == goods["received_minor"]
    assert int(by_label["Hiện vật đã bàn giao"][4]) == goods["handed_over_minor"]
    tranche_rows = [r for r in rows if r[0] == "Đợt"]
    assert [(r[1], int(r[4])) for r in tranche_rows] == [("2025-10-15", 2_000_000_000)]
    goods_rows = [r for r in rows if r[0].startswith("Hiện vật") and r[1]]
    assert sorted((r[7], r[8]) for r in goods_rows) == [
        ("10000", "hộp"),
        ("2.5", "tấn"),
        ("30", "con"),
    ]

    # XLSX: typed cells with the same values
    sheet = load_workbook(io.BytesIO(xlsx)).active
    values = {  # the summary rows: a label, then a typed amount
        row[0]: row
        for row in sheet.iter_rows(values_only=True)
        if row and isinstance(row[0], str) and isinstance(row[1], (int, Decimal))
    }
    assert int(values["Số dư cuối kỳ"][1]) == totals["balance_minor"]
    assert int(values["Các đợt đã bàn giao"][1]) == totals["disbursed_minor"]
    assert int(values["Lượt ủng hộ"][1]) - int(values["Hoàn trả"][1]) == totals["raised_minor"]
    assert int(values["Lượt ủng hộ"][3]) - int(values["Hoàn trả"][3]) == totals["donation_count"]
    assert int(values["Hiện vật đã nhận"][1]) == goods["received_minor"]
    assert int(values["Hiện vật đã bàn giao"][1]) == goods["handed_over_minor"]
    day_cells = [
        c for row in sheet.iter_rows() for c in row if c.is_date and c.value.date() == TRANCHE_DAY
    ]
    assert day_cells and all(c.number_format == "dd/mm/yyyy" for c in day_cells)


def test_a_period_that_ends_before_the_handover_day_leaves_the_tranche_out(books):
    # Given the period before the tranche's handover day
    early = statement_build(campaign=books, start=START, end=TRANCHE_DAY - timedelta(days=1))
    later = statement_build(campaign=books, start=TRANCHE_DAY, end=date(2030, 1, 1))
    # Then the tranche and the livestock fall in the later period only; each reconciles, and
    # the later one opens with what the earlier one closed
    assert early.tranches == [] and early.goods_out == []
    assert early.reconciliation.ok and later.reconciliation.ok
    assert later.opening == early.closing
    assert later.closing == campaign_totals(campaign=books)["balance_minor"]
    assert later.tranches_total == 2_000_000_000
    assert [g.total_minor for g in later.goods_out] == [750_000_000]


def test_counts_and_dates_follow_the_report_language(books):
    statement = statement_build(campaign=books, start=START, end=END)
    from solidarity.apps.disbursements.reports import report_render

    pypdfium2 = pytest.importorskip("pypdfium2")
    english = pypdfium2.PdfDocument(report_render(statement, "pdf", "en"))
    text = _text("\n".join(page.get_textpage().get_text_range() for page in english))
    assert "1,234" in text and "15 Oct 2025" in text and "10,000 hộp" in text
    assert "Prepared by" in text and "Approved by" in text


def test_the_handover_day_can_be_recorded_when_it_differs_from_the_proposal(books):
    from django.contrib.auth.models import User

    from solidarity.apps.disbursements.models import Tranche, TrancheEvent
    from solidarity.apps.disbursements.services import TrancheRefused
    from solidarity.apps.transparency.models import LogEntry
    from solidarity.core.tlog.entry import entry_decode

    who = {u: User.objects.get(username=u) for u in ("thu", "lan", "minh")}
    # Given a tranche proposed for 1 October but handed over on 20 October
    t = propose(books, who["thu"], 100_000_000, date=date(2025, 10, 1), recipient="UNICEF")
    tranche_approve(tranche=t, by=who["lan"])
    tranche_approve(tranche=t, by=who["minh"])
    # a day in the future is refused, and nothing changes
    with pytest.raises(TrancheRefused, match="in the future"):
        tranche_handover(tranche=t, by=who["thu"], handed_over_on=date(2999, 1, 1))
    assert Tranche.objects.get(pk=t.pk).status == Tranche.Status.APPROVED
    t = tranche_handover(tranche=t, by=who["thu"], handed_over_on=date(2025, 10, 20))
    # Then the tranche, its log entry and the statement carry the day it happened
    assert t.date == date(2025, 10, 20)
    assert entry_decode(bytes(LogEntry.objects.get(pk=t.log_entry_id).body))["date"] == (
        "2025-10-20"
    )
    event = TrancheEvent.objects.get(tranche=t, action="handed_over")
    assert "proposed for 2025-10-01" in event.note
    st = statement_build(campaign=books, start=START, end=END)
    assert [(r["day"], r["amount_minor"]) for r in st.tranches] == [
        (TRANCHE_DAY, 2_000_000_000),
        (date(2025, 10, 20), 100_000_000),
    ]
    assert st.reconciliation.ok
    assert st.closing == campaign_totals(campaign=books)["balance_minor"]
