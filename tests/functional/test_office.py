"""The back office at /office/: home per role, formatting, language switch, lists, and
campaigns managed as pages (create, edit, open, close, accounts, photos, updates)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.campaigns.models import Campaign, CampaignUpdate, ReceivingAccount
from solidarity.apps.campaigns.services import AccountInput, campaigns_close_due
from solidarity.apps.disbursements.services import tranche_propose
from solidarity.apps.imports.services import statement_import
from solidarity.apps.transparency.models import LogEntry
from solidarity.core.money import Money
from solidarity.core.tranches import ItemLine
from tests.factories import campaign_factory, office_login
from tests.integration.tranche_helpers import PASSWORD, funded_campaign, people

pytestmark = pytest.mark.django_db
VCB = "970436"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def who(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    from django.core.cache import cache

    from solidarity.apps.accounts.services import user_add

    cache.clear()  # public pages are cached by address; each test starts without

    found = people()
    found["quan"] = user_add(username="quan", role="admin", password=PASSWORD)
    return found


def client_for(username: str, language: str = "vi") -> Client:
    c = Client(headers={"Accept-Language": language})
    assert office_login(c, username, PASSWORD)
    return c


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _csv(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    head = "Số tài khoản: 0011001932418\nNgày GD,Số CT,Ghi nợ,Ghi có,Nội dung\n"
    path.write_text(head + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


# --- home, login, language ------------------------------------------------------------------


def test_login_lands_on_the_office_home(who):
    client = Client()
    client.get("/admin/login/")
    response = client.post("/admin/login/", {"username": "thu", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/office/"
    assert client.get("/office/").status_code == 200


def test_home_shows_what_waits_for_each_role(who, tmp_path):
    shared = (AccountInput(VCB, "0011001932418"),)
    campaign = funded_campaign(10**9, accounts=shared)
    campaign_factory(slug="flood", code="LULUT", goal=10**12, accounts=shared)
    statement_import(
        path=_csv(tmp_path / "s.csv", [("10/09/2025", "FT1", "", "200.000", "chuyen tien")])
    )
    tranche_propose(
        campaign=campaign,
        recipient="Hội Chữ thập đỏ",
        amount_minor=50_000_000,
        currency="VND",
        date=datetime(2025, 10, 15, tzinfo=UTC).date(),
        by=who["thu"],
    )
    accountant = text(client_for("thu").get("/office/"))
    assert "1 giao dịch chờ trong hàng đợi xem xét" in accountant
    approver = client_for("lan").get("/office/")
    body = text(approver)
    assert "1 đợt chờ phê duyệt" in body
    assert "50.000.000 ₫" in body and "15/10/2025" in body
    assert "hàng đợi xem xét" not in body  # approvers do not see the review queue


def test_the_language_switch_changes_the_office_language(who):
    client = client_for("thu")
    assert 'lang="vi"' in client.get("/office/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/office/review/"})
    assert response.status_code == 302 and response["Location"] == "/office/review/"
    page = text(client.get("/office/review/"))
    assert 'lang="es"' in page and "Cola de revisión" in page


# --- review queue and tranches, formatted ---------------------------------------------------


def test_review_queue_is_formatted_and_leaves_several_candidates_to_choose(who, tmp_path):
    shared = (AccountInput(VCB, "0011001932418"),)
    campaign_factory(slug="flood", code="LULUT", goal=10**12, accounts=shared)
    campaign_factory(slug="cuba", goal=10**12, accounts=shared)
    statement_import(
        path=_csv(
            tmp_path / "s.csv",
            [
                ("10/09/2025 23:30", "FT1", "", "200.000", "ung ho CUBA va LULUT"),
                ("10/09/2025", "FT2", "", "150.000", "chuyen tien"),
            ],
        )
    )
    assert ReviewItem.objects.filter(status="open").count() == 2
    page = text(client_for("thu").get("/office/review/"))
    assert "200.000 ₫" in page and "200000 VND" not in page
    assert "Vì Cuba" in page  # campaign names, not slugs
    assert "nội dung nêu tên nhiều chiến dịch" in page  # the reason, translated
    queue = page.split("<tbody>")[1].split("</tbody>")[0]
    assert " selected>" not in queue  # two candidates: the accountant chooses
    assert "10/09/2025 23:30" in page and "2025-09-10T" not in page  # Vietnam time


def test_review_queue_sorts_filters_and_pages(who, tmp_path):
    shared = (AccountInput(VCB, "0011001932418"),)
    campaign_factory(slug="flood", code="LULUT", goal=10**12, accounts=shared)
    campaign_factory(goal=10**12, accounts=shared)
    rows = [("10/09/2025", f"FT{i}", "", f"1.{i:03d}.000", "chuyen tien") for i in range(60)]
    statement_import(path=_csv(tmp_path / "s.csv", rows))
    client = client_for("thu")
    first = text(client.get("/office/review/?sort=-amount"))
    assert "1.059.000 ₫" in first and "1.000.000 ₫" not in first
    assert "Trang 1 / 2" in first or "1 / 2" in first
    second = text(client.get("/office/review/?sort=-amount&page=2"))
    assert "1.000.000 ₫" in second
    assert "Không có gì cần xem xét" in text(client.get("/office/review/?status=rejected"))


def test_the_approval_screen_shows_usd_quantities_and_local_times(who):
    campaign = funded_campaign(10_000_000, currency="USD")
    tranche = tranche_propose(
        campaign=campaign,
        recipient="MINSAP",
        amount_minor=7_584_376,
        date=datetime(2025, 10, 15, tzinfo=UTC).date(),
        currency="USD",
        items=[ItemLine("khẩu trang", Decimal("1E+4"), "hộp", Money(10, "USD"))],
        by=who["thu"],
    )
    client = client_for("lan")
    page = text(client.get(f"/office/tranches/{tranche.pk}/"))
    assert "75.843,76 US$" in page
    assert "7584376" not in page and "1E+4" not in page
    assert "10.000 hộp" in page
    assert "đã đề xuất" in page  # the status in Vietnamese
    assert "Handed Over" not in page and "proposed" not in page
    client.post("/i18n/setlang/", {"language": "es", "next": "/office/"})
    spanish = text(client.get(f"/office/tranches/{tranche.pk}/"))
    assert "75.843,76 US$" in spanish and "propuesto" in spanish


# --- campaigns as pages ---------------------------------------------------------------------


def _form(**over) -> dict:
    data = {
        "slug": "lu-lut-2026",
        "currency": "VND",
        "code": "LULUT",
        "keywords": "lu lut, bao lu",
        "goal": "65.000.000.000",
        "min_gift": "10.000",
        "max_gift": "",
        "opens_at": "01/09/2026 08:00",
        "days": "30",
        "approvals_required": "2",
        "name_vi": "Cứu trợ lũ lụt",
        "name_en": "Flood relief",
        "story_vi": "**Miền Trung** cần giúp.\n\n<script>alert(1)</script>",
    }
    data.update(over)
    return data


def test_an_admin_creates_edits_opens_and_closes_a_campaign(who, log_home):
    admin = client_for("quan")
    assert client_for("thu").get("/office/campaigns/new/").status_code == 403
    response = admin.post("/office/campaigns/new/", _form())
    assert response.status_code == 302, text(response)[-2000:]
    campaign = Campaign.objects.get(slug="lu-lut-2026")
    assert campaign.goal_minor == 65_000_000_000 and campaign.min_gift_minor == 10_000
    assert campaign.opens_at == datetime(2026, 9, 1, 1, 0, tzinfo=UTC)  # 08:00 Vietnam time
    assert campaign.status == "draft" and campaign.keywords == ["lu lut", "bao lu"]
    page = text(admin.get("/office/campaigns/lu-lut-2026/"))
    assert "<strong>Miền Trung</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "65.000.000.000 ₫" in page and "01/09/2026 08:00" in page
    # Edit: goal in major units, as people write it
    edit = admin.post("/office/campaigns/lu-lut-2026/edit/", _form(goal="70.000.000.000"))
    assert edit.status_code == 302
    campaign.refresh_from_db()
    assert campaign.goal_minor == 70_000_000_000
    # A bad amount is refused with the field named, nothing changed
    bad = admin.post("/office/campaigns/lu-lut-2026/edit/", _form(goal="7O tỷ"))
    assert bad.status_code == 400 and "Mục tiêu" in text(bad)
    campaign.refresh_from_db()
    assert campaign.goal_minor == 70_000_000_000
    # Open, then close
    assert admin.post("/office/campaigns/lu-lut-2026/open/").status_code == 302
    assert Campaign.objects.get(slug="lu-lut-2026").status == "open"
    assert admin.post("/office/campaigns/lu-lut-2026/close/").status_code == 302
    assert Campaign.objects.get(slug="lu-lut-2026").status == "closed"
    again = admin.post("/office/campaigns/lu-lut-2026/close/")
    assert again.status_code == 400


def test_reserved_and_invalid_campaign_settings_are_refused(who):
    admin = client_for("quan")
    response = admin.post("/office/campaigns/new/", _form(slug="new", min_gift="9", max_gift="1"))
    assert response.status_code == 400
    assert not Campaign.objects.filter(slug="new").exists()
    refused = admin.post("/office/campaigns/new/", _form(min_gift="90.000", max_gift="10.000"))
    assert refused.status_code == 400
    assert "số tiền tối thiểu lớn hơn số tiền tối đa" in text(refused)  # translated
    assert not Campaign.objects.exists()


def test_accounts_are_announced_and_retired_in_the_log(who, log_home):
    campaign = campaign_factory(accounts=())
    admin = client_for("quan")
    url = f"/office/campaigns/{campaign.slug}/"
    added = admin.post(url + "account/", {"bin": VCB, "number": "0011001932418", "holder": "HOI"})
    assert added.status_code == 302
    account = ReceivingAccount.objects.get(campaign=campaign)
    retired = admin.post(url + "retire/", {"account": account.pk})
    assert retired.status_code == 302
    account.refresh_from_db()
    assert account.retired_at is not None
    bodies = [json.loads(e.body) for e in LogEntry.objects.filter(kind="account").order_by("id")]
    assert [b["action"] for b in bodies] == ["added", "retired"]
    assert admin.post(url + "retire/", {"account": account.pk}).status_code == 400
    # The public page lists only accounts in use
    public = text(Client().get(f"/vi/c/{campaign.slug}/"))
    assert "0011001932418" not in public


def test_photos_and_updates_reach_the_public_page_the_feed_and_the_log(who, log_home):
    campaign = campaign_factory()
    admin = client_for("quan")
    url = f"/office/campaigns/{campaign.slug}/"
    photo = admin.post(url + "photo/", {"photo": _upload("bai-bien.png"), "caption": "Bãi biển"})
    assert photo.status_code == 302
    refused = admin.post(url + "photo/", {"photo": _upload("x.svg"), "caption": ""})
    assert refused.status_code == 400
    update = admin.post(
        url + "update/",
        {"title": "Đợt 1 đã trao", "text": "Chúng tôi đã trao **đợt 1**.", "tranche": ""},
    )
    assert update.status_code == 302, text(update)[-1500:]
    row = CampaignUpdate.objects.get()
    entry = LogEntry.objects.get(kind="update")
    body = json.loads(entry.body)
    assert body["title"] == "Đợt 1 đã trao"
    assert body["text_sha256"] == hashlib.sha256(row.text.encode()).hexdigest()
    assert set(body) == {"kind", "campaign", "at", "title", "text_sha256"}
    public = text(Client().get(f"/vi/c/{campaign.slug}/"))
    assert "Đợt 1 đã trao" in public and "<strong>đợt 1</strong>" in public
    image = re.search(r'src="(/media/campaigns/[^"]+)"', public).group(1)
    served = Client().get(image)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    feed = Client().get(f"/c/{campaign.slug}/updates.atom")
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    assert "Đợt 1 đã trao" in feed.content.decode()


def _upload(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PNG, content_type="image/png")


# --- closing at the closing date -----------------------------------------------------------


def test_a_campaign_past_its_closing_date_is_closed_everywhere(who, log_home):
    campaign = campaign_factory(opens_at=timezone.now() - timedelta(days=500), days=30)
    assert campaign.status == "open" and campaign.is_closed
    public = text(Client().get(f"/vi/c/{campaign.slug}/"))
    assert "Chiến dịch này đã kết thúc" in public
    assert "tháng" not in public.split('class="since"')[1].split("</p>")[0]
    office = text(client_for("an").get("/office/campaigns/"))
    assert "đã kết thúc" in office
    assert "Vì Cuba</a> · đã kết thúc" in text(Client().get("/vi/"))
    totals = Client().get(f"/api/v1/campaigns/{campaign.slug}/totals").json()
    assert totals["status"] == "closed"
    assert campaigns_close_due() == [campaign.slug]
    assert Campaign.objects.get(pk=campaign.pk).status == "closed"
    assert campaigns_close_due() == []


def test_gifts_after_the_closing_time_go_to_review(who, tmp_path, log_home):
    opens = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
    campaign_factory(opens_at=opens, days=10, accounts=(AccountInput(VCB, "0011001932418"),))
    report = statement_import(
        path=_csv(
            tmp_path / "s.csv",
            [
                ("10/09/2025", "FT1", "", "100.000", "ung ho CUBA"),
                ("12/09/2025", "FT2", "", "300.000", "ung ho CUBA"),
            ],
        )
    )
    assert report.counts.booked == 1 and report.counts.to_review == 1
    item = ReviewItem.objects.get()
    assert item.amount_minor == 300_000 and "closed at" in item.reason
    page = text(client_for("thu").get("/office/review/"))
    assert "đã kết thúc lúc 11/09/2025 08:00" in page
